"""Read what a video container says about itself, without decoding the picture.

Duration, size and rotation feed the video near-duplicate check (frames must be sampled
upright and at matching relative positions); the QuickTime content identifier pairs a Live
Photo MOV with its still. Everything comes from container headers through PyAV. Rotation
is read from the MP4/MOV ``tkhd`` matrix by a small box walk, because PyAV 18 exposes the
display matrix only on decoded frames; other containers decode one frame to learn it.
"""

from __future__ import annotations

import bisect
import math
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from itertools import pairwise
from typing import Any, BinaryIO

import av

from photodedup._types import VideoMeta
from photodedup.media.sniff import SNIFF_BYTES, media_type_of, sniff_format

__all__ = ["SampledFrames", "VideoError", "sample_frames", "video_meta"]

_CONTENT_ID_KEY = "com.apple.quicktime.content.identifier"
_MAKE_KEYS = ("com.apple.quicktime.make", "make", "com.android.manufacturer")
_MODEL_KEYS = ("com.apple.quicktime.model", "model", "com.android.model")
# Capture time with the camera's UTC offset first; creation_time is UTC and is often
# rewritten by exports and edits.
_DATE_KEYS = ("com.apple.quicktime.creationdate", "creation_time", "date")
_MAX_FPS = 480.0  # above this a container "rate" is really its time base (seen in MKV)
_FPS_SAMPLE_PACKETS = 64
_ISO_BMFF_FORMATS = ("mov", "mp4")  # PyAV format names are "mov,mp4,m4a,3gp,3g2,mj2"
# Matrix position in the payload of (mvhd?, version): mvhd = version/flags, times, timescale,
# duration, rate(4), volume(2), reserved(10); tkhd = version/flags, times, track id,
# reserved(4), duration, reserved(8), layer(2), group(2), volume(2), reserved(2).
_MATRIX_OFFSET = {(True, 0): 36, (True, 1): 48, (False, 0): 40, (False, 1): 52}
_MAX_BOXES = 4096  # bounds the walk on corrupt box sizes


class VideoError(Exception):
    """The file cannot be read as a video; the message is a short phrase for the report.

    Like ``DecodeError`` it does not repeat the path, which the report shows next to it.
    """


def video_meta(path: str | os.PathLike[str]) -> VideoMeta:
    """Return container facts about the video at ``path``.

    Reads headers only: no frame is decoded for MP4/MOV (rotation comes from the ``tkhd``
    box), at most one for other containers. A file whose header is intact but whose data
    is cut (e.g. a truncated upload) still returns the durations the header claims;
    decoding frames is what finds the damage. Raises :class:`VideoError` when the file is
    missing, empty, a still image, unreadable by FFmpeg, or holds no video stream.
    """
    name = os.fspath(path)
    container = _open(name)
    with container:
        demuxer = container.format.name
        stream = container.streams.video[0]
        meta = {k.lower(): v for k, v in (container.metadata or {}).items()}
        stream_meta = {k.lower(): v for k, v in (stream.metadata or {}).items()}
        fps = _fps(container, stream)
        rotation = None
        if any(f in demuxer.split(",") for f in _ISO_BMFF_FORMATS):
            rotation = _mp4_rotation(name, stream.id)
        if rotation is None:
            rotation = _frame_rotation(container, stream)
        return VideoMeta(
            duration=_duration(container, stream, fps),
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            rotation=rotation,
            codec=_codec_name(stream),
            fps=round(fps, 3) if fps else None,
            created_at=_created_at(meta, stream_meta),
            make=_first(meta, _MAKE_KEYS),
            model=_first(meta, _MODEL_KEYS),
            content_id=_content_id(meta.get(_CONTENT_ID_KEY)),
        )


@dataclass(frozen=True, slots=True)
class SampledFrames:
    """Small upright grey pictures of a video at given fractions of its length.

    ``span`` is the time from the first to the last frame and ``interval`` the median time
    between frames: together a duration that, unlike the container's, does not depend on how
    long the muxer says the last frame lasts (a 15 fps copy of a 0.57 s clip reads 0.67 s).
    """

    span: float  # seconds
    interval: float  # seconds
    frames: list  # one (size, size) uint8 array per fraction, display rotation applied
    decoded: int  # frames the decoder produced (for the benchmark and tests)
    rejected: int = 0  # packets the decoder refused (damaged data it could step over)


# A decoder may drop a frame we asked for (open-GOP leading pictures after a seek): the next
# one stands in for it. Seek only when it skips this many frames or more.
_MIN_SKIP = 8
# The header's length may exceed the frames (a cut file) by this much before it counts as damage.
_TRUNCATED_SLACK = 0.25
_MAX_PACKET_ERRORS = 50


def sample_frames(
    path: str | os.PathLike[str] | BinaryIO, fractions: Sequence[float], size: int = 128
) -> SampledFrames:
    """Decode the frames nearest to ``fractions`` (0..1) of the span between first and last frame.

    Only the frames needed are decoded: one demux pass lists every frame's time and the key
    frames; then each wanted frame is reached from the key frame before it (a seek, when that
    skips frames), with frames nobody references left undecoded (``skip_frame``) unless wanted.
    Each is scaled by FFmpeg to ``size`` x ``size`` grey and turned by its display matrix.
    ``path`` may also be a seekable binary file (a motion photo's embedded clip, as a BytesIO).
    Raises :class:`VideoError` for unreadable, damaged or truncated videos.
    """
    container = _open(path if hasattr(path, "read") else os.fspath(path))
    with container:
        stream = container.streams.video[0]
        times, keys = _frame_index(container, stream)
        if not times:
            raise VideoError("damaged video: no frame data in the file")
        tb = float(stream.time_base or 0) or 1.0
        span = (times[-1] - times[0]) * tb
        interval = _median_step(times) * tb
        header = _stream_seconds(container, stream) or 0.0
        if header - (span + interval) > max(_TRUNCATED_SLACK * header, 2 * interval):
            raise VideoError(
                f"truncated or damaged video: frame data stops at {span + interval:.2f} s"
                f" of the {header:.2f} s its header states"
            )
        wanted = [_nearest(times, times[0] + f * (times[-1] - times[0])) for f in fractions]
        got, decoded, rejected = _decode_at(container, stream, sorted(set(wanted)), keys, times, size)
    if len(got) < len(set(wanted)):
        last = max(got, default=None)
        where = f"after {(last - times[0]) * tb:.2f} s" if last is not None else "at all"
        raise VideoError(f"damaged video: frames cannot be decoded {where} ({span + interval:.2f} s long)")
    frames = [got[w] for w in wanted]
    return SampledFrames(span=span, interval=interval, frames=frames, decoded=decoded, rejected=rejected)


def _stream_seconds(container: Any, stream: Any) -> float | None:
    """How long the header says the video stream lasts: its own duration (MP4/MOV), its DURATION tag
    (MKV), or the file's when it holds nothing else; None when unknown (an audio track may be longer)."""
    if stream.duration and stream.duration > 0 and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = {k.upper(): v for k, v in (stream.metadata or {}).items()}.get("DURATION", "")
    try:
        hours, minutes, seconds = tag.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        pass
    if len(container.streams) == 1 and container.duration and container.duration > 0:
        return container.duration / av.time_base
    return None


def _frame_index(container: Any, stream: Any) -> tuple[list[int], list[int]]:
    """Presentation times of every frame (sorted) and of the key frames, from one demux pass.

    Packets without a timestamp are numbered as if they were frames of a constant rate stream.
    """
    times: list[int] = []
    keys: list[int] = []
    try:
        for packet in container.demux(stream):
            if not packet.size:
                continue
            t = packet.pts if packet.pts is not None else packet.dts
            if t is None:
                t = times[-1] + 1 if times else 0
            times.append(t)
            if packet.is_keyframe:
                keys.append(t)
    except av.FFmpegError:
        pass  # a cut or damaged tail: the frames before it still count (checked against the header)
    times.sort()
    keys.sort()
    return times, keys


def _median_step(times: list[int]) -> float:
    steps = sorted(b - a for a, b in pairwise(times) if b > a)
    return float(steps[len(steps) // 2]) if steps else 0.0


def _nearest(times: list[int], target: float) -> int:
    k = bisect.bisect_left(times, target)
    if k == 0:
        return times[0]
    if k == len(times):
        return times[-1]
    before, after = times[k - 1], times[k]
    return before if target - before <= after - target else after


def _decode_at(
    container: Any, stream: Any, wanted: list[int], keys: list[int], times: list[int], size: int
) -> tuple[dict[int, Any], int, int]:
    """The frames at the times in ``wanted`` (sorted) as small grey arrays, how many frames were decoded
    and how many packets the decoder refused.

    Goes forward from the key frame before each wanted frame, seeking when that skips at least
    ``_MIN_SKIP`` frames. If a seek lands past its frame (a poor index) it starts over from the
    beginning without seeking. A packet the decoder rejects is passed over (the decoder picks up
    at the next key frame); a wanted frame that never comes out is replaced by the next one.
    """
    ctx = stream.codec_context
    wanted_set = set(wanted)
    position = {t: k for k, t in enumerate(times)}
    got: dict[int, Any] = {}
    decoded = errors = 0
    i = 0
    seeking = True
    sought = None  # the key frame of the last seek: never sought twice (an index that lands early)
    while i < len(wanted):
        start = _key_before(keys, wanted[i]) if seeking else None
        try:
            if start is None or start == keys[0]:
                container.seek(0)  # the beginning, however the file's timestamps start
                start = None
            else:
                container.seek(start, stream=stream)
        except av.FFmpegError:
            if not seeking:
                break
            seeking = False
            continue
        sought = start
        just_sought = start is not None
        jump = False
        for packet in container.demux(stream):
            ctx.skip_frame = "NONREF" if packet.size and packet.pts not in wanted_set else "DEFAULT"
            try:
                frames = packet.decode()
            except av.FFmpegError:
                errors += 1
                if errors > _MAX_PACKET_ERRORS:
                    break
                continue
            for frame in frames:
                decoded += 1
                t = frame.pts
                if t is None:
                    continue
                if just_sought and t > wanted[i]:
                    seeking = False  # landed past the frame: start over from the beginning
                    jump = True
                    break
                just_sought = False
                while i < len(wanted) and wanted[i] <= t:
                    got[wanted[i]] = _small(frame, size)
                    i += 1
                if i == len(wanted):
                    ctx.skip_frame = "DEFAULT"
                    return got, decoded, errors
                ahead = _key_before(keys, wanted[i])
                skip = position.get(ahead, 0) - position.get(t, 0) if ahead is not None else 0
                if seeking and ahead != sought and skip >= _MIN_SKIP:
                    jump = True
                    break
            if jump:
                break
        ctx.skip_frame = "DEFAULT"
        if not jump and just_sought and seeking:
            seeking = False  # nothing came out after the seek (a demuxer that seeks poorly): from the start
            continue
        if not jump:
            break  # end of the stream
    return got, decoded, errors


def _key_before(keys: list[int], t: int) -> int | None:
    k = bisect.bisect_right(keys, t)
    return keys[k - 1] if k else None


def _small(frame: Any, size: int) -> Any:
    """(size, size) grey, turned upright: FFmpeg's rotation is counter-clockwise degrees."""
    import numpy as np

    gray = frame.to_ndarray(width=size, height=size, format="gray", interpolation="AREA")
    turns = round((frame.rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(gray, turns)) if turns else gray


def _open(name: str | BinaryIO) -> Any:
    """The container, checked to hold a video stream with a picture size (VideoError otherwise)."""
    try:
        if isinstance(name, str):
            with open(name, "rb") as f:
                head = f.read(SNIFF_BYTES)
        else:
            head = name.read(SNIFF_BYTES)
            name.seek(0)
    except FileNotFoundError as exc:
        raise VideoError("video file does not exist") from exc
    except OSError as exc:
        raise VideoError(f"cannot read file: {_reason(exc)}") from exc
    if not head:
        raise VideoError("empty file (0 bytes)")
    # FFmpeg happily opens stills (JPEG, PNG, HEIC) as one-frame "videos": refuse them here.
    fmt = sniff_format(head)
    if media_type_of(fmt) == "image":
        raise VideoError(f"not a video: the content is a {fmt} still image")
    try:
        container = av.open(name, metadata_errors="replace")
    except Exception as exc:
        raise VideoError(f"damaged or unsupported video: {_reason(exc)}") from exc
    demuxer = container.format.name
    problem = None
    if demuxer == "image2" or demuxer.endswith("_pipe"):
        problem = f"not a video: FFmpeg only finds a still image in it ({demuxer})"
    elif not container.streams.video:
        problem = "no video stream in the file"
    elif not (ctx := container.streams.video[0].codec_context).width or not ctx.height:
        problem = "damaged video: the stream has no readable picture size"
    if problem:
        container.close()
        raise VideoError(problem)
    return container


def _reason(exc: Exception) -> str:
    """FFmpeg's own words ("Invalid data found when processing input") without errno noise."""
    text = getattr(exc, "strerror", None) or str(exc)
    return text.strip().rstrip(".") or type(exc).__name__


def _first(meta: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = (meta.get(key) or "").replace("\x00", " ").strip()
        if value:
            return value
    return None


def _content_id(value: str | None) -> str | None:
    value = (value or "").strip()
    return value.upper() if value else None


def _created_at(meta: dict[str, str], stream_meta: dict[str, str]) -> str | None:
    """ISO 8601 capture time; None for the 1904/1970 epoch that unset QuickTime dates show."""
    for source in (meta, stream_meta):
        for key in _DATE_KEYS:
            raw = (source.get(key) or "").strip()
            if not raw:
                continue
            try:
                dt = datetime.fromisoformat(raw)
            except ValueError:
                continue
            if dt.year <= 1970:
                continue
            return dt.replace(microsecond=0).isoformat()
    return None


def _codec_name(stream: Any) -> str | None:
    """The codec ("h264", "hevc", "av1"), not the decoder library that PyAV picked."""
    try:
        return stream.codec_context.codec.canonical_name or stream.codec_context.name
    except Exception:
        return None


def _rate(value: Fraction | None) -> float | None:
    if value is None or value <= 0:
        return None
    rate = float(value)
    return rate if rate <= _MAX_FPS else None


def _fps(container: Any, stream: Any) -> float | None:
    """Average frame rate; when the header's is missing or bogus, from packet timestamps."""
    rate = _rate(stream.average_rate)
    if rate:
        return rate
    pts = []
    try:
        for packet in container.demux(stream):
            if packet.pts is not None:
                pts.append(packet.pts)
            if len(pts) >= _FPS_SAMPLE_PACKETS:
                break
        container.seek(0)
    except Exception:
        pass
    if len(pts) >= 2 and stream.time_base:
        pts.sort()
        span = (pts[-1] - pts[0]) * stream.time_base
        if span > 0:
            rate = _rate(Fraction(len(pts) - 1) / span)
            if rate:
                return rate
    return _rate(stream.guessed_rate)


def _duration(container: Any, stream: Any, fps: float | None) -> float | None:
    """Seconds: container header, else stream header, else frame count, else packet timestamps.

    Fragmented MP4 keeps a zero duration in ``moov``; FFmpeg usually recovers it from the
    fragments, and the packet walk (demux only, no decode) covers the rest.
    """
    if container.duration and container.duration > 0:
        return container.duration / av.time_base
    if stream.duration and stream.duration > 0 and stream.time_base:
        return float(stream.duration * stream.time_base)
    if stream.frames and fps:
        return stream.frames / fps
    first = last = None
    try:
        container.seek(0)
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            end = packet.pts + (packet.duration or 0)
            first = packet.pts if first is None else min(first, packet.pts)
            last = end if last is None else max(last, end)
    except Exception:
        pass
    if first is None or last is None or last <= first or not stream.time_base:
        return None
    return float((last - first) * stream.time_base)


def _frame_rotation(container: Any, stream: Any) -> int | None:
    """Clockwise display rotation from the first decoded frame (non-MP4 containers only)."""
    try:
        container.seek(0)
        frame = next(container.decode(stream), None)
    except Exception:
        return None
    if frame is None:
        return None
    return (-int(frame.rotation)) % 360


# --- MP4/MOV box walk -------------------------------------------------------------------------


def _mp4_rotation(path: str, track_id: int) -> int | None:
    """Clockwise degrees from the video track's ``tkhd`` matrix (times the ``mvhd`` one).

    Reads only box headers and two small boxes, so it costs a few file seeks regardless of
    the video's length. Returns None when the boxes cannot be found (e.g. compressed moov).
    """
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            moov = _find(f, 0, size, b"moov")
            if moov is None:
                return None
            movie = _matrix_of(f, _find(f, *moov, b"mvhd"), movie=True)
            chosen = None
            for trak in _boxes(f, *moov):
                if trak[0] != b"trak":
                    continue
                mdia = _find(f, trak[1], trak[2], b"mdia")
                hdlr = _find(f, *mdia, b"hdlr") if mdia else None
                if hdlr is None or _read(f, hdlr[0] + 8, 4) != b"vide":
                    continue
                tkhd = _find(f, trak[1], trak[2], b"tkhd")
                if tkhd is None:
                    continue
                if chosen is None or _track_id(f, tkhd) == track_id:
                    chosen = tkhd
                    if _track_id(f, tkhd) == track_id:
                        break
            if chosen is None:
                return None
            track = _matrix_of(f, chosen, movie=False)
    except (OSError, struct.error, ValueError):
        return None
    if track is None:
        return None
    a, b, c, d = track
    if movie is not None:  # FFmpeg applies track matrix, then movie matrix
        ma, mb, mc, md = movie
        a, b, c, d = a * ma + b * mc, a * mb + b * md, c * ma + d * mc, c * mb + d * md
    # av_display_rotation_get(), sign flipped: FFmpeg reports counter-clockwise degrees
    scale0, scale1 = math.hypot(a, c), math.hypot(b, d)
    if scale0 == 0 or scale1 == 0:
        return None
    return round(math.degrees(math.atan2(b / scale1, a / scale0))) % 360


def _boxes(f: BinaryIO, start: int, end: int):
    """Yield (type, payload_start, payload_end) for the boxes in [start, end)."""
    pos = start
    for _ in range(_MAX_BOXES):
        if pos + 8 > end:
            return
        header = _read(f, pos, 16)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header[:8])
        head_len = 8
        if size == 1:
            if len(header) < 16:
                return
            (size,) = struct.unpack(">Q", header[8:16])
            head_len = 16
        elif size == 0:
            size = end - pos
        if size < head_len:
            return
        yield kind, pos + head_len, min(pos + size, end)  # a box cut short still yields its head
        pos += size


def _find(f: BinaryIO, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for box_kind, payload_start, payload_end in _boxes(f, start, end):
        if box_kind == kind:
            return payload_start, payload_end
    return None


def _read(f: BinaryIO, pos: int, n: int) -> bytes:
    f.seek(pos)
    return f.read(n)


def _track_id(f: BinaryIO, tkhd: tuple[int, int]) -> int:
    version = _read(f, tkhd[0], 1)
    return struct.unpack(">I", _read(f, tkhd[0] + (20 if version == b"\x01" else 12), 4))[0]


def _matrix_of(f: BinaryIO, box: tuple[int, int] | None, movie: bool) -> tuple[float, ...] | None:
    """The 2x2 rotation/scale part (a, b, c, d) of an mvhd or tkhd matrix."""
    if box is None:
        return None
    version = 1 if _read(f, box[0], 1) == b"\x01" else 0
    offset = _MATRIX_OFFSET[movie, version]
    raw = _read(f, box[0] + offset, 36)
    if len(raw) < 36 or box[0] + offset + 36 > box[1]:
        return None
    a, b, _u, c, d, _v = struct.unpack(">6i", raw[:24])
    return a / 65536, b / 65536, c / 65536, d / 65536
