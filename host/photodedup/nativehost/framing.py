"""Native-messaging frames: a 32-bit native-order length, then that many bytes of UTF-8 JSON.

Reading never trusts the length: a frame over the limit raises :class:`FrameTooLarge` before anything is
allocated, and ``discard`` then reads its bytes away in small chunks (a 4 GB header costs no memory), so the
stream stays in step for the next frame.
Writing refuses replies the browser would choke on (Chromium kills the port above 1 MiB).
"""

from __future__ import annotations

import json
import struct
from typing import BinaryIO

__all__ = [
    "MAX_IN_BYTES",
    "MAX_OUT_BYTES",
    "EndOfInput",
    "FrameTooLarge",
    "discard",
    "encode_frame",
    "read_frame",
    "write_frame",
]

MAX_IN_BYTES = 8 * 1024 * 1024
"""Largest inbound frame accepted; larger ones are discarded unread."""
MAX_OUT_BYTES = 900_000
"""Largest reply body written; well under the browsers' 1 MiB (1,048,576 B) limit."""

_HEADER = struct.Struct("=I")  # native byte order, as both browsers write it
_DISCARD_CHUNK = 64 * 1024


class EndOfInput(Exception):
    """stdin closed (the browser disconnected), possibly in the middle of a frame."""


class FrameTooLarge(Exception):
    """An inbound frame over the limit; its ``length`` bytes are still to be discarded."""

    def __init__(self, length: int, limit: int):
        super().__init__(f"message of {length:,} bytes is over the {limit:,}-byte limit")
        self.length = length


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EndOfInput
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def discard(stream: BinaryIO, n: int) -> None:
    """Read and drop ``n`` bytes, a chunk at a time."""
    while n:
        chunk = stream.read(min(n, _DISCARD_CHUNK))
        if not chunk:
            raise EndOfInput
        n -= len(chunk)


def read_frame(stream: BinaryIO, limit: int = MAX_IN_BYTES) -> bytes:
    """The next frame's body (not yet parsed). Raises EndOfInput or FrameTooLarge."""
    header = stream.read(_HEADER.size)
    if not header:
        raise EndOfInput
    if len(header) < _HEADER.size:
        header += _read_exact(stream, _HEADER.size - len(header))
    (length,) = _HEADER.unpack(header)
    if length > limit:
        raise FrameTooLarge(length, limit)
    return _read_exact(stream, length)


def encode_frame(message: dict) -> bytes:
    """Header + compact UTF-8 JSON of ``message``."""
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return _HEADER.pack(len(body)) + body


def write_frame(stream: BinaryIO, frame: bytes) -> None:
    stream.write(frame)
    stream.flush()
