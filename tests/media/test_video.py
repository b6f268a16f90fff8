"""video_meta on the real clips of the data set (README 2.2, 2.6, 3.5, 3.8) and on generated ones.

Policy for damaged inputs, as tested below: video_meta reads headers only, so a file whose
header is intact but whose media data is cut (corrupt/sample_truncated.mp4) or overlong
(corrupt/sample_mdat_too_long.mp4) returns the metadata its header claims; frame decoding
is where the damage shows. Files FFmpeg cannot open, stills, and empty files raise VideoError.
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pillow_heif
import pytest
from PIL import Image

from photodedup.media import video as video_mod
from photodedup.media.exif import image_meta
from photodedup.media.video import VideoError, video_meta

pillow_heif.register_heif_opener()

LIB_MT = "photos-libraries/Test-Media-Types-15.7.2.photoslibrary"
LIVE_MOV_B = f"{LIB_MT}/originals/B/B60C31AC-BE86-42C5-A383-A0A5710B18AE_3.mov"
JELLYFISH = "takeout/Takeout/Google Photos/Photos from 2020/Jellyfish.mov"
SAMPLE_CLIP = (
    "media/video/sample.mp4",
    "media/video/sample.mkv",
    "media/video/sample_fragmented.mp4",
    "media/video/sample_av1.mp4",
)


# --- Live Photo halves and iPhone clips ---------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "content_id", "duration"),
    [
        ("media/live/IMG_3582.mov", "602FEBB7-6B59-4799-96E6-9C8484D873C7", 1.91),
        (LIVE_MOV_B, "ED2A2552-C906-486E-9DA5-17DABDF672A7", 1.80),
    ],
)
def test_live_photo_video(data_dir: Path, rel: str, content_id: str, duration: float) -> None:
    meta = video_meta(data_dir / rel)
    assert meta.content_id == content_id
    assert (meta.make, meta.model) == ("Apple", "iPhone 15 Pro")
    assert (meta.width, meta.height, meta.codec) == (1920, 1440, "hevc")
    assert meta.rotation == 90
    assert meta.duration == pytest.approx(duration, abs=0.01)
    assert meta.created_at is not None and meta.created_at.endswith("-05:00")


@pytest.mark.parametrize(
    ("still", "mov"),
    [
        ("media/live/IMG_3582.HEIC", "media/live/IMG_3582.mov"),
        (f"{LIB_MT}/originals/B/B60C31AC-BE86-42C5-A383-A0A5710B18AE.heic", LIVE_MOV_B),
    ],
)
def test_live_pair_ids_match_between_still_and_video(data_dir: Path, still: str, mov: str) -> None:
    with Image.open(data_dir / still) as im:
        still_id = image_meta(im.getexif()).content_id
    assert still_id is not None
    assert video_meta(data_dir / mov).content_id == still_id


def test_time_lapse_mov(data_dir: Path) -> None:
    meta = video_meta(data_dir / "media/video/IMG_3539.MOV")
    assert meta.duration == pytest.approx(0.57, abs=0.01)
    assert (meta.width, meta.height, meta.codec, meta.rotation) == (1920, 1080, "h264", 90)
    assert (meta.make, meta.model) == ("Apple", "iPhone 5")
    assert meta.created_at == "2016-01-18T15:20:40-07:00"  # local capture time, not the UTC mvhd date
    assert meta.content_id is None


def test_takeout_mov_without_camera(data_dir: Path) -> None:
    meta = video_meta(data_dir / JELLYFISH)
    assert meta.duration == pytest.approx(2.86, abs=0.01)
    assert (meta.width, meta.height, meta.codec, meta.rotation) == (640, 360, "h264", 0)
    assert meta.created_at == "2020-01-05T14:13:13-08:00"
    assert meta.make is None and meta.model is None and meta.content_id is None


# --- one clip, four encodings -------------------------------------------------------------------


@pytest.mark.parametrize("rel", SAMPLE_CLIP)
def test_sample_clip_in_every_container(data_dir: Path, rel: str) -> None:
    meta = video_meta(data_dir / rel)
    assert meta.duration == pytest.approx(1.07, abs=0.03)
    assert (meta.width, meta.height, meta.rotation) == (1080, 720, 0)
    assert meta.fps == pytest.approx(29.97, abs=0.1)
    assert meta.content_id is None


def test_codec_names_are_codecs_not_decoders(data_dir: Path) -> None:
    assert video_meta(data_dir / "media/video/sample_av1.mp4").codec == "av1"  # decoder is libdav1d
    assert video_meta(data_dir / "media/video/sample.mkv").codec == "h264"


def test_fragmented_mp4_has_a_duration(data_dir: Path) -> None:
    """exiftool shows 0 s for its moov; the duration must come from the fragments."""
    meta = video_meta(data_dir / "media/video/sample_fragmented.mp4")
    assert meta.duration and meta.duration > 1.0


def test_sample_created_at_is_utc(data_dir: Path) -> None:
    assert video_meta(data_dir / "media/video/sample.mp4").created_at == "2016-05-31T17:01:35+00:00"


# --- damaged and wrong inputs -------------------------------------------------------------------


def test_truncated_mp4_returns_header_metadata(data_dir: Path) -> None:
    meta = video_meta(data_dir / "corrupt/sample_truncated.mp4")
    assert meta.duration == pytest.approx(1.07, abs=0.01)  # what moov claims, not what is decodable
    assert (meta.width, meta.height, meta.codec) == (1080, 720, "h264")


def test_overlong_mdat_reads_like_the_original(data_dir: Path) -> None:
    damaged = video_meta(data_dir / "corrupt/sample_mdat_too_long.mp4")
    original = video_meta(data_dir / "media/video/sample.mp4")
    assert damaged.duration == pytest.approx(original.duration)
    assert (damaged.width, damaged.height, damaged.codec, damaged.fps, damaged.rotation) == (
        original.width,
        original.height,
        original.codec,
        original.fps,
        original.rotation,
    )


@pytest.mark.parametrize(
    ("rel", "words"),
    [
        ("corrupt/empty.jpg", "empty file"),
        ("corrupt/not_an_image.jpg", "not a video"),
        ("corrupt/sample_still_photo_heic_bytes.jpg", "HEIF still image"),
        ("corrupt/sample_still_photo_truncated.heic", "HEIF still image"),
        ("corrupt/maximum_contrast_png_bytes.jpg", "PNG still image"),
        ("corrupt/ukbench00120_truncated.jpg", "JPEG still image"),
        ("near-duplicates/imagededup/mixed_images/ukbench09268_corrupt.jpg", "not a video"),
        ("media/motion/motionphoto.heic", "still image"),  # FFmpeg would call it a 1-frame video
        ("README.md", "damaged or unsupported video"),
    ],
)
def test_unreadable_inputs_raise_video_error(data_dir: Path, rel: str, words: str) -> None:
    with pytest.raises(VideoError, match=words):
        video_meta(data_dir / rel)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="does not exist"):
        video_meta(tmp_path / "nope.mov")
    with pytest.raises(VideoError, match="cannot read file: Is a directory"):
        video_meta(tmp_path)


def test_random_bytes_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(3).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError):
        video_meta(path)


def test_header_only_mp4_prefix(data_dir: Path, tmp_path: Path) -> None:
    """Only ftyp + part of moov: FFmpeg cannot open it."""
    path = tmp_path / "cut.mp4"
    path.write_bytes((data_dir / "media/video/sample.mp4").read_bytes()[:600])
    with pytest.raises(VideoError, match="damaged or unsupported video: Invalid data"):
        video_meta(path)


# --- rotation -----------------------------------------------------------------------------------


def _encode(path: Path, ccw_degrees: int) -> None:
    """A 5-frame 64x48 clip whose display matrix says: turn ccw_degrees counter-clockwise."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.set_display_rotation(ccw_degrees)
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 40, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.mark.parametrize(
    ("name", "ccw", "clockwise"),
    [("a.mp4", 90, 270), ("b.mp4", -90, 90), ("c.mov", 180, 180), ("d.mov", 0, 0), ("e.mkv", -90, 90)],
)
def test_generated_rotations(tmp_path: Path, name: str, ccw: int, clockwise: int) -> None:
    path = tmp_path / name
    _encode(path, ccw)
    meta = video_meta(path)
    assert meta.rotation == clockwise
    assert (meta.width, meta.height) == (64, 48)
    assert meta.duration == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize(
    "rel",
    ["media/live/IMG_3582.mov", LIVE_MOV_B, "media/video/IMG_3539.MOV", JELLYFISH, *SAMPLE_CLIP],
)
def test_rotation_agrees_with_ffmpeg_frame(data_dir: Path, rel: str) -> None:
    """The tkhd box walk must say what FFmpeg attaches to decoded frames."""
    with av.open(str(data_dir / rel)) as container:
        frame = next(container.decode(video=0))
    assert video_meta(data_dir / rel).rotation == (-frame.rotation) % 360


def test_mp4_and_mov_decode_no_frame(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decode(*args: object) -> int:
        raise AssertionError("decoded a frame for an MP4/MOV")

    monkeypatch.setattr(video_mod, "_frame_rotation", no_decode)
    for rel in ("media/live/IMG_3582.mov", "media/video/IMG_3539.MOV", "media/video/sample_fragmented.mp4"):
        assert video_meta(data_dir / rel).rotation is not None


# --- fallbacks with stand-in containers ---------------------------------------------------------


class _Packet:
    def __init__(self, pts: int | None, duration: int = 0) -> None:
        self.pts, self.duration = pts, duration


class _Stream:
    def __init__(self) -> None:
        self.duration = None
        self.frames = 0
        self.time_base = Fraction(1, 1000)
        self.average_rate = Fraction(1000)  # what MKV headers without DefaultDuration give
        self.guessed_rate = Fraction(60)


class _Container:
    def __init__(self, packets: list[_Packet]) -> None:
        self.duration = 0  # a fragmented MP4 whose moov says 0
        self.packets = packets

    def seek(self, offset: int) -> None:
        pass

    def demux(self, stream: object):
        return iter(self.packets)


def test_duration_and_fps_fall_back_to_packet_timestamps() -> None:
    # 30 frames with millisecond-rounded timestamps, as MKV stores them; B-frame order shuffled
    pts = [round(i * 1000 / 29.97) for i in range(30)]
    order = [pts[0], *(p for i in range(1, 29, 2) for p in (pts[i + 1], pts[i])), pts[29]]
    assert sorted(order) == pts
    container, stream = _Container([_Packet(p, 33) for p in order] + [_Packet(None)]), _Stream()
    fps = video_mod._fps(container, stream)
    assert fps == pytest.approx(29.97, abs=0.1)
    assert video_mod._duration(container, stream, fps) == pytest.approx((pts[-1] + 33) / 1000)


def test_duration_unknown_when_nothing_says() -> None:
    assert video_mod._duration(_Container([]), _Stream(), None) is None


# --- cost ---------------------------------------------------------------------------------------


def test_live_mov_metadata_is_cheap(data_dir: Path) -> None:
    path = data_dir / "media/live/IMG_3582.mov"
    video_meta(path)  # warm the page cache
    start = time.perf_counter()
    for _ in range(5):
        video_meta(path)
    per_call = (time.perf_counter() - start) / 5
    assert per_call < 0.05, f"{per_call * 1e3:.1f} ms per Live MOV"
