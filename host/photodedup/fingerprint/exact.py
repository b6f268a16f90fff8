"""Exact (byte-level) digests of a file: BLAKE3 plus Apple Photos' own fingerprint.

Both are fed from one read pass, so a multi-GB video is read from disk once and never held in
memory. BLAKE3 is our identity for byte-identical files (fast, collision-safe); the Apple value
is what Photos stores per asset (``ZADDITIONALASSETATTRIBUTES.ZMASTERFINGERPRINT`` or, on newer
schemas, ``ZORIGINALSTABLEHASH``), so files outside a library can be matched to library assets
whose original is not on disk, straight from the database.
"""

from __future__ import annotations

import base64
import hashlib
import os

from blake3 import blake3

from photodedup._types import ExactDigests

__all__ = ["APPLE_SALT", "digest_bytes", "digest_file"]

# Observed recipe (not documented by Apple): base64(0x01 || SHA-1(salt || file bytes)).
APPLE_SALT = b"com.apple.XattrObjectSalt\0com.apple.DataObjectSalt\0"
_APPLE_VERSION = b"\x01"


class _Hasher:
    """Feeds the same bytes to both digests so callers never read a file twice."""

    __slots__ = ("_b3", "_sha1", "size")

    def __init__(self) -> None:
        self._b3 = blake3()
        self._sha1 = hashlib.sha1(APPLE_SALT, usedforsecurity=False)
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._b3.update(data)
        self._sha1.update(data)
        self.size += len(data)

    def result(self) -> ExactDigests:
        return ExactDigests(
            blake3=self._b3.hexdigest(),
            apple_fingerprint=base64.b64encode(_APPLE_VERSION + self._sha1.digest()).decode("ascii"),
            size=self.size,
        )


def digest_bytes(data: bytes | bytearray | memoryview) -> ExactDigests:
    """Digests of an in-memory buffer; equal to :func:`digest_file` of a file holding it."""
    h = _Hasher()
    h.update(memoryview(data).cast("B"))
    return h.result()


def digest_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> ExactDigests:
    """Digests of a file's bytes in one chunked read (constant memory, any file size).

    Raises ``OSError`` when the file cannot be read; the caller turns that into a scan error.
    """
    if chunk <= 0:
        raise ValueError("chunk must be positive")
    h = _Hasher()
    buf = bytearray(chunk)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return h.result()
