"""AVIF (Pillow's own plugin) and JPEG XL (pillow-jxl-plugin; files also made by libjxl's reference encoder
cjxl, which `scripts/setup --dev` installs): recognised by content, decoded the right way up, hashed like the
JPEG they were made from, size-capped before decoding, and matched as the same photo."""

from __future__ import annotations

import io
import shutil
import subprocess

import pillow_jxl  # noqa: F401  (registers JPEG XL in Pillow, so the tests can write JXL files)
import pytest
from PIL import Image

from photodedup.fingerprint.file import FingerprintOptions, fingerprint_path
from photodedup.match.engine import find_groups
from photodedup.media.decode import ImageTooLargeError, decode_image, jxl_size
from photodedup.media.sniff import media_type_of, sniff_format
from photodedup.scan.engine import ScanOptions, scan
from photodedup.store.db import Store

SOURCES = [
    "near-duplicates/imagededup/base_images/ukbench09012.jpg",
    "near-duplicates/imagededup/base_images/ukbench00120.jpg",
    "media/burst/IMG_0658.JPG",  # a real iPhone JPEG with EXIF (camera, capture time, burst id)
]


@pytest.fixture
def source(tmp_path, data_dir):
    """A real JPEG from the data, at most 1008 px wide with all its EXIF (AVIF encodes 12 MP slowly)."""

    def make(rel: str):
        src = data_dir / rel
        with Image.open(src) as im:
            if im.width <= 1008:
                return src
            exif = im.getexif()
            im.draft("RGB", (1008, 756))
            dest = tmp_path / f"small-{src.name}"
            im.convert("RGB").save(dest, "JPEG", quality=92, exif=exif.tobytes())
            return dest

    return make


def bits(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def cjxl(src, dest, *args) -> None:
    if shutil.which("cjxl") is None:
        pytest.fail("cjxl is missing: scripts/setup --dev installs it (Debian libjxl-tools)")
    r = subprocess.run(["cjxl", str(src), str(dest), *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def with_orientation(src, dest, orientation: int) -> None:
    """The same pixels as ``src`` with EXIF orientation ``orientation`` (and the camera's other EXIF)."""
    with Image.open(src) as im:
        exif = im.getexif()
        exif[0x0112] = orientation
        im.save(dest, "JPEG", quality=95, exif=exif.tobytes())


@pytest.mark.parametrize("rel", SOURCES)
def test_avif_and_jxl_versions_hash_like_their_jpeg(tmp_path, source, rel):
    src = source(rel)
    ref = fingerprint_path(str(src))
    with Image.open(src) as im:
        exif = im.getexif().tobytes()
        pixels = im.convert("RGB")
    made = {}
    made["avif"] = tmp_path / "a.avif"
    pixels.save(made["avif"], "AVIF", quality=85, exif=exif)
    made["jxl-lossy"] = tmp_path / "b.jxl"
    pixels.save(made["jxl-lossy"], "JXL", quality=90, lossless_jpeg=False, exif=exif)
    made["jxl-recompressed"] = tmp_path / "c.jxl"
    cjxl(src, made["jxl-recompressed"])  # lossless JPEG recompression, the default for JPEG input
    made["jxl-cjxl-pixels"] = tmp_path / "d.jxl"
    cjxl(src, made["jxl-cjxl-pixels"], "--lossless_jpeg=0", "-d", "1")
    for kind, path in made.items():
        data = path.read_bytes()
        fmt = "AVIF" if kind == "avif" else "JXL"
        assert sniff_format(data[:512]) == fmt and media_type_of(fmt) == "image"
        fp = fingerprint_path(str(path))
        assert fp.error is None, (kind, fp.error)
        assert fp.format == fmt and (fp.width, fp.height) == (ref.width, ref.height), kind
        assert bits(fp.hashes.phash, ref.hashes.phash) <= 4, kind
        assert bits(fp.hashes.dhash, ref.hashes.dhash) <= 6, kind
        if kind == "jxl-recompressed":
            # Lossless recompression gives back the JPEG's own pixels: at full decode (exact mode, where the
            # JPEG is not DCT-scaled either) the same hashes, bit for bit.
            exact = FingerprintOptions(exact=True)
            assert fingerprint_path(str(path), exact).hashes == fingerprint_path(str(src), exact).hashes
        if ref.image_meta and ref.image_meta.taken_at and kind in ("avif", "jxl-lossy", "jxl-recompressed"):
            assert fp.image_meta.taken_at == ref.image_meta.taken_at
            assert fp.image_meta.model == ref.image_meta.model


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_turned_photos_come_out_upright_once(tmp_path, data_dir, orientation):
    jpeg = tmp_path / "turned.jpg"
    with_orientation(data_dir / SOURCES[0], jpeg, orientation)
    upright = fingerprint_path(str(jpeg))  # the JPEG turned by its EXIF tag
    with Image.open(jpeg) as im:
        exif = im.getexif().tobytes()
        avif = tmp_path / "turned.avif"
        im.save(avif, "AVIF", quality=90, exif=exif)
    recompressed, pixels = tmp_path / "r.jxl", tmp_path / "p.jxl"
    cjxl(jpeg, recompressed)  # the JPEG inside, EXIF tag and all
    cjxl(jpeg, pixels, "--lossless_jpeg=0", "-d", "1")  # the turn moves into the codestream header
    for path in (avif, recompressed, pixels):
        fp = fingerprint_path(str(path))
        assert fp.error is None
        assert bits(fp.hashes.phash, upright.hashes.phash) <= 4, path.name
    # Pixels already turned by the JPEG XL codestream are never turned again by an EXIF tag.
    assert decode_image(pixels.read_bytes()).image.size == (480, 640) if orientation in (6, 8) else True


def test_jxl_size_is_read_before_decoding_and_capped(tmp_path):
    sizes = [(1, 1), (8, 8), (257, 9), (640, 480), (1920, 1080), (1000, 1500), (1024, 768), (9000, 16)]
    for k, size in enumerate(sizes):
        buf = io.BytesIO()  # bare codestreams and ISO-BMFF containers, every size-header encoding
        Image.new("RGB", size, (10, 20, 30)).save(buf, "JXL", effort=1, use_container=k % 2 == 1)
        assert buf.getvalue()[:2] == b"\xff\x0a" if k % 2 == 0 else buf.getvalue()[4:8] == b"JXL "
        assert jxl_size(buf.getvalue()) == size
    big = io.BytesIO()
    Image.new("RGB", (1920, 1080)).save(big, "JXL", effort=1)
    with pytest.raises(ImageTooLargeError, match="1920x1080"):
        decode_image(big.getvalue(), max_pixels=2_000_000)
    path = tmp_path / "big.jxl"
    path.write_bytes(big.getvalue())
    fp = fingerprint_path(str(path), FingerprintOptions(max_pixels=1_000_000))
    assert fp.error and "too large" in fp.error


def test_cut_files_give_a_readable_error(tmp_path, data_dir):
    src = data_dir / SOURCES[0]
    for fmt, suffix in (("AVIF", ".avif"), ("JXL", ".jxl")):
        buf = io.BytesIO()
        with Image.open(src) as im:
            im.convert("RGB").save(buf, fmt, quality=80, **({"lossless_jpeg": False} if fmt == "JXL" else {}))
        path = tmp_path / f"cut{suffix}"
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
        fp = fingerprint_path(str(path))
        assert fp.error and fp.digests is not None, fmt
        assert "Traceback" not in fp.error


def test_jpeg_avif_and_jxl_of_one_photo_are_one_group(tmp_path, source):
    folder = tmp_path / "photos"
    folder.mkdir()
    src = source(SOURCES[2])  # a burst frame: its copies keep the burst id, and are still one photo
    shutil.copy2(src, folder / "IMG_0658.JPG")
    with Image.open(src) as im:
        exif = im.getexif().tobytes()
        im.convert("RGB").save(folder / "IMG_0658.avif", "AVIF", quality=80, exif=exif)
    cjxl(src, folder / "IMG_0658.jxl", "--lossless_jpeg=0", "-d", "1.5")
    store = Store(tmp_path / "s.db")
    assert scan([str(folder)], store, ScanOptions(workers=1)).failed == 0
    groups = [g for g in find_groups(store) if g.kind in ("same", "exact")]
    assert len(groups) == 1 and len(groups[0].members) == 3
    assert {r["format"] for r in store.items()} == {"JPEG", "AVIF", "JXL"}
    store.close()
