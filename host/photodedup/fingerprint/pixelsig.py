"""Pixel signature: ImageMagick 6's ``identify -format %#`` of an image, without metadata.

Two files with the same pixels under different metadata (EXIF edits, re-muxed containers, a
Photos import) get the same signature, so it proves "same picture" where the byte digest cannot.

Why we compute it ourselves: spawning ``identify`` costs ~250 ms per 12 MP JPEG, while the scanner
already holds the decoded pixels. ImageMagick 6's ``SignatureImage`` (magick/signature.c) is a plain
SHA-256 over the rows exported by ``ExportQuantumPixels`` with ``RGBQuantum`` (``RGBAQuantum`` when
the image has an alpha channel) at the image's depth, MSB first. For an 8-bit image that is exactly
the interleaved 8-bit R,G,B[,A] bytes, row by row, gray replicated into R=G=B and palettes expanded.
Pillow decodes JPEG, PNG, GIF, WebP and plain BMP/TIFF to the same samples as ImageMagick 6.9.11
(same libjpeg-turbo default ISLOW IDCT, same libwebp), checked against ``identify`` on the test data.

Where the two decoders or the depth may differ (HEIC/AVIF, CMYK, 16-bit or <8-bit samples, TIFF
palettes or premultiplied alpha, 16/32-bit BMPs, animations, drafted JPEGs, unknown formats), we
ask ImageMagick itself when an ImageMagick 6 ``identify`` is installed, else return ``None``.
ImageMagick 7 hashes float samples per channel, a different value, so it is not used.

For a multi-frame file the signature is the first frame's (``identify -format %# 'file[0]'``).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import shutil
import struct
import subprocess
from typing import Any

__all__ = ["imagemagick_available", "imagemagick_signature", "pixel_signature"]

log = logging.getLogger(__name__)

IDENTIFY_TIMEOUT = 60.0  # seconds; a 12 MP JPEG takes ~0.3 s, a 12 MP HEIC ~0.9 s
_STRIP_BYTES = 1 << 20  # hash in ~1 MiB strips: stays in cache, no 36 MB transient per 12 MP photo
_HEX64 = re.compile(rb"[0-9a-f]{64}")
_VERSION = re.compile(r"Version: ImageMagick (\d+)\.")


# --------------------------------------------------------------------------- our recipe


def _tile_rawmode(img: Any) -> str | None:
    """Pillow's raw mode of a not-yet-loaded image (tells the stored bit depth), else None."""
    tile = getattr(img, "tile", None)
    if not tile:
        return None
    args = tile[0][3]
    raw = args[0] if isinstance(args, tuple) and args else args
    return raw if isinstance(raw, str) else None


def _read_head(path: str | os.PathLike[str] | None, n: int) -> bytes | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError:
        return None


def _png_is_8bit(img: Any, path: str | os.PathLike[str] | None) -> bool:
    """Pillow reduces 16-bit RGB(A)/LA PNGs to 8 bits; ImageMagick hashes 16 bits then."""
    raw = _tile_rawmode(img)
    if raw is not None:
        return ";16" not in raw
    head = _read_head(path, 26)
    return head is not None and len(head) == 26 and head[12:16] == b"IHDR" and head[24] <= 8


def _bmp_bits(img: Any, path: str | os.PathLike[str] | None) -> int | None:
    raw = _tile_rawmode(img)
    if raw is not None:
        return {"BGR": 24, "BGRA": 32, "P": 8, "L": 8}.get(raw)
    head = _read_head(path, 30)
    if head is None or len(head) < 26 or head[:2] != b"BM":
        return None
    (hsize,) = struct.unpack_from("<I", head, 14)
    if hsize == 12:
        return struct.unpack_from("<H", head, 24)[0]
    return struct.unpack_from("<H", head, 28)[0] if len(head) >= 30 else None


def _tiff_is_simple(img: Any) -> bool:
    """8-bit unsigned, gray/RGB, unassociated alpha only: what Pillow and ImageMagick agree on."""
    tags = getattr(img, "tag_v2", None)
    if tags is None:
        return False
    bits = tags.get(258, (1,))
    bits = bits if isinstance(bits, tuple) else (bits,)
    fmt = tags.get(339, (1,))
    fmt = fmt if isinstance(fmt, tuple) else (fmt,)
    if any(b != 8 for b in bits) or any(f != 1 for f in fmt):
        return False
    if tags.get(262) not in (0, 1, 2):  # min-is-white, min-is-black, RGB (not palette, YCbCr, CMYK)
        return False
    if img.mode in ("RGBA", "LA"):
        extra = tags.get(338, ())
        extra = extra if isinstance(extra, tuple) else (extra,)
        return extra == (2,)  # unassociated alpha; Pillow un-premultiplies associated alpha
    return True


def _recipe_mode(img: Any, path: str | os.PathLike[str] | None) -> str | None:
    """``"RGB"``/``"RGBA"`` when our bytes provably equal ImageMagick 6's export, else None."""
    fmt = getattr(img, "format", None)  # None once the caller converted/copied the image
    mode = img.mode
    if fmt is None or getattr(img, "tell", lambda: 0)() != 0:
        return None
    alpha = "RGBA" if mode in ("RGBA", "LA") or "transparency" in img.info else "RGB"
    if fmt in ("JPEG", "MPO"):
        if getattr(img, "decoderconfig", ()) or mode not in ("L", "RGB"):  # draft() used; CMYK
            return None
        return "RGB"
    if fmt == "PNG":
        if getattr(img, "is_animated", False) or mode not in ("1", "L", "P", "RGB", "RGBA", "LA"):
            return None
        if mode in ("RGB", "RGBA", "LA") and not _png_is_8bit(img, path):
            return None
        return alpha
    if fmt == "GIF":
        if mode not in ("L", "P") or getattr(img, "dispose_extent", None) != (0, 0, *img.size):
            return None  # ImageMagick hashes the frame rectangle, Pillow the whole screen
        return alpha
    if fmt == "WEBP":
        if getattr(img, "is_animated", False) or mode not in ("RGB", "RGBA"):
            return None
        return mode
    if fmt == "BMP":
        need = {"P": 8, "L": 8, "RGB": 24, "RGBA": 32}.get(mode)  # <8-bit and 16-bit differ
        if need is None or _bmp_bits(img, path) != need:
            return None
        return "RGBA" if mode == "RGBA" else "RGB"
    if fmt == "TIFF":
        if mode not in ("L", "LA", "RGB", "RGBA") or not _tiff_is_simple(img):
            return None
        return alpha
    return None


def _sha256_pixels(img: Any, mode: str) -> str:
    """SHA-256 of the interleaved 8-bit rows in ``mode``, fed strip by strip."""
    h = hashlib.sha256()
    width, height = img.size
    rows = max(1, _STRIP_BYTES // max(1, width * len(mode)))
    for y in range(0, height, rows):
        strip = img.crop((0, y, width, min(height, y + rows)))  # keeps palette and transparency
        if strip.mode != mode:
            strip = strip.convert(mode)
        h.update(strip.tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- ImageMagick


@functools.lru_cache(maxsize=8)
def _is_imagemagick6(exe: str) -> bool:
    try:
        out = subprocess.run(
            [exe, "-version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    m = _VERSION.search(out)
    return m is not None and m.group(1) == "6"


def _identify() -> str | None:
    """The ImageMagick 6 ``identify`` on PATH (looked up per call, so PATH changes count)."""
    exe = shutil.which("identify")
    return exe if exe is not None and _is_imagemagick6(exe) else None


def imagemagick_available() -> bool:
    """True when an ImageMagick 6 ``identify`` is on PATH (the fallback can run)."""
    return _identify() is not None


def imagemagick_signature(path: str | os.PathLike[str], *, timeout: float = IDENTIFY_TIMEOUT) -> str | None:
    """``identify -format %#`` of the file's first frame, or None (no ImageMagick 6, unreadable, timeout).

    The file goes in on stdin, so no file name is ever parsed by ImageMagick (``[n]``, ``fmt:``,
    ``@list``, globs, leading ``-``); the format is detected from the content, as for a path.
    """
    exe = _identify()
    if exe is None:
        return None
    cmd = [exe, "-limit", "thread", "1", "-format", "%#\n", "-[0]"]
    try:
        with open(path, "rb") as f:
            proc = subprocess.run(cmd, stdin=f, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        log.warning("identify timed out after %.0f s on %s", timeout, path)
        return None
    except OSError as e:
        log.debug("identify could not run on %s: %s", path, e)
        return None
    line = proc.stdout.split(b"\n", 1)[0].strip()
    if proc.returncode != 0 or not _HEX64.fullmatch(line):
        log.debug("identify failed on %s: rc=%s %s", path, proc.returncode, proc.stderr[-300:])
        return None
    return line.decode("ascii")


# --------------------------------------------------------------------------- public entry


def pixel_signature(img: Any, *, path: str | os.PathLike[str] | None = None) -> str | None:
    """ImageMagick 6 ``identify -format %#`` of ``img`` (64 hex chars), or None when unknowable.

    ``img`` must be the full-resolution, un-rotated Pillow image exactly as opened from the file
    (not converted, transposed or thumbnailed: those lose ``format`` or change pixels). ``path``
    is only read for header bits (PNG/BMP depth) and for the ImageMagick fallback.
    """
    mode = _recipe_mode(img, path)
    if mode is not None:
        return _sha256_pixels(img, mode)
    if path is None:
        return None
    return imagemagick_signature(path)
