"""Avatars: an uploaded picture checked, decoded once and re-encoded at fixed square sizes.

Nothing of the upload is served as sent: the pixels are decoded and written anew as WebP, so
metadata (EXIF with its GPS position, XMP, text chunks, ICC profiles) and anything hidden after
the image data are dropped. A decompression bomb (a small file that declares a huge picture) is
refused from its header, before any pixel is decoded: ``Image.open`` reads the header only, the
declared size is checked against ``MAX_PIXELS`` and ``MAX_SIDE``, and Pillow's own limit
(``Image.MAX_IMAGE_PIXELS``, set here to the same bound) backs the check up for every decoder.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from control_plane.core.errors import PayloadTooLarge, ProblemError

__all__ = [
    "FORMATS",
    "MAX_AVATAR_BYTES",
    "MAX_PIXELS",
    "MAX_SIDE",
    "SIZES",
    "ImageTooLarge",
    "NotAnImage",
    "render_avatar",
]

#: Square sizes made of every avatar, in pixels.
SIZES = (48, 128, 400)
#: The decoders an avatar may use (others, such as TIFF or EPS, are refused before they run).
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
#: Bytes of an avatar upload, at most.
MAX_AVATAR_BYTES = 8 * 1024 * 1024
#: Pixels an avatar may declare: a 40-megapixel photograph, decoded at most once.
MAX_PIXELS = 40_000_000
#: Pixels on the longer side, at most.
MAX_SIDE = 12_000
QUALITY = 85

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class NotAnImage(ProblemError):
    status, code, title = 415, "NOT_AN_IMAGE", "Unsupported media type"


class ImageTooLarge(PayloadTooLarge):
    code = "IMAGE_TOO_LARGE"


def render_avatar(data: bytes) -> dict[int, bytes]:
    """WebP files of the picture in ``data``, one per size in ``SIZES`` (centre-cropped square).

    Raises ``NotAnImage`` (415) for anything that is not a whole JPEG, PNG, WebP or GIF picture,
    ``ImageTooLarge`` (413) for one over ``MAX_AVATAR_BYTES``, ``MAX_PIXELS`` or ``MAX_SIDE``.
    Only the first frame of an animation is kept.
    """
    if len(data) > MAX_AVATAR_BYTES:
        raise ImageTooLarge(f"An avatar has at most {MAX_AVATAR_BYTES // (1024 * 1024)} MiB.")
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            width, height = image.size  # from the header: nothing is decoded yet
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                raise _too_large(width, height)
            image.draft("RGB", (SIZES[-1], SIZES[-1]))  # JPEG decodes straight at a smaller scale
            picture = ImageOps.exif_transpose(image)  # the orientation EXIF asked for, applied
            picture.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own limit: a warning between one and two times it (an error where warnings
        # are errors, as in the tests), an error above.
        raise ImageTooLarge("The picture declares more pixels than an avatar may have.") from exc
    except UnidentifiedImageError as exc:
        raise NotAnImage("An avatar is a JPEG, PNG, WebP or GIF picture.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise NotAnImage("The picture is damaged or cut short.") from exc
    mode = "RGBA" if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info else "RGB"
    picture = picture.convert(mode)
    files = {}
    for size in SIZES:
        square = ImageOps.fit(picture, (size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        square.save(out, "WEBP", quality=QUALITY, method=4)
        files[size] = out.getvalue()
    return files


def _too_large(width: int, height: int) -> ImageTooLarge:
    return ImageTooLarge(
        f"The picture is {width}×{height} pixels; an avatar has at most {MAX_PIXELS // 1_000_000} "
        f"megapixels and {MAX_SIDE} pixels a side."
    )
