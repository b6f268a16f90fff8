"""A small JPEG of an indexed item, found by its id: the browser never names a file.

Images go through the scan's own decoder (reduced-scale JPEG decode, HEIC embedded thumbnail, EXIF
orientation, the decompression-bomb cap); videos give their first frame, turned upright.
"""

from __future__ import annotations

import base64
import io
import os
import stat

from photodedup.nativehost.protocol import HostError

__all__ = ["thumbnail"]

_QUALITY = 80


def thumbnail(row: dict, size: int) -> tuple[int, int, str]:
    """(width, height, base64 JPEG) no larger than ``size`` on either side."""
    if row["status"] == "not_on_disk":
        raise HostError(
            "unavailable", f"item #{row['id']} is only in iCloud: its original is not on this disk"
        )
    if row["status"] != "ok" or not row.get("path") or row.get("media_type") not in ("image", "video"):
        raise HostError("unavailable", f"item #{row['id']} has no picture to show ({row['status']})")
    path = row["path"]
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise HostError("unavailable", f"item #{row['id']} is not a regular file any more")
    except OSError as e:
        raise HostError("unavailable", f"item #{row['id']} cannot be read: {e.strerror or e}") from e
    image = _video_frame(row) if row["media_type"] == "video" else _image(row)
    from PIL import Image

    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    if image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=_QUALITY, optimize=True)
    return image.width, image.height, base64.b64encode(out.getvalue()).decode("ascii")


def _image(row: dict):
    from photodedup.media.decode import DecodeError, decode_image

    try:
        return decode_image(row["path"]).image
    except DecodeError as e:
        raise HostError("unavailable", f"item #{row['id']} cannot be decoded: {e}") from e


def _video_frame(row: dict):
    import av

    try:
        with av.open(row["path"]) as container:
            stream = container.streams.video[0]
            frame = next(container.decode(stream))
            image = frame.to_image()
    except (av.FFmpegError, IndexError, StopIteration, OSError) as e:
        raise HostError("unavailable", f"item #{row['id']}: no video frame could be decoded ({e})") from e
    rotation = row.get("rotation") or 0
    if rotation % 360:
        image = image.rotate(-rotation, expand=True)  # display rotation is clockwise; PIL turns anticlockwise
    return image
