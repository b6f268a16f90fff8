"""Turn the EXIF the decoder already read into an :class:`ImageMeta`.

Works on the ``PIL.Image.Exif`` of the decoded image (JPEG, HEIC via pillow-heif, PNG, TIFF,
WebP), so no second file open. Capture time, camera and GPS help rank duplicates; the Apple
MakerNote carries the Live Photo content identifier and the burst UUID, which decide that a
still is *part* of an asset (or a burst frame) rather than a duplicate. Camera EXIF is often
damaged, so every field is read on its own and a bad one only yields None.
"""

from __future__ import annotations

import math
import re
import struct
from datetime import datetime
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
    exif_ifd = _ifd(exif, _EXIF_IFD)
    gps = _ifd(exif, _GPS_IFD)

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
