"""Turn the EXIF the decoder already read into an :class:`ImageMeta`.

Works on the ``PIL.Image.Exif`` of the decoded image (JPEG, HEIC via pillow-heif, PNG, TIFF,
WebP), so no second file open. Capture time, camera and GPS help rank duplicates; the Apple
MakerNote carries the Live Photo content identifier and the burst UUID, which decide that a
still is *part* of an asset (or a burst frame) rather than a duplicate. Camera EXIF is often
damaged, so every field is read on its own and a bad one only yields None.

Speed: Pillow's ``get_ifd`` decodes every tag of the EXIF and GPS IFDs in Python (~0.25 ms for an
iPhone HEIC, whose EXIF IFD holds ~60 tags and the MakerNote). The few tags kept here are read
straight from the EXIF bytes Pillow loaded, with Pillow's own rules for what a damaged IFD yields
(:func:`_read_ifd`), so the result is the same; IFD0 (make, model, orientation) stays Pillow's.
Pillow's reader remains for EXIF that does not come as one TIFF blob (TIFF files, ``Exif`` objects
built in memory).
"""

from __future__ import annotations

import math
import re
import struct
from datetime import datetime
from fractions import Fraction
from typing import Any

from photodedup._types import ImageMeta

__all__ = ["apple_makernote", "image_meta"]

# IFD pointers and tags (EXIF 2.32 / TIFF 6 numbering)
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_MAKE, _MODEL, _ORIENTATION, _DATETIME = 0x010F, 0x0110, 0x0112, 0x0132
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED = 0x9003, 0x9004
_OFFSET_TIME, _OFFSET_TIME_ORIGINAL, _OFFSET_TIME_DIGITIZED = 0x9010, 0x9011, 0x9012
_SUBSEC, _SUBSEC_ORIGINAL, _SUBSEC_DIGITIZED = 0x9290, 0x9291, 0x9292
_MAKERNOTE = 0x927C
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON, _GPS_ALT_REF, _GPS_ALT = 1, 2, 3, 4, 5, 6

# Apple MakerNote: "Apple iOS\0", version (2 bytes), byte order "MM", then a classic IFD at
# offset 14 whose value offsets count from the start of the MakerNote.
_APPLE_HEADER = b"Apple iOS\x00"
APPLE_BURST_UUID = 0x000B
APPLE_CONTENT_ID = 0x0011
_APPLE_WANTED = frozenset({APPLE_BURST_UUID, APPLE_CONTENT_ID})
_MAX_IFD_ENTRIES = 512  # real Apple notes have < 100; bounds work on garbage counts

# What the fast reader keeps: the tags image_meta reads from each sub-IFD.
_EXIF_WANTED = frozenset(
    {_DATETIME_ORIGINAL, _DATETIME_DIGITIZED, _OFFSET_TIME, _OFFSET_TIME_ORIGINAL, _OFFSET_TIME_DIGITIZED}
    | {_SUBSEC, _SUBSEC_ORIGINAL, _SUBSEC_DIGITIZED, _MAKERNOTE}
)
_GPS_WANTED = frozenset({_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON, _GPS_ALT_REF, _GPS_ALT})
# Tags Pillow's tag table gives exactly one value (it keeps the first of several); checked in the tests.
_GPS_SINGLE = frozenset({_GPS_ALT_REF, _GPS_ALT})
# TIFF field types Pillow reads (TiffImagePlugin's _load_dispatch): bytes per value and unpack code.
_TYPES = {
    1: (1, ""),  # BYTE -> bytes
    2: (1, ""),  # ASCII -> str
    3: (2, "H"),
    4: (4, "L"),
    5: (8, "L"),  # RATIONAL
    6: (1, "b"),
    7: (1, ""),  # UNDEFINED -> bytes
    8: (2, "h"),
    9: (4, "l"),
    10: (8, "l"),  # SIGNED RATIONAL
    11: (4, "f"),
    12: (8, "d"),
    13: (4, "L"),
    16: (8, "Q"),
}
_TIFF_PREFIXES = (b"MM\x00\x2a", b"II\x2a\x00", b"MM\x2a\x00", b"II\x00\x2a")  # classic TIFF, as Pillow
_EXIF_HEADER_RE = re.compile(b"^(Exif\x00\x00){1,2}")  # what Pillow's Exif.load strips

_DATE_RE = re.compile(r"(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET_RE = re.compile(r"[+-](\d{2}):(\d{2})")
_ID_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z\-]{0,63}")


def image_meta(exif: Any) -> ImageMeta:
    """Read capture time, camera, GPS, orientation and Apple ids from a Pillow ``Image.Exif``.

    Never raises: a missing or malformed field comes back as None and the rest is kept.
    ``taken_at`` is local wall-clock time without sub-seconds ("2016-03-28T17:05:08"), the
    same shape other sources (Photos DB, Takeout) are normalised to; ``taken_offset`` is
    the matching EXIF offset ("+02:00") when the camera wrote one.
    """
    if exif is None:
        return ImageMeta()
    return _meta(exif, *_sub_ifds(exif))


def _meta(exif: Any, exif_ifd: dict[int, Any], gps: dict[int, Any]) -> ImageMeta:
    """ImageMeta from IFD0 (Pillow's ``Exif``) and the EXIF and GPS sub-IFDs, however they were read."""
    taken_at = taken_offset = taken_subsec = None
    for date_src, date_tag, offset_tag, subsec_tag in (
        (exif_ifd, _DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL, _SUBSEC_ORIGINAL),
        (exif_ifd, _DATETIME_DIGITIZED, _OFFSET_TIME_DIGITIZED, _SUBSEC_DIGITIZED),
        (exif, _DATETIME, _OFFSET_TIME, _SUBSEC),
    ):
        taken_at = _date(_get(date_src, date_tag))
        if taken_at:
            taken_offset = _offset(_get(exif_ifd, offset_tag))
            taken_subsec = _subsec(_get(exif_ifd, subsec_tag))
            break

    lat, lon, alt = _gps(gps)
    apple = apple_makernote(_get(exif_ifd, _MAKERNOTE) or _hidden_makernote(exif))
    return ImageMeta(
        taken_at=taken_at,
        taken_offset=taken_offset,
        taken_subsec=taken_subsec,
        make=_text(_get(exif, _MAKE)),
        model=_text(_get(exif, _MODEL)),
        gps_lat=lat,
        gps_lon=lon,
        gps_alt=alt,
        orientation=_orientation(_get(exif, _ORIENTATION)),
        content_id=apple.get(APPLE_CONTENT_ID),
        burst_id=apple.get(APPLE_BURST_UUID),
    )


def apple_makernote(data: Any) -> dict[int, str]:
    """Return the content identifier (0x0011) and burst UUID (0x000B) of an Apple MakerNote.

    Parses only the top-level IFD and only those two ASCII tags, which is all pairing
    needs (tens of microseconds). Ids are upper-cased so stills and videos compare equal.
    Returns {} for other makers' notes and for anything malformed.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return {}
    data = bytes(data)
    if len(data) < 16 or not data.startswith(_APPLE_HEADER):
        return {}
    order = data[12:14]
    endian = ">" if order == b"MM" else "<" if order == b"II" else None
    if endian is None:
        return {}
    entry = struct.Struct(endian + "HHI4s")
    (count,) = struct.unpack_from(endian + "H", data, 14)
    count = min(count, (len(data) - 16) // 12, _MAX_IFD_ENTRIES)
    found: dict[int, str] = {}
    for i in range(count):
        tag, typ, n, value = entry.unpack_from(data, 16 + 12 * i)
        if tag not in _APPLE_WANTED or typ not in (2, 7) or n == 0:  # ASCII or UNDEFINED
            continue
        if n <= 4:
            raw = value[:n]
        else:
            (offset,) = struct.unpack(endian + "I", value)
            if offset + n > len(data):
                continue
            raw = data[offset : offset + n]
        text = raw.split(b"\x00", 1)[0].decode("ascii", "replace").strip()
        if _ID_RE.fullmatch(text):
            found[tag] = text.upper()
    return found


def _sub_ifds(exif: Any) -> tuple[dict[int, Any], dict[int, Any]]:
    """The EXIF and GPS IFDs' wanted tags: read from the EXIF bytes when Pillow loaded it from one blob
    (JPEG, HEIC, PNG, WebP), else through Pillow's ``get_ifd``."""
    blob = _tiff_blob(exif)
    if blob is None:
        return _ifd(exif, _EXIF_IFD), _ifd(exif, _GPS_IFD)
    data, endian = blob
    return (
        _read_ifd(data, endian, _get(exif, _EXIF_IFD), _EXIF_WANTED, frozenset()),
        _read_ifd(data, endian, _get(exif, _GPS_IFD), _GPS_WANTED, _GPS_SINGLE),
    )


def _tiff_blob(exif: Any) -> tuple[bytes, str] | None:
    """The TIFF bytes a Pillow ``Exif`` was loaded from and their byte order, or None (not loaded from
    bytes, BigTIFF, offsets hidden by ``hide_offsets``, sub-IFDs already in Pillow's hands, or not a Pillow
    ``Exif`` at all)."""
    raw = getattr(exif, "_loaded_exif", None)
    if not isinstance(raw, bytes) or getattr(exif, "_hidden_data", True) or getattr(exif, "_ifds", True):
        return None  # not loaded from bytes, offsets hidden, or sub-IFDs already read or set by hand
    data = _EXIF_HEADER_RE.sub(b"", raw)
    if not data:
        return b"", ">"  # Pillow loads nothing from an empty blob
    if data[:4] not in _TIFF_PREFIXES:
        return None
    return data, "<" if data[:2] == b"II" else ">"


def _read_ifd(
    data: bytes, endian: str, offset: Any, wanted: frozenset[int], single: frozenset[int]
) -> dict[int, Any]:
    """The ``wanted`` tags of the IFD at ``offset``, with the values Pillow's ``get_ifd`` gives them.

    Pillow's rules (TiffImagePlugin ``ImageFileDirectory_v2.load`` and ``_setitem``, Image.Exif
    ``_get_ifd_dict``): a pointer that is not an int gives no IFD; the first entry of a tag wins; unknown
    types and empty values are skipped; a value whose out-of-line data would bring the running total
    past the end of the blob is skipped; an entry or value cut off by the end of the blob ends the IFD
    (what came before is kept). Values: BYTE/UNDEFINED as bytes, ASCII as str (one trailing NUL dropped,
    latin-1), numbers as one value or a tuple; rationals as floats (Pillow's ``IFDRational`` converts to
    the same float: nan for a zero denominator).
    """
    if not isinstance(offset, int) or offset < 0:
        return {}
    size = len(data)
    if offset + 2 > size:
        return {}
    (count,) = struct.unpack_from(endian + "H", data, offset)
    entry = struct.Struct(endian + "HHL4s")
    out: dict[int, Any] = {}
    stored: set[int] = set()
    total = 0
    pos = offset + 2
    for _ in range(count):
        if pos + 12 > size:
            break
        tag, typ, n, inline = entry.unpack_from(data, pos)
        pos += 12
        if tag in stored or typ not in _TYPES:
            continue
        nbytes = n * _TYPES[typ][0]
        if nbytes > 4:
            total += nbytes
            if total > size:
                continue
            (at,) = struct.unpack(endian + "L", inline)
            if at + nbytes > size:
                break
            raw = data[at : at + nbytes] if tag in wanted else b"x"
        else:
            raw = inline[:nbytes]
        if not raw:
            continue
        stored.add(tag)
        if tag in wanted:
            out[tag] = _value(typ, raw, endian, tag in single)
    return out


def _value(typ: int, raw: bytes, endian: str, single: bool) -> Any:
    if typ in (1, 7):
        return raw
    if typ == 2:
        return (raw[:-1] if raw.endswith(b"\x00") else raw).decode("latin-1", "replace")
    unit, code = _TYPES[typ]
    if typ in (5, 10):
        parts = struct.unpack(f"{endian}{len(raw) // 4}{code}", raw)
        pairs = zip(parts[::2], parts[1::2], strict=True)
        values: tuple = tuple(float(Fraction(num, den)) if den else math.nan for num, den in pairs)
    else:
        values = struct.unpack(f"{endian}{len(raw) // unit}{code}", raw)
    return values[0] if single or len(values) == 1 else values


def _ifd(exif: Any, tag: int) -> dict[int, Any]:
    """A sub-IFD as a dict; {} when absent or when its pointer is garbage."""
    try:
        ifd = exif.get_ifd(tag)
    except Exception:
        return {}
    return ifd if isinstance(ifd, dict) else {}


def _hidden_makernote(exif: Any) -> Any:
    """After ``Exif.hide_offsets()`` Pillow filters MakerNote out of get_ifd(); the raw IFD keeps it."""
    try:
        return exif._ifds[_EXIF_IFD].get(_MAKERNOTE)
    except Exception:
        return None


def _get(mapping: Any, tag: int) -> Any:
    """Pillow decodes tags lazily, so even a lookup can fail on corrupt data."""
    try:
        return mapping.get(tag)
    except Exception:
        return None


def _text(value: Any) -> str | None:
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", " ").strip()
    return value or None


def _date(value: Any) -> str | None:
    """EXIF "YYYY:MM:DD HH:MM:SS" -> ISO "YYYY-MM-DDTHH:MM:SS"; None for blanks and zeros."""
    text = _text(value)
    if not text:
        return None
    m = _DATE_RE.match(text)
    if not m:
        return None
    try:
        dt = datetime(*(int(g) for g in m.groups()))
    except ValueError:  # "0000:00:00 00:00:00", month 13, ...
        return None
    return dt.isoformat()


def _offset(value: Any) -> str | None:
    text = _text(value)
    if not text:
        return None
    m = _OFFSET_RE.fullmatch(text)
    if not m or int(m.group(1)) > 14 or int(m.group(2)) > 59:
        return None
    return text


def _subsec(value: Any) -> float | None:
    """EXIF SubSecTime digits ("878", "05") as the fraction of a second they write (0.878, 0.05)."""
    text = _text(value)
    if not text or not text.isdigit() or len(text) > 9:
        return None
    return int(text) / 10 ** len(text)


def _orientation(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8:
        return value
    return None


def _number(value: Any) -> float | None:
    """A finite float from an IFDRational, int, float or (num, den) pair."""
    try:
        if isinstance(value, tuple) and len(value) == 2 and not isinstance(value[0], tuple):
            num, den = value
            number = float(num) / float(den)
        else:
            number = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _dms(value: Any) -> float | None:
    """Degrees from a (deg, min, sec) triple, or from a lone decimal-degree value."""
    if isinstance(value, (tuple, list)) and len(value) == 3:
        parts = [_number(v) for v in value]
        if any(p is None or p < 0 for p in parts):
            return None
        deg, minutes, seconds = parts
        return deg + minutes / 60 + seconds / 3600  # type: ignore[operator]
    number = _number(value)
    return abs(number) if number is not None else None


def _ref(value: Any) -> str:
    text = _text(value)
    return text[:1].upper() if text else ""


def _gps(gps: dict[int, Any]) -> tuple[float | None, float | None, float | None]:
    """Signed lat/lon/alt; (None, None, None) when there is no usable position.

    0/0 is treated as "no fix": phones and some apps write zeros when they have none.
    Altitude is only kept alongside a position.
    """
    if not gps:
        return None, None, None
    lat = _dms(_get(gps, _GPS_LAT))
    lon = _dms(_get(gps, _GPS_LON))
    if lat is None or lon is None or lat > 90 or lon > 180 or (lat == 0 and lon == 0):
        return None, None, None
    if _ref(_get(gps, _GPS_LAT_REF)) == "S":
        lat = -lat
    if _ref(_get(gps, _GPS_LON_REF)) == "W":
        lon = -lon
    alt = _number(_get(gps, _GPS_ALT))
    if alt is not None:
        ref = _get(gps, _GPS_ALT_REF)
        if ref in (1, b"\x01", "\x01", "1"):
            alt = -abs(alt)
        alt = round(alt, 2) if abs(alt) < 100_000 else None
    return round(lat, 7), round(lon, 7), alt
