"""Fingerprint the video inside a motion photo as a video: its digest, what its container says, and (when
fingerprint/video.py provides one) its perceptual video fingerprint.

The still is fingerprinted as a photo by the caller; this only adds the clip, so a motion photo matches the
same still without its video (the still decides) and its clip can be told apart or matched as a video.
"""

from __future__ import annotations

import os
import tempfile

from blake3 import blake3

from photodedup._types import EmbeddedVideo

__all__ = ["embedded_video"]


def embedded_video(data: bytes, fmt: str | None) -> EmbeddedVideo | None:
    """The clip of a motion photo, fingerprinted; None when ``data`` is not a motion photo.

    PyAV reads containers from files, so the clip is written to a private temporary file for the moment it
    is read (a few MB at most; the photo itself is never touched).
    """
    from photodedup.media.motion import find_motion_video

    mv = find_motion_video(data, fmt)
    if mv is None:
        return None
    view = memoryview(data)
    clip = view[mv.offset : mv.end]
    meta, error = None, None
    from photodedup.media.video import VideoError, video_meta

    fd, tmp = tempfile.mkstemp(prefix="photodedup-motion-", suffix=".mp4")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(clip)
        try:
            meta = video_meta(tmp)
        except VideoError as exc:
            error = f"the motion photo's video cannot be read: {exc}"
    finally:
        os.unlink(tmp)
    return EmbeddedVideo(
        offset=mv.offset,
        length=mv.length,
        found_by=mv.found_by,
        blake3=blake3(clip).hexdigest(),
        still_blake3=blake3(view[: mv.offset]).hexdigest(),
        truncated=mv.truncated,
        meta=meta,
        error=error,
    )
