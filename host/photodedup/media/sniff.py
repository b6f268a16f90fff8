"""Tell a file's real format from its first bytes.

Extensions lie (a HEIC named ``.jpg``, JPEG bytes named ``.png``), so the scanner decides
how to decode a file from its content. Everything here is pure byte inspection: no I/O,
no decoder, a few microseconds per file.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "IMAGE_FORMATS",
    "MEDIA_EXTENSIONS",
    "SNIFF_BYTES",
    "VIDEO_FORMATS",
    "media_type_of",
    "sniff_format",
]

#: How many leading bytes callers should read. 64 is enough for every format except
#: MPEG transport streams, which need two 188/192-byte packets to be told apart from text.
SNIFF_BYTES = 512

IMAGE_FORMATS = frozenset(
    {
        "JPEG",
        "PNG",
        "GIF",
        "BMP",
        "WEBP",
        "TIFF",
        "HEIF",
        "AVIF",
        "JXL",
        "JP2",
        "PSD",
        # camera RAW whose header is not plain TIFF (NEF/ARW/DNG/PEF/SRW come back as "TIFF")
        "CR2",
        "CR3",
        "CRW",
        "RAF",
        "ORF",
        "RW2",
        "MRW",
        "X3F",
    }
)
VIDEO_FORMATS = frozenset({"MP4", "MOV", "3GP", "MKV", "WEBM", "AVI", "MPEG-TS", "MPEG-PS", "ASF", "FLV"})

#: Lowercase suffixes, with the leading dot (compare with ``Path.suffix.lower()``), that a
#: folder walker should treat as candidate media. Anything else (.json, .aae, .txt, .db, ...)
#: can be skipped without reading it; files that carry one of these are still sniffed, so a
#: wrong extension is caught by content.
MEDIA_EXTENSIONS = frozenset(
    {
        # still images
        ".jpg", ".jpeg", ".jpe", ".jfif", ".jif", ".mpo", ".png", ".apng", ".gif", ".bmp", ".dib",
        ".webp", ".tif", ".tiff", ".heic", ".heif", ".hif", ".heics", ".heifs", ".avif", ".jxl",
        ".jp2", ".j2k", ".jpf", ".jpx", ".psd",
        ".svg",  # never decoded; listed because raster bytes get saved under it (imagededup set)
        # camera RAW
        ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf", ".rw2",
        ".raf", ".pef", ".srw", ".x3f", ".3fr", ".mrw", ".raw", ".rwl", ".iiq", ".erf", ".kdc",
        ".dcr", ".mos", ".mef",
        # video
        ".mp4", ".m4v", ".mov", ".qt", ".3gp", ".3g2", ".mkv", ".webm", ".avi", ".mts", ".m2ts",
        ".ts", ".mpg", ".mpeg", ".vob", ".wmv", ".asf", ".flv",
    }
)  # fmt: skip

# Brands that name one format on their own (major brand wins).
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_GENERIC = frozenset({b"mif1", b"mif2", b"msf1"})  # any HEIF codec, AVIF included
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
_3GP_PREFIXES = (b"3gp", b"3g2", b"3ge", b"3gg", b"3gs")
_MP4_BRANDS = frozenset(
    {
        b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41",
        b"mp42", b"mp71", b"avc1", b"hvc1", b"av01", b"M4V ", b"M4VH", b"M4VP", b"dash", b"msnv",
        b"mmp4", b"XAVC", b"f4v ", b"NDAS", b"MSNV", b"KDDI", b"caqv", b"CAEP", b"MPPI",
    }
)  # fmt: skip
# Leading atoms of QuickTime files written without an ftyp box (old cameras, some exports).
_QT_FIRST_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot", b"PICT"})
_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})


def sniff_format(head: bytes) -> str | None:
    """Return the format name the bytes announce, or None when they match no media format.

    ``head`` is the start of the file (pass :data:`SNIFF_BYTES`; at least 64 bytes, fewer
    only for files that are that short). Names follow Pillow's where one exists
    ("JPEG", "PNG", "HEIF", ...); videos use "MP4", "MOV", "3GP", "MKV", "WEBM", "AVI", ...
    TIFF-based RAW (NEF, ARW, DNG, PEF, SRW) is reported as "TIFF".
    """
    if len(head) < 4:
        return None
    b4 = head[:4]

    if head[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if b4 == b"RIFF" and len(head) >= 12:
        kind = head[8:12]
        if kind == b"WEBP":
            return "WEBP"
        if kind == b"AVI ":
            return "AVI"
        return None  # WAVE, etc.
    if len(head) >= 8 and head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    if b4 in (b"II*\x00", b"MM\x00*"):
        if head[8:10] == b"CR" and b4 == b"II*\x00":
            return "CR2"
        return "TIFF"
    if b4 in (b"II+\x00", b"MM\x00+"):  # BigTIFF
        return "TIFF"
    if b4 in (b"IIRO", b"IIRS", b"MMOR"):
        return "ORF"
    if b4 == b"IIU\x00":
        return "RW2"
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return "RAF"
    if head[:14] == b"II\x1a\x00\x00\x00HEAPCCDR":
        return "CRW"
    if b4 == b"\x00MRM":
        return "MRW"
    if b4 == b"FOVb":
        return "X3F"
    if b4 == b"\x1a\x45\xdf\xa3":  # EBML: the DocType says which flavour
        return "WEBM" if b"webm" in head[:64] else "MKV"
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_DIB_SIZES:
        return "BMP"
    if head[:2] == b"\xff\x0a" or head[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
        return "JXL"
    if head[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" or b4 == b"\xff\x4f\xff\x51":
        return "JP2"
    if b4 == b"8BPS":
        return "PSD"
    if b4 == b"\x00\x00\x01\xba":
        return "MPEG-PS"
    if head[:16] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c":
        return "ASF"
    if head[:3] == b"FLV" and head[3] == 1:
        return "FLV"
    if _is_transport_stream(head):
        return "MPEG-TS"
    if len(head) >= 8 and head[4:8] in _QT_FIRST_ATOMS:
        size = int.from_bytes(b4, "big")
        if size in (0, 1) or size >= 8:
            return "MOV"
    return None


def _sniff_ftyp(head: bytes) -> str | None:
    """Classify an ISO-BMFF file by its ftyp major brand, else by its compatible brands."""
    box_size = int.from_bytes(head[:4], "big")
    end = min(len(head), box_size) if box_size >= 16 else len(head)
    major = head[8:12]
    fmt = _brand_format(major)
    if fmt or major in _AUDIO_BRANDS:
        return fmt
    brands = {major, *(head[i : i + 4] for i in range(16, end - 3, 4))}
    if brands & _AVIF_BRANDS and not brands & _HEIF_BRANDS:
        return "AVIF"
    if brands & (_HEIF_BRANDS | _HEIF_GENERIC):
        return "HEIF"
    if b"crx " in brands:
        return "CR3"
    if b"qt  " in brands:
        return "MOV"
    if any(b.startswith(_3GP_PREFIXES) for b in brands):
        return "3GP"
    return "MP4" if brands & _MP4_BRANDS else None


def _brand_format(brand: bytes) -> str | None:
    if brand in _HEIF_BRANDS:
        return "HEIF"
    if brand in _AVIF_BRANDS:
        return "AVIF"
    if brand == b"crx ":
        return "CR3"
    if brand == b"qt  ":
        return "MOV"
    if brand.startswith(_3GP_PREFIXES):
        return "3GP"
    if brand in _MP4_BRANDS:
        return "MP4"
    return None


def _is_transport_stream(head: bytes) -> bool:
    """Sync byte 0x47 every 188 bytes (TS) or every 192 bytes after a 4-byte timecode (M2TS)."""
    if len(head) >= 189 and head[0] == 0x47 and head[188] == 0x47:
        return True
    return len(head) >= 197 and head[4] == 0x47 and head[196] == 0x47


def media_type_of(fmt: str | None) -> Literal["image", "video", "other"]:
    """Map a :func:`sniff_format` name to the media type stored with each file."""
    if fmt in IMAGE_FORMATS:
        return "image"
    if fmt in VIDEO_FORMATS:
        return "video"
    return "other"
