"""Social Flow storage: blob stores behind one small interface (local files, S3-compatible).

Pick a store with :func:`open_store`; ask for optional capabilities (``MultipartCapable``,
``AppendCapable``) with :func:`supports`, :func:`as_multipart` or :func:`as_appendable`. A
:class:`BlobReader` reads a blob as a seekable file, fetching only the blocks it is asked for.
Every error is a ``StorageError`` with a stable ``code`` and an HTTP ``status``.
"""

from .base import (
    CHUNK_SIZE,
    AppendCapable,
    BlobInfo,
    BlobStore,
    MultipartCapable,
    Part,
    as_appendable,
    as_multipart,
    supports,
)
from .errors import (
    BlobNotFound,
    BucketNotFound,
    ChecksumMismatch,
    InvalidKey,
    InvalidMultipart,
    InvalidUpload,
    MultipartNotFound,
    OffsetMismatch,
    SignatureInvalid,
    SocialFlowError,
    StorageError,
    StorageUnavailable,
    UnsupportedChecksum,
    UploadExists,
    UploadExpired,
    UploadForbidden,
    UploadIncomplete,
    UploadNotFound,
)
from .keys import MAX_KEY_BYTES, validate_key, validate_prefix
from .reader import BlobReader
from .signing import verify_signature
from .stores import LocalStore, S3Store
from .url import open_store

__all__ = [
    "CHUNK_SIZE",
    "MAX_KEY_BYTES",
    "AppendCapable",
    "BlobInfo",
    "BlobNotFound",
    "BlobReader",
    "ChecksumMismatch",
    "BlobStore",
    "InvalidKey",
    "InvalidMultipart",
    "InvalidUpload",
    "LocalStore",
    "MultipartCapable",
    "MultipartNotFound",
    "OffsetMismatch",
    "Part",
    "S3Store",
    "SignatureInvalid",
    "SocialFlowError",
    "StorageError",
    "StorageUnavailable",
    "BucketNotFound",
    "UploadExists",
    "UploadExpired",
    "UploadForbidden",
    "UploadIncomplete",
    "UploadNotFound",
    "UnsupportedChecksum",
    "as_appendable",
    "as_multipart",
    "open_store",
    "supports",
    "validate_key",
    "validate_prefix",
    "verify_signature",
]
