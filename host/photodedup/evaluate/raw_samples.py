"""Small camera-RAW-structured files made from ordinary pictures, for tests and the benchmark.

The shared test data holds no RAW file (every one is over its 4 MiB limit), so these are built here with the
layouts real cameras use: DNG (RGB thumbnail in IFD0, CFA sensor data and a JPEG preview in SubIFDs, Adobe's
DNG tags), NEF (Nikon: IFD0 thumbnail, JPEG preview and CFA data in SubIFDs), ARW (Sony: preview through
JPEGInterchangeFormat in IFD0), CR2 (Canon: the ``CR`` header, a JPEG-compressed IFD0, a lossless-JPEG raw
IFD), RW2 (Panasonic: ``IIU`` magic, JpgFromRaw tag), RAF (Fujifilm: header pointing at a JPEG). The sensor
data is a real RGGB mosaic of the picture, so LibRaw can demosaic the DNGs; the other makers' raw data is
stored uncompressed, which their real files never are, so only the preview path reads them.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["RAW_LAYOUTS", "jpeg_bytes", "write_raw"]

RAW_LAYOUTS = ("DNG", "NEF", "ARW", "CR2", "RW2", "RAF")
_SUFFIX = {"DNG": ".dng", "NEF": ".nef", "ARW": ".arw", "CR2": ".cr2", "RW2": ".rw2", "RAF": ".raf"}
_ASCII, _SHORT, _LONG, _RATIONAL, _UNDEFINED, _BYTE, _SRATIONAL = 2, 3, 4, 5, 7, 1, 10


@dataclass
class _Ifd:
    entries: dict[int, tuple[int, object]] = field(default_factory=dict)  # tag -> (type, value)
    blobs: dict[int, bytes] = field(default_factory=dict)  # offset tag -> its data (length tag set by caller)
    subifds: list[_Ifd] = field(default_factory=list)  # written through tag 0x14A
    exif: _Ifd | None = None  # written through tag 0x8769


def _pack_values(typ: int, value: object) -> bytes:
    if typ == _ASCII:
        return str(value).encode("latin-1") + b"\x00"
    if typ in (_UNDEFINED, _BYTE):
        return bytes(value)  # type: ignore[arg-type]
    values = value if isinstance(value, tuple | list) else (value,)
    if typ == _SHORT:
        return struct.pack(f"<{len(values)}H", *values)
    if typ == _LONG:
        return struct.pack(f"<{len(values)}I", *values)
    if typ in (_RATIONAL, _SRATIONAL):
        code = "i" if typ == _SRATIONAL else "I"
        out = b""
        for v in values:
            num, den = v if isinstance(v, tuple) else (round(v * 10000), 10000)
            out += struct.pack(f"<{code}{code}", num, den)
        return out
    raise ValueError(f"type {typ}")


def _count(typ: int, raw: bytes) -> int:
    return len(raw) // {_SHORT: 2, _LONG: 4, _RATIONAL: 8, _SRATIONAL: 8}.get(typ, 1)


def _tiff(ifds: list[_Ifd], magic: bytes = b"II*\x00", header_tail: bytes = b"") -> bytes:
    """Little-endian TIFF: the header, then every IFD followed by its values and data, IFD0 chain first."""
    out = bytearray(magic + b"\x00\x00\x00\x00" + header_tail)
    struct.pack_into("<I", out, 4, len(out))

    def write(ifd: _Ifd) -> int:
        entries = dict(ifd.entries)
        for tag in ifd.blobs:
            entries[tag] = (_LONG, 0)  # patched below
        if ifd.subifds:
            entries[0x14A] = (_LONG, tuple(0 for _ in ifd.subifds))
        if ifd.exif is not None:
            entries[0x8769] = (_LONG, 0)
        if len(out) % 2:
            out.append(0)
        start = len(out)
        tags = sorted(entries)
        table = start + 2
        out.extend(struct.pack("<H", len(tags)) + bytes(12 * len(tags)) + b"\x00\x00\x00\x00")
        where: dict[int, int] = {}  # tag -> position of its value field (or of its out-of-line values)
        for k, tag in enumerate(tags):
            typ, value = entries[tag]
            raw = _pack_values(typ, value)
            pos = table + 12 * k
            struct.pack_into("<HHI", out, pos, tag, typ, _count(typ, raw))
            if len(raw) <= 4:
                out[pos + 8 : pos + 8 + len(raw)] = raw
                where[tag] = pos + 8
            else:
                if len(out) % 2:
                    out.append(0)
                struct.pack_into("<I", out, pos + 8, len(out))
                where[tag] = len(out)
                out.extend(raw)
        for tag, data in ifd.blobs.items():
            struct.pack_into("<I", out, where[tag], len(out))
            out.extend(data)
        for k, sub in enumerate(ifd.subifds):
            offset = write(sub)
            struct.pack_into("<I", out, where[0x14A] + 4 * k, offset)
        if ifd.exif is not None:
            struct.pack_into("<I", out, where[0x8769], write(ifd.exif))
        return start

    previous_next = None
    for ifd in ifds:
        offset = write(ifd)
        if previous_next is None:
            struct.pack_into("<I", out, 4, offset)
        else:
            struct.pack_into("<I", out, previous_next, offset)
        (count,) = struct.unpack_from("<H", out, offset)
        previous_next = offset + 2 + 12 * count
    return bytes(out)


def jpeg_bytes(picture: Image.Image, quality: int = 90, exif: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    picture.convert("RGB").save(buf, "JPEG", quality=quality, **({"exif": exif} if exif else {}))
    return buf.getvalue()


def _mosaic(picture: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """An RGGB Bayer mosaic of the picture at the sensor size, 16-bit."""
    rgb = np.asarray(picture.convert("RGB").resize(size, Image.Resampling.BILINEAR), dtype=np.uint16) * 257
    out = np.empty(rgb.shape[:2], np.uint16)
    out[0::2, 0::2] = rgb[0::2, 0::2, 0]
    out[0::2, 1::2] = rgb[0::2, 1::2, 1]
    out[1::2, 0::2] = rgb[1::2, 0::2, 1]
    out[1::2, 1::2] = rgb[1::2, 1::2, 2]
    return out


def _exif_ifd(taken_at: str, subsec: str | None) -> _Ifd:
    entries: dict[int, tuple[int, object]] = {0x9003: (_ASCII, taken_at), 0x9004: (_ASCII, taken_at)}
    if subsec is not None:
        entries[0x9291] = (_ASCII, subsec)
    return _Ifd(entries)


def _cfa_ifd(mosaic: np.ndarray, extra: dict | None = None) -> _Ifd:
    height, width = mosaic.shape
    data = mosaic.astype("<u2").tobytes()
    ifd = _Ifd(
        {
            0xFE: (_LONG, 0),
            0x100: (_LONG, width),
            0x101: (_LONG, height),
            0x102: (_SHORT, 16),
            0x103: (_SHORT, 1),
            0x106: (_SHORT, 32803),
            0x115: (_SHORT, 1),
            0x116: (_LONG, height),
            0x117: (_LONG, len(data)),
            0x828D: (_SHORT, (2, 2)),  # CFARepeatPatternDim
            0x828E: (_BYTE, (0, 1, 1, 2)),  # CFAPattern: RGGB
            **(extra or {}),
        },
        blobs={0x111: data},
    )
    return ifd


def _rgb_ifd(picture: Image.Image, size: tuple[int, int], subfile: int = 1) -> _Ifd:
    small = picture.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    data = small.tobytes()
    return _Ifd(
        {
            0xFE: (_LONG, subfile),
            0x100: (_LONG, size[0]),
            0x101: (_LONG, size[1]),
            0x102: (_SHORT, (8, 8, 8)),
            0x103: (_SHORT, 1),
            0x106: (_SHORT, 2),
            0x115: (_SHORT, 3),
            0x116: (_LONG, size[1]),
            0x117: (_LONG, len(data)),
        },
        blobs={0x111: data},
    )


def _jpeg_strip_ifd(jpeg: bytes, size: tuple[int, int], compression: int = 7) -> _Ifd:
    return _Ifd(
        {
            0xFE: (_LONG, 1),
            0x100: (_LONG, size[0]),
            0x101: (_LONG, size[1]),
            0x102: (_SHORT, (8, 8, 8)),
            0x103: (_SHORT, compression),
            0x106: (_SHORT, 6),
            0x115: (_SHORT, 3),
            0x116: (_LONG, size[1]),
            0x117: (_LONG, len(jpeg)),
        },
        blobs={0x111: jpeg},
    )


def _jpeg_pointer_ifd(jpeg: bytes, entries: dict | None = None) -> _Ifd:
    return _Ifd({0x202: (_LONG, len(jpeg)), **(entries or {})}, blobs={0x201: jpeg})


def write_raw(
    path: str | Path,
    layout: str,
    picture: Image.Image,
    *,
    make: str,
    model: str,
    taken_at: str,
    subsec: str | None = None,
    orientation: int = 1,
    preview_size: tuple[int, int] | None = None,
    sensor_size: tuple[int, int] | None = None,
    preview_quality: int = 90,
    previews: bool = True,
) -> Path:
    """Write ``picture`` as a RAW-structured file of ``layout`` (one of :data:`RAW_LAYOUTS`).

    ``taken_at`` is EXIF's "YYYY:MM:DD HH:MM:SS"; the preview is ``picture`` at ``preview_size`` (default: its
    own size), stored unrotated with ``orientation`` in the RAW's IFD0, as cameras do. The path's suffix is
    replaced by the layout's own. ``previews=False`` (DNG only) writes the sensor data alone, in IFD0.
    """
    layout = layout.upper()
    if layout not in RAW_LAYOUTS:
        raise ValueError(f"unknown RAW layout {layout!r}: one of {', '.join(RAW_LAYOUTS)}")
    path = Path(path).with_suffix(_SUFFIX[layout])
    preview_size = preview_size or picture.size
    sensor_size = sensor_size or picture.size
    preview = picture.convert("RGB").resize(preview_size, Image.Resampling.LANCZOS)
    camera = {0x10F: (_ASCII, make), 0x110: (_ASCII, model), 0x112: (_SHORT, orientation),
              0x132: (_ASCII, taken_at)}  # fmt: skip
    exif = _exif_ifd(taken_at, subsec)
    if layout == "DNG":
        raw = _cfa_ifd(_mosaic(picture, sensor_size), {0xC61D: (_LONG, 65535), 0xC61A: (_LONG, 0)})
        ifd0 = _rgb_ifd(picture, _thumb_size(picture.size, 256)) if previews else raw
        ifd0.entries.update(camera)
        ifd0.entries.update(
            {
                0xC612: (_BYTE, (1, 4, 0, 0)),  # DNGVersion
                0xC613: (_BYTE, (1, 1, 0, 0)),  # DNGBackwardVersion
                0xC614: (_ASCII, f"{make} {model}"),  # UniqueCameraModel
                0xC621: (_SRATIONAL, (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)),  # ColorMatrix1
                0xC628: (_RATIONAL, (1.0, 1.0, 1.0)),  # AsShotNeutral
                0xC65A: (_SHORT, 21),  # CalibrationIlluminant1: D65
            }
        )
        ifd0.exif = exif
        if previews:
            ifd0.subifds = [raw, _jpeg_strip_ifd(jpeg_bytes(preview, preview_quality), preview_size)]
        data = _tiff([ifd0])
    elif layout == "NEF":
        ifd0 = _rgb_ifd(picture, (160, 120))
        ifd0.entries.update(camera)
        ifd0.exif = exif
        ifd0.subifds = [
            _jpeg_pointer_ifd(jpeg_bytes(preview, preview_quality), {0xFE: (_LONG, 1)}),
            _cfa_ifd(_mosaic(picture, sensor_size)),
        ]
        data = _tiff([ifd0])
    elif layout == "ARW":
        ifd0 = _jpeg_pointer_ifd(jpeg_bytes(preview, preview_quality), {0xFE: (_LONG, 1), **camera})
        ifd0.exif = exif
        ifd0.subifds = [_cfa_ifd(_mosaic(picture, sensor_size))]
        data = _tiff([ifd0])
    elif layout == "CR2":
        ifd0 = _jpeg_strip_ifd(jpeg_bytes(preview, preview_quality), preview_size, compression=6)
        ifd0.entries.update(camera)
        ifd0.exif = exif
        ifd1 = _jpeg_pointer_ifd(jpeg_bytes(picture.convert("RGB").resize((160, 120)), 80))
        ifd2 = _rgb_ifd(picture, (384, 256))
        # Canon's raw IFD holds lossless JPEG (SOF3), which no preview reader may take for a picture.
        lossless = (
            b"\xff\xd8\xff\xc3\x00\x0b\x0e" + struct.pack(">HH", *sensor_size[::-1]) + b"\x01\x01\x11\x00"
        )
        ifd3 = _Ifd({0x103: (_SHORT, 6), 0x117: (_LONG, len(lossless))}, blobs={0x111: lossless})
        data = _tiff([ifd0, ifd1, ifd2, ifd3], header_tail=b"CR\x02\x00\x00\x00\x00\x00")
    elif layout == "RW2":
        jpeg = jpeg_bytes(
            preview, preview_quality, exif=_jpeg_exif(make, model, taken_at, subsec, orientation)
        )
        mosaic = _mosaic(picture, sensor_size)
        ifd0 = _Ifd({0x2E: (_UNDEFINED, jpeg), 0x02: (_LONG, sensor_size[0]), 0x03: (_LONG, sensor_size[1]),
                     **camera}, blobs={0x118: mosaic.astype("<u2").tobytes()})  # fmt: skip
        ifd0.exif = exif
        data = _tiff([ifd0], magic=b"IIU\x00")
    else:  # RAF
        jpeg = jpeg_bytes(
            preview, preview_quality, exif=_jpeg_exif(make, model, taken_at, subsec, orientation)
        )
        header = bytearray(b"FUJIFILMCCD-RAW 0201FF383501".ljust(28, b"\x00"))
        header += model.encode()[:32].ljust(32, b"\x00") + b"0100".ljust(24, b"\x00")
        header = header.ljust(100, b"\x00")
        mosaic = _mosaic(picture, sensor_size).astype(">u2").tobytes()
        struct.pack_into(">II", header, 84, len(header), len(jpeg))
        struct.pack_into(">II", header, 100 - 8, len(header) + len(jpeg), len(mosaic))
        data = bytes(header) + jpeg + mosaic
    path.write_bytes(data)
    return path


def _thumb_size(size: tuple[int, int], longest: int) -> tuple[int, int]:
    w, h = size
    scale = longest / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _jpeg_exif(make: str, model: str, taken_at: str, subsec: str | None, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x10F], exif[0x110], exif[0x112], exif[0x132] = make, model, orientation, taken_at
    sub = {0x9003: taken_at}
    if subsec is not None:
        sub[0x9291] = subsec
    exif[0x8769] = sub
    return exif.tobytes()
