"""Fingerprint the video inside a motion photo as a video: its digest, what its container says, and its
perceptual video fingerprint (``fingerprint.video``, the same recipe as for a video file).

The still is fingerprinted as a photo by the caller; this only adds the clip, so a motion photo matches the
same still without its video (the still decides) and its clip matches the same video as a file (an
``extract-video`` output, a re-encoded export). A clip that cannot be read never costs the still its
fingerprints: the reason is recorded and the scan goes on.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable

from blake3 import blake3

from photodedup._types import EmbeddedVideo
from photodedup.fingerprint.video import NOT_FINGERPRINTED

__all__ = ["embedded_video"]


def embedded_video(
    data: bytes,
    fmt: str | None,
    fingerprint: bool = True,
    known_clip: Callable[[str], str | None] | None = None,
) -> EmbeddedVideo | None:
    """The clip of a motion photo, fingerprinted; None when ``data`` is not a motion photo.

    ``fingerprint=False`` leaves out the perceptual fingerprint (it costs a decode of most of the clip's
    frames: docs/formats.md). ``known_clip(blake3)`` returns a stored fingerprint of the same clip bytes
    (another copy of the photo, the clip extracted to a file), so the clip is decoded once per content.
    """
    from photodedup.media.motion import find_motion_video

    mv = find_motion_video(data, fmt)
    if mv is None:
        return None
    view = memoryview(data)
    clip = view[mv.offset : mv.end]
    digest = blake3(clip).hexdigest()
    meta, error = _container_meta(clip)
    video_hash, warnings = None, ()
    if fingerprint:
        video_hash = known_clip(digest) if known_clip is not None else None
        if video_hash is None and error is None:
            video_hash, warnings, error = _clip_fingerprint(clip)
        elif video_hash is None:
            video_hash = NOT_FINGERPRINTED  # its container cannot be read: no decode can do better
    return EmbeddedVideo(
        offset=mv.offset,
        length=mv.length,
        found_by=mv.found_by,
        blake3=digest,
        still_blake3=blake3(view[: mv.offset]).hexdigest(),
        truncated=mv.truncated,
        meta=meta,
        error=error,
        video_hash=video_hash,
        warnings=warnings,
    )


def _container_meta(clip: memoryview):
    """What the clip's container says, and why it cannot be read when it cannot.

    ``video_meta`` walks MP4 boxes in a file, so the clip goes to a private temporary file for the moment
    it is read (a few MB at most; the photo itself is never touched)."""
    from photodedup.media.video import VideoError, video_meta

    fd, tmp = tempfile.mkstemp(prefix="photodedup-motion-", suffix=".mp4")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(clip)
        try:
            return video_meta(tmp), None
        except VideoError as exc:
            return None, f"the motion photo's video cannot be read: {exc}"
    finally:
        os.unlink(tmp)


def _clip_fingerprint(clip: memoryview) -> tuple[str, tuple[str, ...], str | None]:
    """(fingerprint text, warnings, error) of the clip, decoded from memory. Any failure, expected or
    not, is a sentence and a "-": the still's fingerprints must survive whatever the clip holds."""
    from photodedup.fingerprint.video import video_fingerprint
    from photodedup.media.video import VideoError

    try:
        vf = video_fingerprint(io.BytesIO(clip))  # the recipe of video files, so the two compare as equals
    except VideoError as exc:
        return NOT_FINGERPRINTED, (), f"the motion photo's video cannot be fingerprinted: {exc}"
    except Exception as exc:  # a decoder failure nobody foresaw must not lose the still
        reason = f"{type(exc).__name__}: {exc}"
        return NOT_FINGERPRINTED, (), f"the motion photo's video cannot be fingerprinted: {reason}"
    return vf.to_text(), tuple(f"the motion photo's video: {w}" for w in vf.warnings), None
