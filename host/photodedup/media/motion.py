"""Find the video inside a Google or Samsung motion photo (a JPEG or HEIC with an MP4 after the picture).

A motion photo is one capture: a still a person sees and a short clip. The still decodes like any photo
(decoders stop at the picture's end), so duplicates are found through it; the clip is located here so it can
be fingerprinted as a video and written out on request.

Phones describe the clip in several ways, some of them wrong (a Samsung HEIC whose XMP ``Length`` is 80, a
Pixel JPEG whose video was stripped but whose XMP still says "motion photo"), so the candidates are tried in
the order that works on every real sample (../shared/notes/apple-photos-and-formats.md section 5):

1. XMP ``Container:Directory`` (``GCamera:MotionPhoto``): the clip is the ``MotionPhoto`` item at the end;
2. legacy XMP ``GCamera:MicroVideo`` with ``MicroVideoOffset`` (bytes from the end of the file);
3. a top-level ISO-BMFF ``mpvd`` box (Samsung HEIC);
4. the Samsung SEF trailer (``SEFH`` ... ``SEFT``) record ``MotionPhoto_Data``.

A candidate counts only when an MP4 ``ftyp`` box starts there; its top-level boxes are then walked to find
where the clip really ends (a SEF trailer may follow it). Namespaces are matched by URI, never by prefix
(``GCamera``, ``Camera`` and ``GContainer`` all occur). Pure byte inspection: no decoder, no I/O except in
:func:`extract_motion_video`.
"""

from __future__ import annotations

import os
import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MotionVideo",
    "MotionVideoError",
    "extract_motion_video",
    "find_motion_video",
    "motion_xmp",
]

XMP_SEARCH_BYTES = 4 << 20
"""XMP is looked for in the first 4 MiB (JPEG APP1 segments come first; HEIC items sit before the clip)."""

_NS_CAMERA = "http://ns.google.com/photos/1.0/camera/"
_NS_CONTAINER = "http://ns.google.com/photos/1.0/container/"
_NS_ITEM = "http://ns.google.com/photos/1.0/container/item/"
_NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_PACKET = re.compile(rb"<x:xmpmeta[\s>].*?</x:xmpmeta>", re.DOTALL)
_BOX_TYPE = re.compile(rb"[A-Za-z0-9 _\-\xa9]{4}")
# Boxes an MP4 or QuickTime file has at its top level. The clip ends at the first box that is not one of
# these (Samsung wraps its SEF trailer in a ``sefd`` box right after the clip).
_MP4_TOP_LEVEL = frozenset(
    {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"meta", b"udta", b"pdin", b"moof",
     b"mfra", b"sidx", b"ssix", b"styp", b"prft", b"emsg", b"pnot", b"junk"}
)  # fmt: skip
_MAX_BOXES = 4096  # bounds every box walk on garbage sizes


class MotionVideoError(Exception):
    """The file holds no usable motion-photo video, or it cannot be written out; the message says why."""


@dataclass(frozen=True, slots=True)
class MotionVideo:
    """Where the clip of a motion photo lies in the file's bytes."""

    offset: int  # first byte of the MP4 (its ftyp box)
    length: int  # bytes up to the end of its last complete top-level box (or the file, when cut short)
    found_by: str  # xmp-container | xmp-microvideo | heic-mpvd | samsung-sef
    truncated: bool = False  # the last box claims more bytes than the file has (a cut copy)

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass(frozen=True, slots=True)
class _Xmp:
    motion_photo: bool = False  # GCamera:MotionPhoto=1 or MicroVideo=1
    container_offset_from_end: int | None = None  # bytes from the end where the MotionPhoto item starts
    micro_video_offset: int | None = None  # legacy MicroVideoOffset (bytes from the end)
    semantics: tuple[str, ...] = ()  # Container:Directory item semantics, in file order


def find_motion_video(data: bytes, fmt: str | None = None) -> MotionVideo | None:
    """The embedded clip of a motion photo, or None when ``data`` is not one (or its clip was removed).

    ``fmt`` is the sniffed format ("JPEG", "HEIF"); other formats return None at once.
    """
    if fmt not in (None, "JPEG", "MPO", "HEIF"):
        return None
    size = len(data)
    trailer = _sef_trailer(data)
    limit = trailer[0] if trailer else size
    heif = data[4:8] == b"ftyp"
    mpvd = _top_level_box(data, b"mpvd") if heif else None
    # A HEIC motion photo keeps its clip in an ``mpvd`` box (Google's format) or names it in a SEF trailer
    # (Samsung): without either there is nothing to find, and the XMP search over megabytes is skipped.
    xmp = motion_xmp(data, fmt) if not heif or mpvd or trailer else _Xmp()
    candidates: list[tuple[int, int, str]] = []  # (offset, limit, how)
    if xmp.container_offset_from_end is not None:
        candidates.append((size - xmp.container_offset_from_end, limit, "xmp-container"))
    if xmp.micro_video_offset is not None:
        candidates.append((size - xmp.micro_video_offset, limit, "xmp-microvideo"))
    if mpvd is not None:
        candidates.append((mpvd[0], mpvd[1], "heic-mpvd"))
    if trailer:
        candidates.extend((start, end, "samsung-sef") for start, end in _sef_motion_data(data, *trailer))
    for offset, end_limit, how in candidates:
        found = _validate(data, offset, min(end_limit, size), how)
        if found is not None:
            return found
    return None


def motion_xmp(data: bytes, fmt: str | None = None) -> _Xmp:
    """What the XMP packets say about a motion photo (empty when there is none or it does not parse)."""
    best = _Xmp()
    for packet in _xmp_packets(data, fmt):
        found = _parse_xmp(packet)
        if found.container_offset_from_end is not None or found.micro_video_offset is not None:
            return found
        if found.motion_photo or found.semantics:
            best = found
    return best


def extract_motion_video(
    path: str | os.PathLike[str], out_dir: str | os.PathLike[str]
) -> tuple[Path, MotionVideo]:
    """Write the clip of the motion photo at ``path`` to a new file in ``out_dir``; the input is only read.

    The new file is ``<stem>.mp4`` (``<stem>.MP.mp4`` if the photo itself is named ``.mp4``), created
    exclusively: an existing file is never overwritten. It gets the photo's modification time.
    Raises :class:`MotionVideoError` with a sentence for the user.
    """
    src = Path(path)
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise MotionVideoError(f"cannot read {src}: {exc.strerror or exc}") from exc
    from photodedup.media.sniff import sniff_format

    fmt = sniff_format(data[:512])
    if fmt not in ("JPEG", "MPO", "HEIF"):
        raise MotionVideoError(f"{src} is not a JPEG or HEIC picture, so it cannot be a motion photo")
    mv = find_motion_video(data, fmt)
    if mv is None:
        xmp = motion_xmp(data, fmt)
        if xmp.motion_photo:
            raise MotionVideoError(f"{src} says it is a motion photo, but its video is not in the file")
        raise MotionVideoError(f"{src} is not a motion photo (no embedded video)")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MotionVideoError(f"cannot create {out}: {exc.strerror or exc}") from exc
    name = src.stem + (".MP.mp4" if src.suffix.lower() == ".mp4" else ".mp4")
    dest = out / name
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise MotionVideoError(f"{dest} already exists: not overwritten") from None
    except OSError as exc:
        raise MotionVideoError(f"cannot create {dest}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(memoryview(data)[mv.offset : mv.end])
            f.flush()
            os.fsync(f.fileno())
        st = src.stat()
        os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))
    except OSError as exc:
        dest.unlink(missing_ok=True)  # our own partial file, never anything that was there before
        raise MotionVideoError(f"cannot write {dest}: {exc.strerror or exc}") from exc
    return dest, mv


# --- XMP ------------------------------------------------------------------------------------------


def _xmp_packets(data: bytes, fmt: str | None) -> list[bytes]:
    if data[:3] == b"\xff\xd8\xff":
        packets, complete = _jpeg_xmp(data)
        if packets or complete:
            return packets
    head = data[:XMP_SEARCH_BYTES]
    if b"<x:xmpmeta" not in head:
        return []
    return [m.group(0) for m in _XMP_PACKET.finditer(head)]


def _jpeg_xmp(data: bytes) -> tuple[list[bytes], bool]:
    """APP1 XMP packets before the scan data, by a walk over segment headers rather than a search of every
    byte; the flag says the walk reached the scan data (so there is no other XMP to look for)."""
    packets: list[bytes] = []
    pos, n = 2, len(data)
    for _ in range(1024):
        if pos + 4 > n or data[pos] != 0xFF:
            return packets, False
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan, end of image: no metadata after this
            return packets, True
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            return packets, False
        if marker == 0xE1 and data.startswith(_XMP_APP1, pos + 4):
            m = _XMP_PACKET.search(data, pos + 4, pos + 2 + length)
            if m:
                packets.append(m.group(0))
        pos += 2 + length
    return packets, False


def _parse_xmp(packet: bytes) -> _Xmp:
    try:
        root = ET.fromstring(packet)
    except ET.ParseError:
        return _Xmp()
    motion = False
    micro_offset = None
    for desc in root.iter(f"{{{_NS_RDF}}}Description"):
        values = _props(desc, _NS_CAMERA)
        if values.get("MotionPhoto") == "1" or values.get("MicroVideo") == "1":
            motion = True
        if values.get("MicroVideo") == "1":
            micro_offset = _int(values.get("MicroVideoOffset"))
    items = []
    for directory in root.iter(f"{{{_NS_CONTAINER}}}Directory"):
        for item in directory.iter(f"{{{_NS_CONTAINER}}}Item"):
            props = _props(item, _NS_ITEM)
            items.append(
                (props.get("Semantic") or "", _int(props.get("Length")) or 0, _int(props.get("Padding")) or 0)
            )
    semantics = tuple(s for s, _, _ in items)
    from_end = None
    if motion:
        for k, (semantic, length, padding) in enumerate(items):
            if semantic == "MotionPhoto" and length > 0:
                after = sum(ln + pad for _, ln, pad in items[k + 1 :])
                from_end = length + padding + after
    return _Xmp(motion, from_end, micro_offset if micro_offset and micro_offset > 0 else None, semantics)


def _props(element: ET.Element, namespace: str) -> dict[str, str]:
    """Properties of one namespace, written as attributes or as child elements (both are valid XMP)."""
    prefix = f"{{{namespace}}}"
    out = {k[len(prefix) :]: v.strip() for k, v in element.attrib.items() if k.startswith(prefix)}
    for child in element:
        if child.tag.startswith(prefix) and child.text and child.text.strip():
            out.setdefault(child.tag[len(prefix) :], child.text.strip())
    return out


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# --- ISO-BMFF boxes ---------------------------------------------------------------------------------


def _box_header(data: bytes, pos: int, limit: int) -> tuple[bytes, int, int] | None:
    """(type, payload start, box end) of the box at ``pos``; the end may lie past ``limit`` (cut short)."""
    if pos + 8 > limit:
        return None
    size, kind = struct.unpack_from(">I4s", data, pos)
    head = 8
    if size == 1:
        if pos + 16 > limit:
            return None
        (size,) = struct.unpack_from(">Q", data, pos + 8)
        head = 16
    elif size == 0:
        size = limit - pos
    if size < head or not _BOX_TYPE.fullmatch(kind):
        return None
    return kind, pos + head, pos + size


def _top_level_box(data: bytes, kind: bytes) -> tuple[int, int] | None:
    """Payload range of the first top-level box of this type in an ISO-BMFF file."""
    pos, n = 0, len(data)
    for _ in range(_MAX_BOXES):
        box = _box_header(data, pos, n)
        if box is None:
            return None
        if box[0] == kind:
            return box[1], min(box[2], n)
        if box[2] <= pos:
            return None
        pos = box[2]
    return None


def _validate(data: bytes, offset: int, limit: int, how: str) -> MotionVideo | None:
    """An MP4 starts at ``offset``: walk its top-level boxes to where it really ends."""
    if offset <= 0 or offset + 16 > limit or data[offset + 4 : offset + 8] != b"ftyp":
        return None
    pos, truncated = offset, False
    for _ in range(_MAX_BOXES):
        box = _box_header(data, pos, limit)
        if box is None or box[0] not in _MP4_TOP_LEVEL:
            break
        end = box[2]
        if end > limit:
            truncated, pos = True, limit
            break
        pos = end
    if pos - offset <= 16:
        return None
    return MotionVideo(offset=offset, length=pos - offset, found_by=how, truncated=truncated)


# --- Samsung SEF trailer -----------------------------------------------------------------------------


def _sef_trailer(data: bytes) -> tuple[int, int] | None:
    """(SEFH position, entry count) of a Samsung trailer ``SEFH version count entries... size SEFT``."""
    if len(data) < 20 or data[-4:] != b"SEFT":
        return None
    (dir_size,) = struct.unpack_from("<I", data, len(data) - 8)
    start = len(data) - 8 - dir_size
    if start < 0 or data[start : start + 4] != b"SEFH":
        return None
    (count,) = struct.unpack_from("<I", data, start + 8)
    if start + 12 + 12 * count > len(data) - 8:
        return None
    return start, count


def _sef_motion_data(data: bytes, sefh: int, count: int) -> list[tuple[int, int]]:
    """Byte ranges that the ``MotionPhoto_Data`` record points at (its payload, or an ``mpv2`` reference)."""
    out = []
    for k in range(count):
        _pad, _kind, back, length = struct.unpack_from("<HHII", data, sefh + 12 + 12 * k)
        start = sefh - back
        if start < 0 or length < 8 or start + length > sefh:
            continue  # offsets of a cut copy point before the file's start
        (name_len,) = struct.unpack_from("<I", data, start + 4)
        name = data[start + 8 : start + 8 + name_len]
        if name != b"MotionPhoto_Data":
            continue
        payload = start + 8 + name_len
        if data[payload : payload + 4] == b"mpv2" and payload + 12 <= sefh:
            offset, size = struct.unpack_from(">II", data, payload + 4)
            out.append((offset, offset + size))
        else:
            out.append((payload, start + length))
    return out
