"""Camera RAW files: hash the preview the camera embedded, read the file's own EXIF.

A RAW file holds sensor data that only a full demosaic turns into a picture (hundreds of ms per file), but
every camera also stores a rendered JPEG preview, often full size, for its own screen. That preview is what
a person saw, so it is what the perceptual hashes are computed from, at the cost of a JPEG decode.

Most RAW formats are TIFF inside (DNG, NEF, ARW, CR2, PEF, SRW, 3FR, ...; RW2 and ORF with their own magic):
their previews are found by walking the IFDs (``JPEGInterchangeFormat``, JPEG-compressed strips, RW2's
``JpgFromRaw``, uncompressed RGB thumbnails), the largest one wins. RAF has a header that points at its
JPEG. Everything else (CR3, CRW, MRW, X3F, ORF previews hidden in maker notes) goes through LibRaw
(``rawpy.extract_thumb``), and a RAW without any preview is demosaiced at half size as the last resort.
Why the walker comes first (it is faster and reads more of our generated files than LibRaw does):
docs/formats.md.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from PIL import Image

from photodedup._types import DecodedImage, RawPreview
from photodedup.media.decode import DecodeError, apply_orientation, decode_image

__all__ = [
    "RAW_FORMATS",
    "RawDecoded",
    "decode_raw",
    "find_previews",
    "raw_exif",
    "raw_format",
]

#: Format names the store records for camera RAW (TIFF-based ones are named by their maker).
RAW_FORMATS = frozenset(
    {"DNG", "NEF", "NRW", "ARW", "SRF", "SR2", "CR2", "CR3", "CRW", "RAF", "ORF", "RW2", "PEF", "SRW",
     "3FR", "IIQ", "ERF", "KDC", "DCR", "MOS", "MEF", "MRW", "X3F", "RAW"}
)  # fmt: skip
_NOT_TIFF_MAGIC_RAW = frozenset({"CR3", "CRW", "RAF", "ORF", "RW2", "MRW", "X3F"})

# TIFF tags
_NEW_SUBFILE, _WIDTH, _HEIGHT, _BITS, _COMPRESSION = 0xFE, 0x100, 0x101, 0x102, 0x103
_PHOTOMETRIC, _MAKE, _STRIP_OFFSETS, _ORIENTATION, _SPP = 0x106, 0x10F, 0x111, 0x112, 0x115
_STRIP_COUNTS, _SUB_IFDS, _JPEG_OFFSET, _JPEG_LENGTH = 0x117, 0x14A, 0x201, 0x202
_RW2_JPG_FROM_RAW, _DNG_VERSION, _DEFAULT_CROP_SIZE = 0x2E, 0xC612, 0xC620
_RW2_SENSOR_W, _RW2_SENSOR_H = 0x02, 0x03  # Panasonic's IFD0 numbering
_CFA, _LINEAR_RAW = 32803, 34892
_WANTED = frozenset(
    {_NEW_SUBFILE, _WIDTH, _HEIGHT, _BITS, _COMPRESSION, _PHOTOMETRIC, _MAKE, _STRIP_OFFSETS, _ORIENTATION,
     _SPP, _STRIP_COUNTS, _SUB_IFDS, _JPEG_OFFSET, _JPEG_LENGTH, _RW2_JPG_FROM_RAW, _DNG_VERSION,
     _DEFAULT_CROP_SIZE, _RW2_SENSOR_W, _RW2_SENSOR_H}
)  # fmt: skip
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8}
_MAX_IFDS = 64
_MAX_ENTRIES = 1024

# Make (upper case, first word) -> the name the TIFF-based RAW of that maker goes by
_MAKER_FORMATS = {
    "NIKON": "NEF", "SONY": "ARW", "PENTAX": "PEF", "RICOH": "PEF", "SAMSUNG": "SRW", "HASSELBLAD": "3FR",
    "PHASE": "IIQ", "LEAF": "MOS", "MAMIYA": "MEF", "SEIKO": "ERF", "EPSON": "ERF", "KODAK": "DCR",
    "EASTMAN": "DCR",
}  # fmt: skip
_GOOD_PREVIEW = 640  # a preview whose long side is shorter than this: ask LibRaw for a bigger one

_SOF_LOSSLESS = frozenset({0xC3, 0xC7, 0xCB, 0xCF})  # lossless JPEG: the raw data of CR2 and DNG
_SOF_OTHER = frozenset({0xC0, 0xC1, 0xC2, 0xC5, 0xC6, 0xC9, 0xCA, 0xCD, 0xCE})


@dataclass(frozen=True, slots=True)
class _Preview:
    kind: str  # "jpeg" | "rgb"
    start: int
    end: int
    width: int
    height: int
    where: str  # words for RawPreview.source


@dataclass(slots=True)
class _Ifd:
    name: str
    tags: dict[int, tuple[int, int, int]]  # tag -> (type, count, value field position)


class _Tiff:
    """Just enough TIFF to walk IFDs: entries are read lazily from the buffer, nothing is copied."""

    def __init__(self, data: bytes, base: int = 0):
        self.data, self.base = data, base
        order = data[base : base + 2]
        if order not in (b"II", b"MM"):
            raise ValueError("not a TIFF byte order")
        self.e = "<" if order == b"II" else ">"

    def first_ifd(self) -> int:
        return struct.unpack_from(self.e + "I", self.data, self.base + 4)[0]

    def read_ifd(self, offset: int, name: str) -> tuple[_Ifd, int] | None:
        pos = self.base + offset
        if offset < 8 or pos + 2 > len(self.data):
            return None
        (count,) = struct.unpack_from(self.e + "H", self.data, pos)
        if count == 0 or count > _MAX_ENTRIES or pos + 2 + 12 * count > len(self.data):
            return None
        tags = {}
        for k in range(count):
            entry = pos + 2 + 12 * k
            tag, typ, n = struct.unpack_from(self.e + "HHI", self.data, entry)
            if tag in _WANTED:
                tags[tag] = (typ, n, entry + 8)
        nxt_pos = pos + 2 + 12 * count
        nxt = struct.unpack_from(self.e + "I", self.data, nxt_pos)[0] if nxt_pos + 4 <= len(self.data) else 0
        return _Ifd(name, tags), nxt

    def values(self, field: tuple[int, int, int]) -> tuple[int, ...]:
        typ, n, at = field
        size = _TYPE_SIZES.get(typ)
        if size is None or n == 0 or n > 1 << 20:
            return ()
        if size * n > 4:
            at = self.base + struct.unpack_from(self.e + "I", self.data, at)[0]
        if at + size * n > len(self.data):
            return ()
        code = {1: "B", 3: "H", 4: "I", 8: "h", 9: "i", 13: "I", 6: "b", 7: "B", 2: "B"}.get(typ)
        if code is None:
            return ()
        return struct.unpack_from(f"{self.e}{n}{code}", self.data, at)

    def blob(self, field: tuple[int, int, int]) -> tuple[int, int] | None:
        """(start, end) of an UNDEFINED/BYTE tag's bytes in the buffer."""
        typ, n, at = field
        if typ not in (1, 7) or n == 0:
            return None
        start = at if n <= 4 else self.base + struct.unpack_from(self.e + "I", self.data, at)[0]
        return (start, start + n) if start + n <= len(self.data) else None

    def text(self, field: tuple[int, int, int] | None) -> str:
        if field is None:
            return ""
        return bytes(self.values(field)).split(b"\x00", 1)[0].decode("latin-1", "replace").strip()

    def ifds(self) -> list[_Ifd]:
        """IFD0, the IFDs chained after it, and their SubIFDs (two levels), each visited once."""
        out: list[_Ifd] = []
        seen: set[int] = set()

        def visit(offset: int, name: str, depth: int) -> int:
            if offset in seen or len(out) >= _MAX_IFDS:
                return 0
            seen.add(offset)
            read = self.read_ifd(offset, name)
            if read is None:
                return 0
            ifd, nxt = read
            out.append(ifd)
            if depth < 2 and _SUB_IFDS in ifd.tags:
                for k, sub in enumerate(self.values(ifd.tags[_SUB_IFDS])):
                    visit(sub, f"{name} SubIFD {k}", depth + 1)
            return nxt

        offset, k = self.first_ifd(), 0
        while offset and len(out) < _MAX_IFDS:
            offset = visit(offset, f"IFD{k}", 0)
            k += 1
        return out


def _first(t: _Tiff, ifd: _Ifd, tag: int) -> int | None:
    field = ifd.tags.get(tag)
    if field is None:
        return None
    values = t.values(field)
    return values[0] if values else None


def _jpeg_size(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    """Width and height from a baseline/progressive JPEG's SOF; None for lossless JPEG or garbage."""
    if data[start : start + 2] != b"\xff\xd8":
        return None
    pos = start + 2
    for _ in range(256):
        if pos + 4 > end or data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in _SOF_LOSSLESS:
            return None
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in _SOF_OTHER:
            if pos + 9 > end:
                return None
            height, width = struct.unpack_from(">HH", data, pos + 5)
            return (width, height) if width and height else None
        if marker in (0xDA, 0xD9) or length < 2:
            return None
        pos += 2 + length
    return None


def _tiff_previews(t: _Tiff, ifds: list[_Ifd]) -> list[_Preview]:
    data = t.data
    out: list[_Preview] = []
    for ifd in ifds:
        spans: list[tuple[int, int, str]] = []
        if _JPEG_OFFSET in ifd.tags and _JPEG_LENGTH in ifd.tags:
            off, length = _first(t, ifd, _JPEG_OFFSET), _first(t, ifd, _JPEG_LENGTH)
            if off and length:
                spans.append((t.base + off, t.base + off + length, f"embedded JPEG ({ifd.name})"))
        if _RW2_JPG_FROM_RAW in ifd.tags:
            blob = t.blob(ifd.tags[_RW2_JPG_FROM_RAW])
            if blob:
                spans.append((*blob, "embedded JPEG (JpgFromRaw)"))
        compression = _first(t, ifd, _COMPRESSION)
        offsets = t.values(ifd.tags[_STRIP_OFFSETS]) if _STRIP_OFFSETS in ifd.tags else ()
        counts = t.values(ifd.tags[_STRIP_COUNTS]) if _STRIP_COUNTS in ifd.tags else ()
        if compression in (6, 7) and len(offsets) == 1 and len(counts) == 1:
            spans.append(
                (t.base + offsets[0], t.base + offsets[0] + counts[0], f"embedded JPEG ({ifd.name})")
            )
        for start, end, where in spans:
            if end > len(data):
                continue
            size = _jpeg_size(data, start, end)
            if size:
                out.append(_Preview("jpeg", start, end, *size, where))
        photometric = _first(t, ifd, _PHOTOMETRIC)
        if compression == 1 and photometric == 2 and offsets and len(offsets) == len(counts):
            width, height = _first(t, ifd, _WIDTH), _first(t, ifd, _HEIGHT)
            bits = t.values(ifd.tags[_BITS]) if _BITS in ifd.tags else ()
            start, end = t.base + offsets[0], t.base + offsets[-1] + counts[-1]
            contiguous = all(t.base + o == start + sum(counts[:k]) for k, o in enumerate(offsets))
            fits = end - start >= (width or 0) * (height or 0) * 3 and end <= len(data)
            if (
                width
                and height
                and bits[:3] == (8, 8, 8)
                and (_first(t, ifd, _SPP) or 3) == 3
                and contiguous
                and fits
            ):
                rgb_end = start + width * height * 3
                out.append(_Preview("rgb", start, rgb_end, width, height, f"RGB thumbnail ({ifd.name})"))
    return out


def _sensor_size(t: _Tiff, ifds: list[_Ifd]) -> tuple[int, int] | None:
    """The raw image's size: the CFA / linear-raw IFD's (DNG: its default crop), the largest one."""
    best = None
    for ifd in ifds:
        if _first(t, ifd, _PHOTOMETRIC) not in (_CFA, _LINEAR_RAW):
            continue
        crop = t.values(ifd.tags[_DEFAULT_CROP_SIZE]) if _DEFAULT_CROP_SIZE in ifd.tags else ()
        width, height = (
            (crop[0], crop[1]) if len(crop) == 2 else (_first(t, ifd, _WIDTH), _first(t, ifd, _HEIGHT))
        )
        if width and height and (best is None or width * height > best[0] * best[1]):
            best = (width, height)
    return best


def raw_format(data: bytes, sniffed: str | None) -> str | None:
    """The RAW format of ``data`` ("DNG", "NEF", "CR2", "RAF", ...), or None when it is not a camera RAW.

    A TIFF is a RAW when it has a DNG version tag or CFA / linear-raw sensor data; its maker names it.
    """
    if sniffed in _NOT_TIFF_MAGIC_RAW or sniffed == "CR2":
        return sniffed
    if sniffed != "TIFF":
        return None
    try:
        t = _Tiff(data)
        ifds = t.ifds()
    except (ValueError, struct.error):
        return None
    if not ifds:
        return None
    if any(_DNG_VERSION in ifd.tags for ifd in ifds):
        return "DNG"
    if not any(_first(t, ifd, _PHOTOMETRIC) in (_CFA, _LINEAR_RAW) for ifd in ifds):
        return None
    make = t.text(ifds[0].tags.get(_MAKE)).upper().split(" ")[0] if ifds[0].tags.get(_MAKE) else ""
    return _MAKER_FORMATS.get(make, "RAW")


def _tiff_of(data: bytes, fmt: str) -> _Tiff | None:
    """The TIFF structure inside a RAW (RW2 and ORF only change the magic number)."""
    if fmt in ("RAF", "CR3", "CRW", "MRW", "X3F"):
        return None
    try:
        return _Tiff(data)
    except ValueError:
        return None


def find_previews(data: bytes, fmt: str) -> tuple[list[_Preview], tuple[int, int] | None, int | None]:
    """Previews found without LibRaw, the sensor size, and IFD0's orientation (TIFF-based RAW and RAF)."""
    if fmt == "RAF":
        return _raf_previews(data), None, None
    t = _tiff_of(data, fmt)
    if t is None:
        return [], None, None
    try:
        ifds = t.ifds()
        previews = _tiff_previews(t, ifds)
        orientation = _first(t, ifds[0], _ORIENTATION) if ifds else None
        sensor = _sensor_size(t, ifds)
        if fmt == "RW2" and ifds and _first(t, ifds[0], _RW2_SENSOR_W) and _first(t, ifds[0], _RW2_SENSOR_H):
            sensor = (_first(t, ifds[0], _RW2_SENSOR_W), _first(t, ifds[0], _RW2_SENSOR_H))
        return previews, sensor, orientation
    except struct.error:
        return [], None, None


def _raf_previews(data: bytes) -> list[_Preview]:
    """Fujifilm RAF: the header at byte 84 holds the offset and length of a full JPEG (with EXIF)."""
    if len(data) < 92:
        return []
    offset, length = struct.unpack_from(">II", data, 84)
    size = _jpeg_size(data, offset, offset + length) if offset + length <= len(data) else None
    return [_Preview("jpeg", offset, offset + length, *size, "embedded JPEG (RAF header)")] if size else []


def raw_exif(data: bytes, fmt: str) -> Image.Exif | None:
    """The RAW file's own EXIF (IFD0 with its EXIF and GPS IFDs), or None where it is not TIFF-shaped."""
    if fmt in ("RAF", "CR3", "CRW", "MRW", "X3F"):
        return None
    head = data
    if data[:4] in (b"IIU\x00", b"IIRO", b"IIRS", b"MMOR"):  # RW2/ORF: TIFF with another magic number
        head = (b"II*\x00" if data[:2] == b"II" else b"MM\x00*") + data[4:]
    exif = Image.Exif()
    try:
        exif.load(head)
    except Exception:
        return None
    return exif


@dataclass(frozen=True, slots=True)
class RawDecoded:
    decoded: DecodedImage
    preview: RawPreview
    sensor_size: tuple[int, int] | None  # stored (unrotated) size of the raw image, when known


def decode_raw(data: bytes, fmt: str, *, exact: bool = False, max_pixels: int) -> RawDecoded:
    """The preview of a RAW file as a ``DecodedImage`` (upright by the RAW's orientation in fast mode).

    ``decoded.exif`` is the RAW's own EXIF when it has one, else the preview JPEG's.
    Raises ``DecodeError`` when neither a preview nor LibRaw gives a picture.
    """
    previews, sensor, orientation = find_previews(data, fmt)
    exif = raw_exif(data, fmt)
    best = max(previews, key=lambda p: (p.width * p.height, p.kind == "jpeg")) if previews else None
    from_libraw = None
    if best is None or max(best.width, best.height) < _GOOD_PREVIEW:
        # Some makers keep the big preview in their maker notes (PEF, ORF) or use containers the walker does
        # not read (CR3, CRW, MRW, X3F): LibRaw knows them. A full demosaic only when nothing else exists.
        try:
            from_libraw = _libraw(data, exact=exact, max_pixels=max_pixels, demosaic=best is None)
        except DecodeError:
            if best is None:
                raise
        if (
            from_libraw is not None
            and best is not None
            and from_libraw[0].width * from_libraw[0].height <= (best.width * best.height)
        ):
            from_libraw = None
    if from_libraw is not None:
        decoded, source, libraw_sensor, libraw_orientation = from_libraw
        sensor, orientation = sensor or libraw_sensor, orientation or libraw_orientation
    elif best is not None and best.kind == "jpeg":
        decoded = decode_image(data[best.start : best.end], exact=exact, max_pixels=max_pixels)
        source = best.where
    else:
        assert best is not None
        image = Image.frombuffer("RGB", (best.width, best.height), data[best.start : best.end], "raw")
        decoded = DecodedImage(image, "RGB", best.width, best.height, None, False, None)
        source = best.where
    if exif is not None and not (0x010F in exif or 0x8769 in exif):
        exif = None  # no camera tags in the container (a RW2 whose EXIF lives in its JPEG): the preview's
    if exif is not None and orientation is None:
        value = exif.get(0x0112)
        orientation = value if isinstance(value, int) and 1 <= value <= 8 else None
    preview = RawPreview(source=source, width=decoded.width, height=decoded.height)
    if decoded.orientation is None and orientation and not exact:
        decoded.image = apply_orientation(decoded.image, orientation)  # the preview follows the RAW's tag
    decoded.orientation = decoded.orientation or orientation
    decoded.format = fmt
    if exif is not None and len(exif):
        decoded.exif = exif
    if sensor:
        decoded.width, decoded.height = sensor
    return RawDecoded(decoded, preview, sensor)


def _libraw(
    data: bytes, *, exact: bool, max_pixels: int, demosaic: bool
) -> tuple[DecodedImage, str, tuple[int, int], int | None] | None:
    """LibRaw's thumbnail, or (``demosaic``) a half-size demosaic when the file has none; else None."""
    try:
        import rawpy
    except ImportError as exc:  # a dependency; only a broken install gets here
        raise DecodeError(
            "camera RAW without a preview that photodedup can read, and rawpy is missing"
        ) from exc
    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            sizes = raw.sizes
            sensor = (sizes.width, sizes.height)
            orientation = {0: 1, 3: 3, 5: 8, 6: 6}.get(sizes.flip)
            try:
                thumb = raw.extract_thumb()
            except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
                thumb = None
            if thumb is not None and thumb.format == rawpy.ThumbFormat.JPEG:
                decoded = decode_image(bytes(thumb.data), exact=exact, max_pixels=max_pixels)
                return decoded, "embedded preview (LibRaw)", sensor, orientation
            if thumb is not None:
                image = Image.fromarray(thumb.data)
                source = "embedded bitmap preview (LibRaw)"
            elif not demosaic:
                return None
            else:
                if sizes.width * sizes.height > max_pixels:
                    raise DecodeError(f"camera RAW too large to decode: {sizes.width}x{sizes.height}")
                # Half size skips the demosaic interpolation; the result is already upright.
                image = Image.fromarray(raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8))
                orientation = None
                source = "full RAW decode, half size (LibRaw)"
    except rawpy.LibRawError as exc:
        raise DecodeError(f"damaged or unsupported camera RAW: {type(exc).__name__}: {exc}") from exc
    decoded = DecodedImage(image.convert("RGB"), "RGB", image.width, image.height, None, False, None)
    return decoded, source, sensor, orientation
