"""Copies of a video changed the ways copies of videos get changed, made with PyAV (no ffmpeg binary).

Re-encoded at another size, quality, codec or frame rate, letterboxed or pillarboxed, stored turned with
a display matrix that turns it back, remuxed into another container, trimmed or mirrored: what the video
fingerprint must see through (or, for the last two, must not call the same video). Used by the tests and
by ``docs/video.md``'s measurements; clips stay small so that making them takes well under a second.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Variant", "make_clip", "make_variant", "remux"]


@dataclass(frozen=True, slots=True)
class Variant:
    """How to change a clip. Sizes are of the picture as displayed (upright)."""

    height: int | None = None  # scale to this displayed height (width follows the aspect, even)
    fps: float | None = None  # another frame rate: frames are dropped or repeated by time
    codec: str = "libx264"  # or libx265, mpeg4, libvpx, libsvtav1
    options: dict[str, str] = field(default_factory=dict)  # encoder options, e.g. {"crf": "32"}
    box: tuple[int, int] | None = None  # pad (black) into this aspect, e.g. (4, 3): letterbox/pillarbox
    rotate: int = 0  # store turned and let the display matrix turn it back (degrees counter-clockwise)
    start: float = 0.0  # drop this many seconds from the start
    seconds: float | None = None  # keep at most this long
    hflip: bool = False
    gop: int | None = None  # key frame interval in frames


def _upright_frames(src: str, max_side: int | None = None):
    """(time in seconds, RGB array upright) for every frame of ``src``."""
    import av

    with av.open(src) as container:
        stream = container.streams.video[0]
        first = None
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            t = float(frame.pts * stream.time_base)
            first = t if first is None else first
            rgb = frame.to_ndarray(format="rgb24")
            turns = round((frame.rotation or 0) / 90) % 4
            if turns:
                rgb = np.ascontiguousarray(np.rot90(rgb, turns))
            yield t - first, rgb


def _even(x: float) -> int:
    return max(2, round(x / 2) * 2)


def _resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    if rgb.shape[1] == width and rgb.shape[0] == height:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BILINEAR))


def _pad(rgb: np.ndarray, aspect: tuple[int, int]) -> np.ndarray:
    h, w, _ = rgb.shape
    target = aspect[0] / aspect[1]
    if w / h > target:  # too wide for the box: bars above and below
        new_h, new_w = _even(w / target), w
    else:
        new_h, new_w = h, _even(h * target)
    out = np.zeros((new_h, new_w, 3), np.uint8)
    top, left = (new_h - h) // 2, (new_w - w) // 2
    out[top : top + h, left : left + w] = rgb
    return out


def make_variant(src: str | os.PathLike[str], dst: str | os.PathLike[str], v: Variant) -> None:
    """Re-encode ``src`` into ``dst`` (the container follows dst's extension) changed as ``v`` says."""
    import av

    frames = [(t, rgb) for t, rgb in _upright_frames(os.fspath(src)) if t >= v.start - 1e-6]
    if not frames:
        raise ValueError(f"{src}: no frame after {v.start} s")
    t0 = frames[0][0]
    frames = [(t - t0, rgb) for t, rgb in frames if v.seconds is None or t - t0 < v.seconds]
    src_rate = (len(frames) - 1) / frames[-1][0] if len(frames) > 1 and frames[-1][0] > 0 else 30.0
    rate = v.fps or src_rate
    if v.fps:  # by time: the latest source frame at each output tick
        length = frames[-1][0] + 1 / src_rate
        ticks = np.arange(0, length - 1e-9, 1 / v.fps)
        times = np.array([t for t, _ in frames])
        frames = [(t, frames[int(np.searchsorted(times, t + 1e-9) - 1)][1]) for t in ticks]
    h, w, _ = frames[0][1].shape
    height = v.height or h
    width = _even(w * height / h)
    height = _even(height)
    with av.open(os.fspath(dst), "w") as out:
        stream = out.add_stream(v.codec, rate=_fraction(rate))
        if v.options:
            stream.options = dict(v.options)
        if v.gop:
            stream.codec_context.gop_size = v.gop
        pictures = []
        for _, rgb in frames:
            pic = _resize(rgb, width, height)
            if v.hflip:
                pic = pic[:, ::-1]
            if v.box:
                pic = _pad(pic, v.box)
            if v.rotate:
                pic = np.rot90(pic, -(v.rotate // 90))  # the display matrix turns it back
            pictures.append(np.ascontiguousarray(pic))
        stream.height, stream.width = pictures[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        if v.rotate:
            stream.set_display_rotation(v.rotate)
        for pic in pictures:
            for packet in stream.encode(av.VideoFrame.from_ndarray(pic, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _fraction(rate: float):
    from fractions import Fraction

    return Fraction(rate).limit_denominator(1001)


def remux(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """The same packets in another container (e.g. MP4 -> MKV, MOV): no picture changes at all."""
    import av

    with av.open(os.fspath(src)) as inp, av.open(os.fspath(dst), "w") as out:
        stream_in = inp.streams.video[0]
        stream_out = out.add_stream_from_template(stream_in)
        for packet in inp.demux(stream_in):
            if packet.dts is None:
                continue
            packet.stream = stream_out
            out.mux(packet)


def make_clip(
    dst: str | os.PathLike[str],
    seed: int,
    *,
    seconds: float = 2.0,
    fps: int = 30,
    size: tuple[int, int] = (160, 120),
    codec: str = "libx264",
) -> None:
    """A synthetic clip with its own look (shapes drifting over a gradient, chosen by ``seed``)."""
    import av

    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    base = (np.cos(angle) * xx / w + np.sin(angle) * yy / h) * 120 + rng.uniform(40, 100)
    blobs = [
        (rng.uniform(0, w), rng.uniform(0, h), rng.uniform(-40, 40), rng.uniform(-30, 30),
         rng.uniform(8, 30), rng.uniform(-120, 120), rng.integers(0, 3))
        for _ in range(6)
    ]  # fmt: skip
    with av.open(os.fspath(dst), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for k in range(round(seconds * fps)):
            t = k / fps
            img = np.repeat(base[:, :, None], 3, axis=2).copy()
            for x0, y0, vx, vy, r, shade, channel in blobs:
                cx, cy = (x0 + vx * t) % w, (y0 + vy * t) % h
                mask = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
                img[mask, channel] += shade
                img[mask] += shade / 3
            frame = av.VideoFrame.from_ndarray(np.clip(img, 0, 255).astype(np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
