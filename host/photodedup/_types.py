"""Typed records that cross module boundaries: sources -> media -> fingerprints -> store.

Plain dataclasses so they pickle cheaply between worker processes and turn into
store rows with ``dataclasses.asdict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "AssetRecord",
    "DecodedImage",
    "EmbeddedVideo",
    "ExactDigests",
    "FileFingerprint",
    "ImageMeta",
    "PerceptualHashes",
    "RawPreview",
    "TakeoutSidecar",
    "VideoMeta",
]

MediaType = Literal["image", "video", "other"]


@dataclass(frozen=True, slots=True)
class ExactDigests:
    """Digests of a file's bytes, computed in one read pass."""

    blake3: str  # 64 hex chars
    apple_fingerprint: str  # base64(0x01 || SHA-1(salt || bytes)), as Photos stores it
    size: int


@dataclass(frozen=True, slots=True)
class PerceptualHashes:
    """64-bit hashes as imagededup 0.3 writes them: 16 lowercase hex chars each."""

    phash: str
    ahash: str
    dhash: str
    whash: str


@dataclass(slots=True)
class DecodedImage:
    """One decode of an image file, oriented upright, possibly at reduced scale.

    ``image`` is an RGB Pillow image; ``width``/``height`` are the full stored size
    before orientation (what the file says), ``reduced`` tells whether ``image`` came
    from DCT scaling or an embedded thumbnail.
    """

    image: object  # PIL.Image.Image (kept untyped so this module never imports Pillow)
    format: str  # detected from content: JPEG, PNG, GIF, BMP, WEBP, TIFF, HEIF, ...
    width: int
    height: int
    orientation: int | None
    reduced: bool
    exif: object | None = None  # PIL.Image.Exif of the file, if any


@dataclass(frozen=True, slots=True)
class ImageMeta:
    """What the EXIF (and Apple MakerNote) says about a still."""

    taken_at: str | None = None  # "2016-03-28T17:05:08" (EXIF DateTimeOriginal, local time)
    taken_offset: str | None = None  # "+02:00" from OffsetTimeOriginal, when present
    taken_subsec: float | None = None  # fraction of a second from SubSecTimeOriginal (0.878), when present
    make: str | None = None
    model: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    gps_alt: float | None = None
    orientation: int | None = None
    content_id: str | None = None  # Apple Live Photo content identifier (MakerNote 0x0011)
    burst_id: str | None = None  # Apple burst UUID (MakerNote 0x000B)


@dataclass(frozen=True, slots=True)
class VideoMeta:
    """What the container says about a video."""

    duration: float | None = None  # seconds
    width: int | None = None
    height: int | None = None
    rotation: int | None = None  # display rotation in degrees
    codec: str | None = None
    fps: float | None = None
    created_at: str | None = None  # ISO 8601 from the container, when present
    make: str | None = None
    model: str | None = None
    content_id: str | None = None  # com.apple.quicktime.content.identifier (Live Photo MOV half)


@dataclass(frozen=True, slots=True)
class EmbeddedVideo:
    """The clip inside a motion photo (Google/Samsung): where it lies in the file and what it is."""

    offset: int  # first byte of the MP4 inside the photo file
    length: int
    found_by: str  # xmp-container | xmp-microvideo | heic-mpvd | samsung-sef
    blake3: str  # digest of the clip's bytes (equal to the digest of the file `extract-video` writes)
    still_blake3: str  # digest of the bytes before the clip: the photo as it is without its video
    truncated: bool = False  # the clip's last box runs past the end of the file (a cut copy)
    meta: VideoMeta | None = None
    error: str | None = None  # why the clip could not be read or fingerprinted, when it could not
    # The clip's perceptual video fingerprint (fingerprint.video, text form); "-" when the clip could not be
    # fingerprinted (damaged, cut short); None when it was not asked for (``scan --no-motion-video``).
    video_hash: str | None = None
    warnings: tuple[str, ...] = ()  # damage the fingerprint stepped over


@dataclass(frozen=True, slots=True)
class RawPreview:
    """Which picture inside a camera RAW file its hashes were computed from."""

    source: str  # e.g. "embedded JPEG (SubIFD 1)", "rawpy thumbnail", "full RAW decode (rawpy)"
    width: int
    height: int


@dataclass(slots=True)
class FileFingerprint:
    """Everything one worker learns about one file, or why it could not."""

    path: str
    size: int
    mtime_ns: int
    media_type: MediaType = "other"
    format: str | None = None
    digests: ExactDigests | None = None
    hashes: PerceptualHashes | None = None
    variants: tuple[str, str, str, str | None] | None = None  # pHash turned 90/180/270, border-trimmed
    decode_mode: str | None = None  # "reduced" or "exact"
    width: int | None = None  # stored size, before orientation
    height: int | None = None
    pixel_signature: str | None = None  # ImageMagick `identify -format %#` equivalent
    image_meta: ImageMeta | None = None
    video_meta: VideoMeta | None = None
    video_hash: str | None = None  # perceptual video fingerprint, text form (fingerprint.video)
    motion: EmbeddedVideo | None = None  # the video of a motion photo
    raw_preview: RawPreview | None = None  # camera RAW: the preview the hashes came from
    error: str | None = None  # a sentence a person can read
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AssetRecord:
    """One asset of an Apple Photos library, as osxphotos reads it (never written back)."""

    uuid: str
    original_filename: str
    path: str | None  # original on disk, or None when it lives only in iCloud
    original_on_disk: bool
    path_edited: str | None
    path_live_video: str | None
    path_edited_live_video: str | None
    path_raw: str | None
    is_movie: bool
    live_photo: bool
    content_id: str | None  # ZMEDIAGROUPUUID
    burst_uuid: str | None
    burst_selected: bool
    burst_key: bool
    favorite: bool
    hidden: bool
    trashed: bool
    albums: list[str]
    keywords: list[str]
    date: str | None  # ISO 8601 with offset
    date_added: str | None
    date_modified: str | None  # drives incremental re-scans
    width: int | None
    height: int | None
    uti: str | None
    original_filesize: int | None
    fingerprint: str | None  # Apple's stored fingerprint, may be None on some schemas
    has_adjustments: bool
    screenshot: bool
    title: str | None = None
    description: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(slots=True)
class TakeoutSidecar:
    """The parts of a Google Takeout JSON sidecar worth keeping."""

    sidecar_path: str
    media_path: str | None  # None when the media file is not in the export
    title: str | None
    photo_taken_time: int | None  # UTC epoch seconds
    creation_time: int | None
    latitude: float | None
    longitude: float | None
    altitude: float | None
    description: str | None
    favorited: bool
    album: str | None  # folder name when it is an album folder, not "Photos from YYYY"
    is_edited_variant: bool = False  # media is the "-edited" copy sharing the original's sidecar
