"""Content sniffing: every file of the shared data set, plus synthetic headers for formats it lacks."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from photodedup.media.sniff import MEDIA_EXTENSIONS, SNIFF_BYTES, media_type_of, sniff_format

# What each extension in the data set really holds, unless listed in MISLABELLED.
BY_EXTENSION = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".heic": "HEIF",
    ".webp": "WEBP",
    ".tiff": "TIFF",
    ".mov": "MOV",
    ".mp4": "MP4",
    ".mkv": "MKV",
    # not media
    ".json": None,
    ".aae": None,
    ".plist": None,
    ".sqlite": None,
    ".md": None,
    ".tsv": None,
}

# README 2.6 / 2.3 / 3.7: files whose content is not what their name says.
MISLABELLED = {
    "corrupt/empty.jpg": None,
    "corrupt/not_an_image.jpg": None,
    "corrupt/maximum_contrast_png_bytes.jpg": "PNG",
    "corrupt/sample_still_photo_heic_bytes.jpg": "HEIF",
    "near-duplicates/imagededup/formats_images/ukbench09380.bmp": "JPEG",
    "near-duplicates/imagededup/formats_images/ukbench09380.png": "JPEG",
    "near-duplicates/imagededup/formats_images/ukbench09380.svg": "JPEG",
    "near-duplicates/imagededup/mixed_images/ukbench09268_corrupt.jpg": None,
    "near-duplicates/imagededup/mixed_nested_images/ukbench09268_corrupt.jpg": None,
    "media/motion/normalphoto.jpg": "PNG",
}


def _all_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.rglob("*") if p.is_file())


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(SNIFF_BYTES)


def test_every_data_file_sniffs_to_its_true_format(data_dir: Path) -> None:
    wrong = {}
    for path in _all_files(data_dir):
        rel = path.relative_to(data_dir).as_posix()
        suffix = path.suffix.lower()
        assert rel in MISLABELLED or suffix in BY_EXTENSION, f"new file type in data set: {rel}"
        expected = MISLABELLED.get(rel, BY_EXTENSION.get(suffix))
        got = sniff_format(_head(path))
        if got != expected:
            wrong[rel] = (got, expected)
    assert not wrong


def test_sniff_needs_only_64_bytes_for_the_data_set(data_dir: Path) -> None:
    for path in _all_files(data_dir):
        head = _head(path)
        assert sniff_format(head[:64]) == sniff_format(head), path


def test_walker_extensions_cover_every_real_media_file(data_dir: Path) -> None:
    """A walker filtering on MEDIA_EXTENSIONS must still reach every image and video in the data."""
    for path in _all_files(data_dir):
        if media_type_of(sniff_format(_head(path))) != "other":
            assert path.suffix.lower() in MEDIA_EXTENSIONS, path


def test_media_extensions_shape() -> None:
    assert all(e.startswith(".") and e == e.lower() for e in MEDIA_EXTENSIONS)
    for ext in (".jpg", ".heic", ".png", ".mov", ".mp4", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".webp"):
        assert ext in MEDIA_EXTENSIONS
    for ext in (".json", ".aae", ".txt", ".plist", ".sqlite", ".xmp", ".db", ".html"):
        assert ext not in MEDIA_EXTENSIONS


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF"), ("WEBP", "WEBP"), ("PNG", "PNG"), ("JPEG", "JPEG")],
)
def test_sniff_real_pillow_encodings(fmt: str, expected: str) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(buf, format=fmt)
    assert sniff_format(buf.getvalue()[:SNIFF_BYTES]) == expected


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    box = (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body
    return (box + b"\x00\x00\x00\x08free").ljust(64, b"\x00")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"II*\x00\x10\x00\x00\x00CR\x02\x00".ljust(64, b"\x00"), "CR2"),
        (b"II*\x00\x08\x00\x00\x00".ljust(64, b"\x00"), "TIFF"),  # NEF / DNG / ARW
        (b"MM\x00*\x00\x00\x00\x08".ljust(64, b"\x00"), "TIFF"),
        (b"II+\x00\x08\x00\x00\x00".ljust(64, b"\x00"), "TIFF"),  # BigTIFF
        (b"IIRO\x08\x00\x00\x00".ljust(64, b"\x00"), "ORF"),
        (b"IIU\x00\x18\x00\x00\x00".ljust(64, b"\x00"), "RW2"),
        (b"FUJIFILMCCD-RAW 0201FF383501".ljust(64, b"\x00"), "RAF"),
        (_ftyp(b"crx ", b"crx ", b"isom"), "CR3"),
        (_ftyp(b"heic", b"mif1", b"heic"), "HEIF"),
        (_ftyp(b"mif1", b"mif1", b"heic"), "HEIF"),
        (_ftyp(b"heix", b"mif1"), "HEIF"),
        (_ftyp(b"msf1", b"msf1", b"hevc"), "HEIF"),
        (_ftyp(b"avif", b"mif1", b"avif", b"miaf"), "AVIF"),
        (_ftyp(b"mif1", b"avif", b"miaf"), "AVIF"),
        (_ftyp(b"avis", b"msf1"), "AVIF"),
        (_ftyp(b"qt  ", b"qt  "), "MOV"),
        (_ftyp(b"isom", b"isom", b"mp41"), "MP4"),
        (_ftyp(b"mp42", b"mp42", b"isom"), "MP4"),
        (_ftyp(b"M4V ", b"M4V ", b"mp42"), "MP4"),
        (_ftyp(b"3gp4", b"3gp4", b"isom"), "3GP"),
        (_ftyp(b"3g2a", b"3g2a"), "3GP"),
        (_ftyp(b"zzzz", b"isom"), "MP4"),  # unknown major brand, known compatible one
        (_ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), None),  # audio only
        (_ftyp(b"zzzz", b"yyyy"), None),
        (b"\x00\x00\x00\x08wide\x00\x10\x00\x00mdat".ljust(64, b"\x00"), "MOV"),  # QuickTime, no ftyp
        (b"\x00\x00\x10\x00moov\x00\x00\x00\x6cmvhd".ljust(64, b"\x00"), "MOV"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm".ljust(64, b"\x00"), "WEBM"),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska".ljust(64, b"\x00"), "MKV"),
        (b"RIFF\x00\x10\x00\x00AVI LIST".ljust(64, b"\x00"), "AVI"),
        (b"RIFF\x00\x10\x00\x00WAVEfmt ".ljust(64, b"\x00"), None),
        (b"GIF89a\x10\x00\x10\x00".ljust(64, b"\x00"), "GIF"),
        (b"\x00\x00\x01\xba\x44\x00\x04\x00".ljust(64, b"\x00"), "MPEG-PS"),
        ((b"\x47" + b"\x00" * 187) * 2, "MPEG-TS"),
        ((b"\x00\x00\x00\x00\x47" + b"\x00" * 187) * 2, "MPEG-TS"),  # M2TS / AVCHD .MTS
        (b"\xff\x0a\xfa\x7f", "JXL"),
        (b"BM is also how a text file may start, with no DIB header".ljust(64), None),
        (b"GIF", None),  # shorter than any signature
        (b"", None),
        (b"<?xml version='1.0'?><svg/>".ljust(64), None),
    ],
)
def test_sniff_synthetic_headers(head: bytes, expected: str | None) -> None:
    assert sniff_format(head) == expected


@pytest.mark.parametrize(
    ("fmt", "kind"),
    [
        ("JPEG", "image"),
        ("HEIF", "image"),
        ("AVIF", "image"),
        ("TIFF", "image"),
        ("CR2", "image"),
        ("CR3", "image"),
        ("RAF", "image"),
        ("MOV", "video"),
        ("MP4", "video"),
        ("MKV", "video"),
        ("WEBM", "video"),
        ("AVI", "video"),
        ("3GP", "video"),
        (None, "other"),
        ("SOMETHING", "other"),
    ],
)
def test_media_type_of(fmt: str | None, kind: str) -> None:
    assert media_type_of(fmt) == kind
