"""Fingerprint one file: read it once, digest it, decode it once, hash and describe it.

This is what a worker process runs. It never raises: every failure becomes a
``FileFingerprint.error`` sentence, so one bad file never stops a scan.
"""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, replace

from photodedup._types import FileFingerprint

__all__ = ["FingerprintOptions", "describe_error", "fingerprint_path"]

# Sniffed formats that may be camera RAW (TIFF-based RAW sniffs as "TIFF"): see media/raw.py.
_MAYBE_RAW = frozenset({"TIFF", "CR2", "CR3", "CRW", "RAF", "ORF", "RW2", "MRW", "X3F"})
# Stills bigger than this are digested in chunks but not decoded (no phone or camera makes one).
MAX_IMAGE_FILE_BYTES = 1 << 30
DEFAULT_MAX_PIXELS = 200_000_000


@dataclass(frozen=True, slots=True)
class FingerprintOptions:
    exact: bool = False  # imagededup bit for bit: full decode, no EXIF orientation
    pixel_signature: bool = False  # ImageMagick-compatible signature: costs a full decode
    max_pixels: int = DEFAULT_MAX_PIXELS
    motion_video: bool = True  # a motion photo's clip gets its video fingerprint (a decode: ~1 s per clip)

    @property
    def decode_mode(self) -> str:
        return "exact" if self.exact else "reduced"


def fingerprint_path(
    path: str,
    options: FingerprintOptions = FingerprintOptions(),
    reusable: Callable[[str], bool] | None = None,
    known_clip: Callable[[str], str | None] | None = None,
) -> FileFingerprint:
    """``reusable(blake3)`` says the store already has this content's fingerprints: skip decoding.
    ``known_clip(blake3)`` is the stored video fingerprint of a motion photo's clip with those bytes."""
    try:
        st = os.stat(path)
    except OSError as e:
        return FileFingerprint(path=path, size=0, mtime_ns=0, error=describe_error(e))
    fp = FileFingerprint(path=path, size=st.st_size, mtime_ns=st.st_mtime_ns)
    try:
        _fingerprint_into(fp, options, reusable, known_clip)
    except Exception as e:  # one bad file must never stop a scan
        fp.error = describe_error(e)
    return fp


def _fingerprint_into(fp: FileFingerprint, options: FingerprintOptions, reusable, known_clip=None) -> None:
    from photodedup.fingerprint.exact import digest_bytes, digest_file
    from photodedup.media.sniff import media_type_of, sniff_format

    if fp.size == 0:
        fp.error = "empty file (0 bytes)"
        return
    with open(fp.path, "rb") as f:
        head = f.read(4096)
        fmt = sniff_format(head)
        fp.format = fmt
        fp.media_type = media_type_of(fmt) if fmt else "other"
        if fp.media_type == "image" and fp.size <= MAX_IMAGE_FILE_BYTES:
            f.seek(0)
            data = f.read()  # one buffer for digests and decode (``head + f.read()`` copied all of it again)
            if len(data) != fp.size:
                fp.warnings.append(f"file changed size while being read ({fp.size} -> {len(data)} bytes)")
                fp.size = len(data)
        else:
            data = None
    fp.digests = digest_bytes(data) if data is not None else digest_file(fp.path)

    if fmt is None:
        fp.error = _unrecognised(head)
        return
    if reusable is not None and reusable(fp.digests.blake3):
        fp.decode_mode = "reused"
        return
    if fp.media_type == "image":
        if data is None:
            fp.error = f"image file too large to decode ({fp.size:,} bytes)"
            return
        _image(fp, data, options, known_clip)
    elif fp.media_type == "video":
        from photodedup.fingerprint.video import NOT_FINGERPRINTED, live_photo_half, video_fingerprint
        from photodedup.media.video import video_meta

        meta = video_meta(fp.path)
        fp.video_meta = meta
        fp.width, fp.height = meta.width, meta.height
        if live_photo_half(meta):  # matched through its still: not decoded
            fp.video_hash = NOT_FINGERPRINTED
        else:
            vf = video_fingerprint(fp.path)
            fp.video_hash = vf.to_text()
            fp.warnings.extend(vf.warnings)


def _image(fp: FileFingerprint, data: bytes, options: FingerprintOptions, known_clip=None) -> None:
    from photodedup.fingerprint.perceptual import hashes_and_gray32
    from photodedup.fingerprint.variants import variant_hashes
    from photodedup.media.decode import decode_image
    from photodedup.media.exif import image_meta

    if fp.format in ("JPEG", "MPO", "HEIF"):
        # Before the decode, so a motion photo whose still is damaged still has its video recorded.
        from photodedup.fingerprint.embedded import embedded_video

        fp.motion = embedded_video(data, fp.format, options.motion_video, known_clip)
        if fp.motion is not None:
            fp.warnings.extend(fp.motion.warnings)
            if fp.motion.error:
                fp.warnings.append(fp.motion.error)
    raw = None
    if fp.format in _MAYBE_RAW:
        from photodedup.media.raw import raw_format

        raw = raw_format(data, fp.format)
    if raw:
        # Camera RAW: the hashes come from the preview the camera embedded, the EXIF from the RAW itself.
        from photodedup.media.raw import decode_raw

        unpacked = decode_raw(data, raw, exact=options.exact, max_pixels=options.max_pixels)
        decoded, fp.raw_preview = unpacked.decoded, unpacked.preview
    else:
        decoded = decode_image(data, exact=options.exact, max_pixels=options.max_pixels)
    fp.format = decoded.format
    fp.width, fp.height = decoded.width, decoded.height
    fp.hashes, gray32 = hashes_and_gray32(decoded.image, exact=options.exact)
    fp.variants = tuple(variant_hashes(decoded.image, gray32))
    fp.decode_mode = "reduced" if decoded.reduced else "full"
    if options.exact:
        fp.decode_mode = "exact"
    if decoded.exif is not None:
        meta = image_meta(decoded.exif)
        # pillow-heif resets the tag in the EXIF it hands back; the decoder kept the original.
        fp.image_meta = replace(meta, orientation=decoded.orientation or meta.orientation)
    if options.pixel_signature and not raw:  # a RAW's pixels are sensor data, not a picture to sign
        from PIL import Image

        from photodedup.fingerprint.pixelsig import pixel_signature

        with Image.open(io.BytesIO(data)) as full:
            full.load()
            fp.pixel_signature = pixel_signature(full, path=fp.path)


def _unrecognised(head: bytes) -> str:
    text = head[:512]
    if text.lstrip().startswith((b"<svg", b"<?xml")) and b"<svg" in text:
        return "SVG vector image: not fingerprinted"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in text[:256]):
        return "not an image or video: the file is plain text"
    return "not a recognised image or video format (content does not match any known format)"


def describe_error(e: BaseException) -> str:
    """A sentence a person can act on, not a traceback."""
    if isinstance(e, FileNotFoundError):
        return "file vanished during the scan"
    if isinstance(e, PermissionError):
        return "permission denied: cannot read the file"
    if isinstance(e, IsADirectoryError):
        return "is a directory"
    if isinstance(e, OSError) and e.errno == errno.EIO:
        return f"read error from the disk: {e.strerror}"
    name = type(e).__name__
    if any(c.__name__ in ("DecodeError", "VideoError") for c in type(e).__mro__):
        return str(e)
    if name == "DecompressionBombError":
        return f"image too large (decompression bomb guard): {e}"
    if isinstance(e, MemoryError):
        return "out of memory while decoding"
    return f"{name}: {e}"
