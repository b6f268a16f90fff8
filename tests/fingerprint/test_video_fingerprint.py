"""The perceptual video fingerprint on the data's real clips and on copies the tests make with PyAV.

Each kind of copy (re-encoded smaller, turned by a display matrix, remuxed, letterboxed, pillarboxed,
another frame rate, another codec) must be the same video as its source; different clips, a mirrored
copy and a much shorter one must not. Generated clips are small (320x240, 2 s) so this stays quick.
"""

from __future__ import annotations

import io
import itertools
import random
from pathlib import Path

import av
import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageOps

from photodedup.evaluate.video_variants import Variant, make_clip, make_variant, remux
from photodedup.fingerprint.video import (
    FRACTIONS,
    POSITIONS,
    VideoFingerprint,
    compare,
    fingerprint_frames,
    live_photo_half,
    video_fingerprint,
)
from photodedup.match.relate import PRESETS, video_lengths_agree
from photodedup.match.videos import close_pairs
from photodedup.media import video as video_mod
from photodedup.media.video import VideoError, sample_frames, video_meta

pillow_heif.register_heif_opener()

MT = "photos-libraries/Test-Media-Types-15.7.2.photoslibrary"
LIVE_MOV = "media/live/IMG_3582.mov"
LIVE_MOV_B = f"{MT}/originals/B/B60C31AC-BE86-42C5-A383-A0A5710B18AE_3.mov"
JELLYFISH = "takeout/Takeout/Google Photos/Photos from 2020/Jellyfish.mov"
TIMELAPSE = "media/video/IMG_3539.MOV"  # 0.57 s, 17 frames, each a different moment
SAMPLE = "media/video/sample.mp4"
# README 3.2 / 3.8: the same 1.07 s clip in other containers and encodings
SAMPLE_COPIES = (
    "media/video/sample.mkv",
    "media/video/sample_fragmented.mp4",
    "media/video/sample_av1.mp4",
    "corrupt/sample_mdat_too_long.mp4",
)
UNRELATED = (SAMPLE, TIMELAPSE, JELLYFISH, LIVE_MOV, LIVE_MOV_B)  # README 3.8
SAME = PRESETS["default"].video


@pytest.fixture(scope="module")
def fingerprints(data_dir: Path) -> dict[str, VideoFingerprint]:
    return {rel: video_fingerprint(data_dir / rel) for rel in {*UNRELATED, *SAMPLE_COPIES}}


def same_video(a: VideoFingerprint, b: VideoFingerprint) -> bool:
    c = compare(a, b)
    return c.distance is not None and c.distance <= SAME and video_lengths_agree(a, b)


# --- the data's real clips ------------------------------------------------------------------------


@pytest.mark.parametrize("rel", SAMPLE_COPIES)
def test_the_sample_clip_in_other_containers_and_codecs_is_the_same_video(fingerprints, rel):
    c = compare(fingerprints[SAMPLE], fingerprints[rel])
    assert c.distance is not None and c.distance <= 1.0, c
    assert same_video(fingerprints[SAMPLE], fingerprints[rel])


def test_unrelated_clips_are_far_apart(fingerprints):
    for a, b in itertools.combinations(UNRELATED, 2):
        c = compare(fingerprints[a], fingerprints[b])
        assert c.distance is not None and c.distance >= 20, (a, b, c)
        assert not same_video(fingerprints[a], fingerprints[b])


def test_frames_come_out_upright(data_dir):
    """The Live Photo's still (upright by its EXIF) is one of its video's frames: with the display matrix
    applied some frame is within a few bits of it; turned any other way, none is."""
    with Image.open(data_dir / "media/live/IMG_3582.HEIC") as im:
        still = ImageOps.exif_transpose(im).convert("L").resize((512, 512), Image.Resampling.BOX)
    (target,), _ = fingerprint_frames([np.asarray(still)])
    assert video_meta(data_dir / LIVE_MOV).rotation == 90  # stored sideways
    frames = sample_frames(data_dir / LIVE_MOV, [k / 20 for k in range(21)], 512).frames
    for turns, expect_close in ((0, True), (1, False), (2, False), (3, False)):
        hashes, _ = fingerprint_frames([np.rot90(f, turns) for f in frames])
        nearest = min((h ^ target).bit_count() for h in hashes)
        assert (nearest <= 4) == expect_close, (turns, nearest)


def test_duration_and_interval_come_from_the_frames(fingerprints):
    jelly = fingerprints[JELLYFISH]
    assert jelly.duration == pytest.approx(2.86, abs=0.02)
    assert jelly.interval == pytest.approx(1 / 24, abs=0.002)
    # the fragmented MP4's header says 0 s; its frames say what the clip lasts
    assert fingerprints["media/video/sample_fragmented.mp4"].duration == pytest.approx(1.0, abs=0.01)


def test_live_photo_halves_are_recognised_and_other_clips_are_not(data_dir):
    assert live_photo_half(video_meta(data_dir / LIVE_MOV))
    assert live_photo_half(video_meta(data_dir / LIVE_MOV_B))
    for rel in (TIMELAPSE, JELLYFISH, SAMPLE):
        assert not live_photo_half(video_meta(data_dir / rel))


# --- generated copies -----------------------------------------------------------------------------

COPIES = {
    "smaller, lower quality": Variant(height=120, options={"crf": "32"}),
    "turned 90 (display matrix)": Variant(rotate=90),
    "turned -90, smaller": Variant(rotate=-90, height=180),
    "letterboxed into a square": Variant(box=(1, 1)),
    "pillarboxed into 21:9": Variant(box=(21, 9)),
    "letterboxed and smaller": Variant(box=(9, 16), height=160),
    "15 fps": Variant(fps=15),
    "24 fps, turned": Variant(fps=24, rotate=180),
    "HEVC": Variant(codec="libx265", options={"crf": "32", "x265-params": "log-level=error"}),
    "MPEG-4 part 2": Variant(codec="mpeg4"),
}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> tuple[Path, VideoFingerprint]:
    path = tmp_path_factory.mktemp("clips") / "source.mp4"
    make_clip(path, seed=0, size=(320, 240))
    return path, video_fingerprint(path)


@pytest.mark.parametrize("name", COPIES)
def test_each_kind_of_copy_is_the_same_video(clip, tmp_path, name):
    src, source = clip
    dst = tmp_path / "copy.mp4"
    make_variant(src, dst, COPIES[name])
    copy = video_fingerprint(dst)
    c = compare(source, copy)
    assert c.distance is not None and c.distance <= 2.0, c  # measured 0-1; the rule allows 6
    assert same_video(source, copy)


@pytest.mark.parametrize(
    ("name", "codec"),
    [("copy.ts", "libx264"), ("copy.avi", "mpeg4"), ("copy.webm", "libvpx"), ("copy.3gp", "mpeg4")],
)
def test_copies_in_other_containers_are_the_same_video(clip, tmp_path, name, codec):
    src, source = clip
    make_variant(src, tmp_path / name, Variant(codec=codec))
    assert same_video(source, video_fingerprint(tmp_path / name))


@pytest.mark.parametrize("container", ["mkv", "mov"])
def test_a_remuxed_copy_has_the_same_frame_hashes(clip, tmp_path, container):
    src, source = clip
    remux(src, tmp_path / f"copy.{container}")
    copy = video_fingerprint(tmp_path / f"copy.{container}")
    assert copy.hashes == source.hashes  # the same packets: the same frames
    assert copy.duration == pytest.approx(source.duration, abs=0.002)  # MKV keeps milliseconds


def test_a_mirrored_copy_is_not_the_same_video(clip, tmp_path):
    src, source = clip
    make_variant(src, tmp_path / "flip.mp4", Variant(hflip=True))
    c = compare(source, video_fingerprint(tmp_path / "flip.mp4"))
    assert c.distance is not None and c.distance >= 20, c


def test_a_trimmed_copy_is_not_the_same_video(clip, tmp_path):
    src, source = clip
    make_variant(src, tmp_path / "trim.mp4", Variant(start=0.6))
    trimmed = video_fingerprint(tmp_path / "trim.mp4")
    assert trimmed.duration == pytest.approx(1.4, abs=0.05)
    assert not video_lengths_agree(source, trimmed)
    assert not same_video(source, trimmed)


def test_different_clips_stay_apart(tmp_path):
    prints = []
    for seed in range(1, 6):
        make_clip(tmp_path / f"{seed}.mp4", seed=seed, size=(320, 240))
        prints.append(video_fingerprint(tmp_path / f"{seed}.mp4"))
    for a, b in itertools.combinations(prints, 2):
        c = compare(a, b)
        assert c.distance is not None and c.distance >= 20, c


# --- very short clips -------------------------------------------------------------------------------


def test_a_short_time_lapse_at_other_frame_rates_is_the_same_video(data_dir, fingerprints, tmp_path):
    """0.57 s where every frame is another moment: 15 fps drops half of them, and the copy ends one
    1/15 s frame later (5.8 % longer). The one-frame length allowance and the mean over the closest
    positions keep it the same video (measured 4.4 at 360p)."""
    source = fingerprints[TIMELAPSE]
    for name, v in {
        "15 fps": Variant(fps=15, height=360, options={"preset": "ultrafast"}),
        "24 fps": Variant(fps=24, height=360, options={"preset": "ultrafast"}),
    }.items():
        make_variant(data_dir / TIMELAPSE, tmp_path / "tl.mp4", v)
        copy = video_fingerprint(tmp_path / "tl.mp4")
        assert copy.duration / source.duration > 1.03 or name == "24 fps"
        assert same_video(source, copy), (name, compare(source, copy))


def test_the_length_rule_allows_one_frame_beyond_five_percent():
    def fp(duration: float, fps: float) -> VideoFingerprint:
        return VideoFingerprint(duration, 1 / fps, (0,) * POSITIONS)

    assert video_lengths_agree(fp(0.567, 30), fp(0.600, 15))  # +5.8 %: within 5 % + 1/15 s
    assert not video_lengths_agree(fp(0.567, 30), fp(0.700, 15))
    assert not video_lengths_agree(fp(0.567, 30), fp(0.633, 30))  # same rate: 5 % + 1/30 s only
    assert video_lengths_agree(fp(60.0, 30), fp(57.5, 30))
    assert not video_lengths_agree(fp(60.0, 30), fp(56.0, 30))


# --- black bars, flat frames ----------------------------------------------------------------------


def _pictures(seed: int, n: int = POSITIONS, shape=(512, 512)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = np.asarray(Image.fromarray(rng.integers(0, 255, (16, 16), np.uint8)).resize(shape[::-1]))
    return [np.clip(base.astype(int) + 3 * k, 30, 255).astype(np.uint8) for k in range(n)]


def _boxed(pictures, top: int, bottom: int, left: int, right: int) -> list[np.ndarray]:
    out = []
    for p in pictures:
        inner = np.asarray(Image.fromarray(p).resize((512 - left - right, 512 - top - bottom)))
        framed = np.zeros((512, 512), np.uint8)
        framed[top : 512 - bottom, left : 512 - right] = inner
        out.append(framed)
    return out


def test_bars_are_cut_before_hashing():
    plain = _pictures(1)
    hashes, content = fingerprint_frames(plain)
    assert content == 1.0
    for box in ((64, 64, 0, 0), (0, 0, 100, 100), (40, 40, 80, 80)):
        boxed_hashes, boxed_content = fingerprint_frames(_boxed(plain, *box))
        t, b, left, r = box
        assert boxed_content == pytest.approx((512 - t - b) * (512 - left - r) / 512**2, abs=0.01)
        assert max((x ^ y).bit_count() for x, y in zip(hashes, boxed_hashes, strict=True)) <= 4, box


def test_a_dark_area_in_some_frames_is_not_a_bar():
    frames = _pictures(2)
    for f in frames[:6]:
        f[:100] = 0  # dark sky in half the frames: still picture
    _, content = fingerprint_frames(frames)
    assert content == 1.0


def test_flat_frames_have_no_hash_and_blank_videos_no_distance():
    frames = _pictures(3)
    frames[0] = np.zeros((512, 512), np.uint8)  # a fade from black
    hashes, _ = fingerprint_frames(frames)
    assert hashes[0] is None and all(h is not None for h in hashes[1:])
    black = VideoFingerprint(2.0, 1 / 30, (None,) * POSITIONS)
    assert compare(black, black).distance is None
    one = VideoFingerprint(2.0, 1 / 30, hashes)
    assert compare(one, black).distance == 32  # pictures against black: as far as unrelated pictures


# --- the decode plan ------------------------------------------------------------------------------


def _every_frame(path: Path, size: int = 512) -> dict[int, np.ndarray]:
    """Reference: decode every frame, no seeking, no skipping."""
    out = {}
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            gray = frame.to_ndarray(width=size, height=size, format="gray", interpolation="AREA")
            turns = round((frame.rotation or 0) / 90) % 4
            out[frame.pts] = np.rot90(gray, turns) if turns else gray
    return out


def _nearest_frames(frames: dict[int, np.ndarray], fractions) -> list[np.ndarray]:
    times = sorted(frames)
    picks = []
    for f in fractions:
        target = times[0] + f * (times[-1] - times[0])
        picks.append(frames[min(times, key=lambda t: (abs(t - target), t))])
    return picks


@pytest.fixture(scope="module")
def long_gop_clip(tmp_path_factory) -> Path:
    """8 s with B-frames and a key frame every 30 frames: seeking and skipping both come into play."""
    path = tmp_path_factory.mktemp("gop") / "gop.mp4"
    src = path.with_name("src.mp4")
    make_clip(src, seed=7, seconds=8.0, size=(160, 120))
    make_variant(src, path, Variant(gop=30, options={"bf": "3", "preset": "medium"}))
    return path


@pytest.mark.parametrize(
    "rel",
    [LIVE_MOV, JELLYFISH, TIMELAPSE, "media/video/sample.mkv", "gop.mp4", "gop.ts", "gop.mkv", "gop.mov"],
)
def test_the_decode_plan_gives_the_frames_a_full_decode_gives(data_dir, long_gop_clip, tmp_path, rel):
    """Seeks and skipped frames change nothing: MP4/MOV seek by their index, MKV by its cues, MPEG-TS
    (camcorder .MTS) by timestamp search, which lands poorly and makes the sampler decode from the start."""
    path = data_dir / rel
    if rel.startswith("gop"):
        path = long_gop_clip
        if not rel.endswith(".mp4"):
            path = tmp_path / rel
            remux(long_gop_clip, path)
    sampled = sample_frames(path, FRACTIONS, 512)
    reference = _nearest_frames(_every_frame(path), FRACTIONS)
    for got, want in zip(sampled.frames, reference, strict=True):
        assert np.array_equal(got, want)


def test_the_decode_plan_skips_most_frames_of_a_long_clip(long_gop_clip):
    sampled = sample_frames(long_gop_clip, FRACTIONS)
    total = len(_every_frame(long_gop_clip, size=16))
    assert total == 240
    assert sampled.decoded < total / 2, sampled.decoded


def test_a_seek_that_lands_past_its_frame_falls_back_to_decoding_from_the_start(long_gop_clip, monkeypatch):
    """A poor index (some MKV, AVI) can put a seek after the wanted frame: the sampler notices and
    decodes from the beginning instead of taking a later frame."""
    reference = sample_frames(long_gop_clip, FRACTIONS)
    real_seek = av.container.InputContainer.seek

    def late_seek(self, offset, *args, **kwargs):  # 1.5 s late (time base 1/15360), past the key frame
        return real_seek(self, offset + 23040 if offset > 0 else offset, *args, **kwargs)

    monkeypatch.setattr(av.container.InputContainer, "seek", late_seek)
    again = sample_frames(long_gop_clip, FRACTIONS)
    assert all(np.array_equal(a, b) for a, b in zip(again.frames, reference.frames, strict=True))
    assert again.decoded > reference.decoded  # it did start over


# --- damaged files --------------------------------------------------------------------------------


def test_a_truncated_video_is_an_error_that_says_so(data_dir):
    words = r"truncated or damaged video: frame data stops at 0\.\d+ s of the 1\.0\d s its header states"
    with pytest.raises(VideoError, match=words):
        video_fingerprint(data_dir / "corrupt/sample_truncated.mp4")


@pytest.mark.parametrize("container", ["mp4", "mkv"])
def test_a_longer_audio_track_is_not_taken_for_missing_video(tmp_path, container):
    """The file lasts as long as its longest stream: 1 s of video with 3 s of sound is whole."""
    path = tmp_path / f"sound.{container}"
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        audio = out.add_stream("aac", rate=48000)
        for k in range(30):
            img = np.full((120, 160, 3), 40 + 4 * k, np.uint8)
            img[k : k + 40, 20 : 60 + k] = 250
            for packet in video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        for i in range(3 * 48000 // 1024):
            sound = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            sound.sample_rate, sound.pts = 48000, i * 1024
            for packet in audio.encode(sound):
                out.mux(packet)
        for packet in audio.encode():
            out.mux(packet)
    with av.open(str(path)) as c:
        assert c.duration / av.time_base > 2.5
    assert video_fingerprint(path).duration == pytest.approx(1.0, abs=0.01)


def test_damaged_data_in_the_middle_gives_a_fingerprint_and_a_warning(clip, tmp_path):
    src, _ = clip
    data = bytearray(src.read_bytes())
    start = data.find(b"mdat") + len(data) // 3
    data[start : start + 200] = random.Random(5).randbytes(200)
    (tmp_path / "hurt.mp4").write_bytes(bytes(data))
    hurt = video_fingerprint(tmp_path / "hurt.mp4")
    assert hurt.warnings and "damaged video data" in hurt.warnings[0]
    assert len(hurt.hashes) == POSITIONS


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"", "empty file"), (b"\x00" * 5000, "damaged or unsupported video"), (None, "still image")],
)
def test_unreadable_files_raise_video_error(data_dir, tmp_path, content, words):
    path = tmp_path / "bad.mp4"
    if content is None:
        path.write_bytes((data_dir / "media/heic/IMG_0102.HEIC").read_bytes())
    else:
        path.write_bytes(content)
    with pytest.raises(VideoError, match=words):
        video_fingerprint(path)


# --- the stored text, the bulk comparison -----------------------------------------------------------


def test_text_form_round_trips_and_other_recipes_are_refused(fingerprints):
    fp = fingerprints[JELLYFISH]
    text = fp.to_text()
    assert text.startswith("v1 ") and len(text.split()) == 4 + POSITIONS
    assert VideoFingerprint.from_text(text) == fp
    assert VideoFingerprint.from_text(text.replace("v1", "v2", 1)) is None
    assert VideoFingerprint.from_text(None) is None and VideoFingerprint.from_text("") is None


def test_close_pairs_are_exactly_the_pairs_compare_accepts():
    rng = random.Random(11)
    base = [rng.getrandbits(64) for _ in range(POSITIONS)]
    prints = []
    for _ in range(60):
        hashes = []
        for h in base if rng.random() < 0.5 else [rng.getrandbits(64) for _ in range(POSITIONS)]:
            if rng.random() < 0.1:
                hashes.append(None)
            else:
                hashes.append(h ^ sum(1 << b for b in rng.sample(range(64), rng.randrange(6))))
        prints.append(VideoFingerprint(rng.choice([1.0, 1.5, 2.0, 3.0, 5.0]), 1 / 30, tuple(hashes)))
    for max_distance, ratio in ((6.0, 0.95), (10.0, 0.5)):
        expect = []
        for i, j in itertools.combinations(range(len(prints)), 2):
            c = compare(prints[i], prints[j])
            if c.distance is not None and c.distance <= max_distance and c.duration_ratio >= ratio:
                expect.append((i, j))
        assert close_pairs(prints, max_distance, ratio) == expect
        assert expect  # the data has close pairs to find


def test_fingerprinting_seeks_instead_of_decoding_everything(monkeypatch, long_gop_clip):
    """Guard the plan's economy: the minimum skip that triggers a seek is what makes long clips cheap."""
    monkeypatch.setattr(video_mod, "_MIN_SKIP", 10**9)
    without = sample_frames(long_gop_clip, FRACTIONS).decoded
    monkeypatch.undo()
    with_seeks = sample_frames(long_gop_clip, FRACTIONS).decoded
    assert with_seeks < without


def test_a_file_object_gives_the_same_fingerprint_as_its_path(data_dir, fingerprints):
    """So that a motion photo's embedded clip can be fingerprinted from memory (README 3.7 offsets)."""
    data = (data_dir / JELLYFISH).read_bytes()
    assert video_fingerprint(io.BytesIO(data)) == fingerprints[JELLYFISH]
    motion = (data_dir / "media/motion/motionphoto.heic").read_bytes()[1_455_411:3_648_870]
    clip = video_fingerprint(io.BytesIO(motion))
    assert clip.duration > 1 and sum(h is not None for h in clip.hashes) >= POSITIONS // 2
