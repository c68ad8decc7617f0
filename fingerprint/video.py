"""Per-frame perceptual hashes (64-bit DCT pHash) robust to common edits.

* Re-encoding and rescaling: the hash reads only the 8x8 lowest DCT frequencies of a 32x32
  area-averaged copy of the frame.
* Brightness and contrast: each bit says whether a coefficient is above the block's median, so a
  gain and an offset on pixel values change nothing.
* Letterboxing and pillarboxing: black borders (rows and columns that stay dark in every sampled
  frame) are cropped before hashing, so the padded picture hashes like the original.
* Crops up to 10%: they move low frequencies a little; the matcher accepts frames within
  :data:`MATCH_RADIUS` bits and then asks for a temporally consistent run.
* Small overlays (a logo, a caption box in a corner): a white box over 5% of the picture moved
  the plain hash by 26 bits (median), out of reach. Each frame also gets four masked hashes, with
  one corner (:data:`MASK_SHARE` of each side) painted the frame's mean; the query side tries
  them too, and the masked hash of the overlaid corner lands at 10 bits (median) from the
  reference's plain hash. References store only the plain hash.
* Horizontal flip: a mirror image negates the odd horizontal DCT frequencies, so the flipped
  hash is derived from the same coefficients and queried as well.

Each frame also gets a centre hash: the same 64-bit hash of the middle :data:`CENTRE_SHARE` of
the picture, at twice the detail. It is not searched; the matcher compares it over a candidate
run's aligned frames to tell a copy from a lookalike texture (random diagonal stripes of other
cellular automata stayed 10-16 bits from a reference's plain hashes over whole runs, but a mean
of 15.9 bits or more from its centre hashes; copies under the benchmark's edits 14.8 or less
when their reference also looked like them elsewhere, else up to 20: see
:mod:`fingerprint.video_match`). The centre lies away from the corners, so a logo or caption
box in a corner leaves it alone.

Frames with almost no detail (a black or single-colour screen) carry no evidence and are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.fft import dctn

from .decode import VideoFrames
from .errors import InvalidFingerprint

HASH_BITS = 64
HASH_BYTES = HASH_BITS // 8
MATCH_RADIUS = 20
"""Largest Hamming distance (bits of 64) at which two frame hashes count as the same picture."""
BORDER_LEVEL = 32
"""A border row or column never gets brighter than this (8-bit luma) in any sampled frame."""
MIN_PICTURE = 0.4
"""Smallest share of a side that cropping black borders may leave."""
MIN_DETAIL = 6.0
"""Frames whose luma standard deviation is below this are not hashed."""
MASK_SHARE = 0.4
"""Share of each side covered by the corner a masked hash paints over."""
MASKS = 4
CENTRE_SHARE = 0.5
"""Share of each side of the picture (inside black borders) that the centre hash covers."""
_SIDE = 32
_LOW = 8


@dataclass(frozen=True)
class FrameHashes:
    """Frame hashes (uint8, shape (n, 8): 64 bits each), their flipped forms and times (seconds).

    ``masked`` (shape (n, MASKS, 8)), when present, holds each frame's corner-masked hashes; a
    fingerprint made before they existed has None, and its query simply does not try them.
    ``centre`` and ``centre_flipped`` (shape (n, 8)), when present, hold the centre hashes and
    their mirrored forms; without them a match cannot be verified (see the module docstring).
    """

    hashes: np.ndarray
    flipped: np.ndarray
    times: np.ndarray
    masked: np.ndarray | None = None
    centre: np.ndarray | None = None
    centre_flipped: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.times)
        if self.hashes.shape != (n, HASH_BYTES) or self.flipped.shape != (n, HASH_BYTES):
            raise InvalidFingerprint("frame hashes must have shape (n, 8) matching the times")
        if self.masked is not None and self.masked.shape != (n, MASKS, HASH_BYTES):
            raise InvalidFingerprint("masked frame hashes must have shape (n, 4, 8)")
        if (self.centre is None) != (self.centre_flipped is None):
            raise InvalidFingerprint("centre hashes need their flipped forms, and the reverse")
        for centre in (self.centre, self.centre_flipped):
            if centre is not None and centre.shape != (n, HASH_BYTES):
                raise InvalidFingerprint("centre hashes must have shape (n, 8) matching the times")

    def __len__(self) -> int:
        return len(self.times)

    @staticmethod
    def empty() -> FrameHashes:
        z = np.zeros((0, HASH_BYTES), np.uint8)
        return FrameHashes(z, z.copy(), np.zeros(0, np.float64))


def content_box(images: np.ndarray, level: int = BORDER_LEVEL) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) bounds of the picture inside black borders of all frames.

    A border is given up (the full frame is kept) when the picture left would be under
    :data:`MIN_PICTURE` of a side, which protects dark videos (a 2.39:1 film letterboxed in a
    4:3 frame keeps 56% of the height).
    """
    if images.ndim != 3 or len(images) == 0:
        raise InvalidFingerprint("frames must be a non-empty (n, height, width) array")
    peak = images.max(axis=0)
    rows = np.nonzero(peak.max(axis=1) > level)[0]
    cols = np.nonzero(peak.max(axis=0) > level)[0]
    h, w = peak.shape
    if len(rows) == 0 or len(cols) == 0:
        return 0, h, 0, w
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if bottom - top < MIN_PICTURE * h:
        top, bottom = 0, h
    if right - left < MIN_PICTURE * w:
        left, right = 0, w
    return top, bottom, left, right


def _shrink(image: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((_SIDE, _SIDE), Image.Resampling.BOX), np.float32)


def _bits(low: np.ndarray) -> np.ndarray:
    flat = low.reshape(len(low), -1)
    median = np.median(flat, axis=1, keepdims=True)
    return np.packbits(flat > median, axis=1)


def hash_frames(frames: VideoFrames) -> FrameHashes:
    """Hash every frame with detail in it; see the module docstring."""
    if len(frames) == 0:
        return FrameHashes.empty()
    top, bottom, left, right = content_box(frames.images)
    pictures = frames.images[:, top:bottom, left:right]
    detail = pictures.reshape(len(pictures), -1).std(axis=1) >= MIN_DETAIL
    if not detail.any():
        return FrameHashes.empty()
    small = np.stack([_shrink(p) for p in pictures[detail]])
    low = _low(small)
    mirror = np.where(np.arange(_LOW) % 2 == 1, -1.0, 1.0)[None, None, :]
    n = len(small)
    masked = _bits(_low(_masked(small)))
    centre = _low(np.stack([_shrink(p) for p in _centres(pictures[detail])]))
    return FrameHashes(
        _bits(low),
        _bits(low * mirror),
        np.asarray(frames.times[detail], np.float64),
        masked.reshape(n, MASKS, HASH_BYTES),
        _bits(centre),
        _bits(centre * mirror),
    )


def _low(small: np.ndarray) -> np.ndarray:
    return dctn(small, axes=(1, 2), norm="ortho")[:, :_LOW, :_LOW]


def _centres(pictures: np.ndarray) -> np.ndarray:
    """The middle CENTRE_SHARE of each side of (n, height, width) pictures (symmetric, so the
    centre of a mirrored picture is the mirrored centre)."""
    h, w = pictures.shape[1:]
    ch, cw = max(8, round(h * CENTRE_SHARE)), max(8, round(w * CENTRE_SHARE))
    top, left = (h - ch) // 2, (w - cw) // 2
    if h - ch - 2 * top or w - cw - 2 * left:
        # Keep the window symmetric: an odd margin drops one more row or column.
        ch, cw = h - 2 * top, w - 2 * left
    return pictures[:, top : top + ch, left : left + cw]


def _masked(small: np.ndarray) -> np.ndarray:
    """Each (n, side, side) picture four times, one corner painted its mean: (n * 4, side, side)."""
    k = round(_SIDE * MASK_SHARE)
    out = np.repeat(small[:, None], MASKS, axis=1)
    mean = small.mean(axis=(1, 2))[:, None, None]
    for i, (rows, cols) in enumerate(
        [(slice(0, k), slice(0, k)), (slice(0, k), slice(-k, None)), (slice(-k, None), slice(0, k))]
        + [(slice(-k, None), slice(-k, None))]
    ):
        out[:, i, rows, cols] = mean
    return out.reshape(-1, _SIDE, _SIDE)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bitwise Hamming distances between packed hashes a (n, 8) and b (n, 8)."""
    return np.unpackbits(np.bitwise_xor(a, b), axis=-1).sum(axis=-1)
