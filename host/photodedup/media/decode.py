"""Decode an image file once, at the smallest scale the perceptual hashes tolerate.

Decoding dominates fingerprinting time, so the default (fast) mode lets the codec do the downscaling:
JPEG via libjpeg's DCT scaling (``Image.draft``), HEIC via the embedded thumbnail (pillow-heif's ``draft``).
``exact=True`` instead reproduces what imagededup 0.3's ``load_image`` feeds its hashes (full decode, no EXIF
transpose, non-RGB -> RGBA -> RGB), so hashes can be compared bit for bit with imagededup's.

Everything that goes wrong is raised as a :class:`DecodeError` whose message is a sentence a person can read.
"""

from __future__ import annotations

import io
import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from photodedup._types import DecodedImage

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DecodeError",
    "ImageTooLargeError",
    "NotAnImageError",
    "TruncatedImageError",
    "apply_orientation",
    "decode_image",
]

DEFAULT_MAX_PIXELS = 200_000_000
"""Refuse images with more pixels than this (checked from the header, before any pixel is decoded)."""

JPEG_DRAFT_SIZE = (256, 256)
"""JPEG DCT scaling keeps both sides >= this: 256 is the largest hash input (wHash), so no hash upscales."""

HEIF_THUMBNAIL_SIZES = ((256, 256), (128, 128))
"""Thumbnail requests tried in order. Apple's 320x240 thumbnails fail the 256 request (one side is 240),
so fall back to 128; anything smaller than that drifts too far and the full image is decoded instead."""

_ORIENTATION_TAG = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


class DecodeError(Exception):
    """The file could not be decoded; ``str(err)`` is a sentence for the user."""


class NotAnImageError(DecodeError):
    """Empty, or content that no installed decoder recognises."""


class TruncatedImageError(DecodeError):
    """The image data ends early (partial download or copy)."""


class ImageTooLargeError(DecodeError):
    """The header announces more pixels than the cap (decompression-bomb guard)."""


_heif_lock = threading.Lock()
_heif_registered = False
_jxl_registered = False


def _register_heif() -> None:
    """Register pillow-heif's opener on first use: importing it costs ~20 ms that non-image runs skip."""
    global _heif_registered
    if _heif_registered:
        return
    with _heif_lock:
        if not _heif_registered:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _heif_registered = True


def _register_jxl() -> None:
    """Register the JPEG XL plugin (pillow-jxl-plugin) on the first JXL file: its import costs ~70 ms.

    It decodes with every core by default; scans already run one process per core, so one thread each.
    """
    global _jxl_registered
    if _jxl_registered:
        return
    with _heif_lock:
        if not _jxl_registered:
            from pillow_jxl import JpegXLImagePlugin

            JpegXLImagePlugin.DECODE_THREADS = 1
            _jxl_registered = True


def _is_jxl(raw: bytes) -> bool:
    return raw[:2] == b"\xff\x0a" or raw[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n"


class _Bits:
    """LSB-first bit reader over a JPEG XL codestream header."""

    def __init__(self, data: bytes):
        self.value, self.pos = int.from_bytes(data[:32], "little"), 0

    def u(self, n: int) -> int:
        out = (self.value >> self.pos) & ((1 << n) - 1)
        self.pos += n
        return out

    def u32(self, *bits: int) -> int:
        return self.u(bits[self.u(2)])


_JXL_RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}


def jxl_size(raw: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG XL SizeHeader (bare codestream or the ``jxlc``/``jxlp`` box of the
    container), read before any pixel is decoded: the plugin decodes the whole image when it opens it."""
    if raw[:2] != b"\xff\x0a":
        pos, code = 0, None
        while pos + 8 <= min(len(raw), 1 << 20):
            size, kind = struct.unpack_from(">I4s", raw, pos)
            head = 8
            if size == 1 and pos + 16 <= len(raw):
                size, head = struct.unpack_from(">Q", raw, pos + 8)[0], 16
            if kind == b"jxlc":
                code = raw[pos + head : pos + head + 40]
            elif kind == b"jxlp":
                code = raw[pos + head + 4 : pos + head + 44]
            if code is not None or size < head:
                break
            pos += size
        if not code or code[:2] != b"\xff\x0a":
            return None
        raw = code
    b = _Bits(raw[2:])
    div8 = b.u(1)
    height = (b.u(5) + 1) * 8 if div8 else b.u32(9, 13, 18, 30) + 1
    ratio = b.u(3)
    if ratio:
        num, den = _JXL_RATIOS[ratio]
        width = height * num // den
    else:
        width = (b.u(5) + 1) * 8 if div8 else b.u32(9, 13, 18, 30) + 1
    return width, height


_bomb_lock = threading.Lock()
_bomb_users = 0
_bomb_saved: int | None = None


@contextmanager
def _own_pixel_cap() -> Iterator[None]:
    """Switch off Pillow's global decompression-bomb check while decodes are in flight.

    Pillow warns above 89 MP and refuses above 179 MP, at open *and* in some plugins' load (GIF, WebP, TIFF),
    which would override ``max_pixels`` (either way). We check the header size ourselves, so Pillow's check
    is disabled only while at least one decode runs (a counter, so threads can decode in parallel) and its
    setting is restored afterwards.
    """
    global _bomb_users, _bomb_saved
    with _bomb_lock:
        if _bomb_users == 0:
            _bomb_saved = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
        _bomb_users += 1
    try:
        yield
    finally:
        with _bomb_lock:
            _bomb_users -= 1
            if _bomb_users == 0:
                Image.MAX_IMAGE_PIXELS = _bomb_saved


def apply_orientation(image: Image.Image, orientation: int | None) -> Image.Image:
    """Turn ``image`` upright for an EXIF orientation (1-8); a plain transpose, cheap on a reduced image."""
    method = _TRANSPOSE.get(orientation or 1)
    return image if method is None else image.transpose(method)


def _read(data: bytes | str | os.PathLike[str]) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    try:
        return Path(data).read_bytes()
    except OSError as exc:
        raise DecodeError(f"cannot read file: {exc.strerror or exc}") from exc


def _looks_like_heif(raw: bytes) -> bool:
    if raw[4:8] != b"ftyp":
        return False
    box_end = min(int.from_bytes(raw[0:4], "big"), len(raw), 64)
    brands = {raw[i : i + 4] for i in range(8, box_end - 3, 4)}
    return bool(brands & _HEIF_BRANDS)


def _unrecognised(raw: bytes) -> DecodeError:
    """Explain why Pillow found no decoder; a damaged HEIC is reported as such, not as 'not an image'."""
    if _looks_like_heif(raw):
        import pillow_heif

        try:
            pillow_heif.open_heif(io.BytesIO(raw))
        except Exception as exc:
            detail = str(exc)
            if "end of file" in detail.lower() or "outside of file" in detail.lower():
                return TruncatedImageError(f"truncated image: HEIF data ends early ({detail})")
            return DecodeError(f"damaged HEIF image: {detail}")
        return DecodeError("HEIF image that Pillow could not open")
    return NotAnImageError("not an image (unrecognised content)")


def _load_error(exc: Exception, fmt: str) -> DecodeError:
    text = str(exc) or type(exc).__name__
    if "truncated" in text:
        return TruncatedImageError(f"truncated image: {fmt} data ends early ({text})")
    return DecodeError(f"damaged {fmt} image: {text}")


def _exif_of(im: Image.Image) -> Image.Exif | None:
    """Broken EXIF is common (editors, truncated APP1) and must not cost the pixels: treat it as absent."""
    try:
        return im.getexif()
    except (OSError, SyntaxError, ValueError, KeyError, IndexError, TypeError, struct.error):
        return None


def _orientation_of(im: Image.Image, exif: Image.Exif | None) -> int | None:
    if im.format == "HEIF":
        value = im.info.get("original_orientation")
    elif im.format == "JXL" and not getattr(im, "jpeg", False):
        # JPEG XL orients the pixels by its codestream header, which the specification makes authoritative:
        # any EXIF orientation is to be ignored. (A losslessly recompressed JPEG comes back as that JPEG,
        # unturned, with its EXIF: that one is turned like any JPEG.)
        return None
    else:
        value = exif.get(_ORIENTATION_TAG) if exif is not None else None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def decode_image(
    data: bytes | str | os.PathLike[str], *, exact: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS
) -> DecodedImage:
    """Decode one image file (bytes or a path) into an RGB Pillow image.

    Fast mode (default): reduced-scale decode where the format allows (JPEG/MPO DCT scaling so both sides
    stay >= 256 px, HEIC embedded thumbnail), GIF first frame, other formats at full size; EXIF orientation
    applied. ``exact=True``: full decode, no EXIF transpose, imagededup's mode conversion, so hashes match
    imagededup 0.3 bit for bit. HEIF pixels always come out upright (libheif applies the container's
    rotation); for HEIF, ``orientation`` is the original EXIF value that pillow-heif resets in ``exif``.

    The format is detected from the content, never from a file name. ``width``/``height`` are the stored
    size before orientation. Raises :class:`DecodeError` (or a subclass) with a readable message.
    """
    raw = _read(data)
    if not raw:
        raise NotAnImageError("not an image (empty file, 0 bytes)")
    _register_heif()
    if _is_jxl(raw):
        _register_jxl()
        size = jxl_size(raw)
        if size and size[0] * size[1] > max_pixels:
            w, h = size
            raise ImageTooLargeError(
                f"image too large: {w * h:,} pixels ({w}x{h}) exceeds the {max_pixels:,} cap"
            )
    with _own_pixel_cap():
        try:
            im = Image.open(io.BytesIO(raw))
        except UnidentifiedImageError:
            raise _unrecognised(raw) from None
        except Exception as exc:  # a plugin choking on a damaged header
            raise DecodeError(f"damaged image header: {exc}") from exc
        # Not closed on purpose: close() would drop the pixels of the returned image, and a BytesIO holds no
        # OS resource.
        return _decode_opened(im, exact=exact, max_pixels=max_pixels)


def _decode_opened(im: Image.Image, *, exact: bool, max_pixels: int) -> DecodedImage:
    fmt = im.format or "unknown"
    width, height = im.size
    pixels = width * height
    if pixels > max_pixels:
        raise ImageTooLargeError(
            f"image too large: {pixels:,} pixels ({width}x{height}) exceeds the {max_pixels:,} cap"
        )
    reduced = False
    try:
        if not exact:
            if fmt in ("JPEG", "MPO"):
                im.draft("RGB", JPEG_DRAFT_SIZE)
                reduced = im.size != (width, height)
            elif fmt == "HEIF":
                reduced = any(im.draft("RGB", size) is not None for size in HEIF_THUMBNAIL_SIZES)
        im.load()
        image = im if im.mode == "RGB" else im.convert("RGBA").convert("RGB")
    except MemoryError:
        raise
    except Exception as exc:  # Pillow and its plugins raise OSError, SyntaxError, ValueError, struct.error...
        raise _load_error(exc, fmt) from exc
    exif = _exif_of(im)  # after load: PNG keeps EXIF in chunks after the pixels
    orientation = _orientation_of(im, exif)
    if fmt == "JXL" and orientation is None and exif is not None and _ORIENTATION_TAG in exif:
        del exif[_ORIENTATION_TAG]  # ignored by JPEG XL (see _orientation_of): nobody downstream may use it
    if fmt == "HEIF" and orientation in (5, 6, 7, 8):
        width, height = height, width  # libheif reports the rotated size; give the stored one
    if not exact and fmt != "HEIF":
        image = apply_orientation(image, orientation)
    return DecodedImage(
        image=image,
        format=fmt,
        width=width,
        height=height,
        orientation=orientation,
        reduced=reduced,
        exif=exif,
    )
