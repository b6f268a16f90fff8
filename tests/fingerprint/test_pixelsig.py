"""Pixel signature == ImageMagick 6 ``identify -format %#`` (first frame), on real and made files.

The ImageMagick comparisons need ``identify`` (Debian package ``imagemagick``). They fail when it
is missing, unless PHOTODEDUP_NO_IMAGEMAGICK=1 says that is expected (then they are skipped).
"""

from __future__ import annotations

import os
import shutil
import stat
import struct
import subprocess
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageFile

from photodedup.fingerprint import pixelsig
from photodedup.fingerprint.pixelsig import imagemagick_available, imagemagick_signature, pixel_signature

pillow_heif.register_heif_opener()

C2 = "photos-libraries/Test-13.5.1-compare-2.photoslibrary/originals"
T26 = "photos-libraries/Test-26.1.photoslibrary/originals"
GP = "takeout/Takeout/Google Photos"
ND = "near-duplicates/imagededup"

# Formats our own recipe must cover (no subprocess) for every such file in the test data.
RECIPE_FORMATS = {"JPEG", "MPO", "PNG", "GIF", "BMP", "WEBP", "TIFF"}

# README 3.2: same pixels, different bytes.
SAME_PIXELS = [
    (
        f"{C2}/0/0B5E5418-E995-4FDD-A90A-17D72436AC5A.jpeg",
        f"{T26}/E/E9BC5C36-7CD1-40A1-A72B-8B8FAC227D51.jpeg",
    ),
    (
        f"{C2}/2/29E96312-8F01-4C90-BADF-8055108131F9.jpeg",
        f"{T26}/6/6191423D-8DB8-4D4C-92BE-9BBBA308AAC4.jpeg",
    ),
    (f"{T26}/F/F12384F6-CD17-4151-ACBA-AE0E3688539E.jpeg", f"{GP}/Photos from 2018/Pumkins1.jpg"),
    (f"{T26}/1/1EB2B765-0765-43BA-A90C-0D0580E6172C.jpeg", f"{GP}/Pumpkin Farm/Pumpkins3.jpg"),
    (
        "media/motion/pixel-motion-photo-shortened.jpg",
        "media/motion/pixel-motion-photo-video-removed-shortened.jpg",
    ),
]


@pytest.fixture(scope="module")
def identify() -> str:
    """Path of the ImageMagick 6 ``identify``; fails (not skips) when missing, unless told."""
    if imagemagick_available():
        exe = shutil.which("identify")
        assert exe is not None
        return exe
    if os.environ.get("PHOTODEDUP_NO_IMAGEMAGICK") == "1":
        pytest.skip("ImageMagick 6 not installed and PHOTODEDUP_NO_IMAGEMAGICK=1")
    pytest.fail(
        "ImageMagick 6 `identify` is not on PATH: install the Debian package `imagemagick` "
        "(apt-get install -y imagemagick), or set PHOTODEDUP_NO_IMAGEMAGICK=1 to skip these tests"
    )


@pytest.fixture
def truncated_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decode truncated files like ImageMagick does (it warns and keeps the grey rows)."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)


def reference(identify: str, path: Path) -> str | None:
    """The real thing, by file name: ``identify -format %# 'file[0]'``."""
    proc = subprocess.run(
        [identify, "-format", "%#\n", f"{path}[0]"], capture_output=True, text=True, timeout=120, check=False
    )
    line = proc.stdout.split("\n", 1)[0].strip()
    return line if proc.returncode == 0 and len(line) == 64 else None


def open_image(path: Path) -> Image.Image | None:
    try:
        img = Image.open(path)
        img.load()
    except (OSError, ValueError, SyntaxError):
        return None
    return img


def sig_of(path: Path) -> str | None:
    img = Image.open(path)
    img.load()
    return pixel_signature(img, path=path)


# --------------------------------------------------------------------------- real test data


@pytest.mark.usefixtures("truncated_ok")
def test_equals_identify_on_all_test_data(data_dir: Path, identify: str) -> None:
    """Every image Pillow decodes in the data folder; JPEG/PNG/GIF/BMP/WebP/TIFF via our recipe.

    Known exceptions (none of them a wrong value): 4 HEICs that ImageMagick 6.9.11 cannot read
    (iPhone 15 Pro IMG_3582 pair, Media-Types B60C31AC original + render) give None, as identify
    gives no signature for them.
    """
    files = sorted(p for p in data_dir.rglob("*") if p.is_file())

    def check(path: Path) -> tuple[str, str | None, str | None, str | None, bool]:
        img = open_image(path)
        if img is None:
            return path.name, None, None, None, False
        ours = pixel_signature(img, path=path)
        by_recipe = pixelsig._recipe_mode(img, path) is not None
        if by_recipe and img.format not in ("PNG", "BMP"):  # these read the depth from the header
            assert pixel_signature(img) == ours, path
        return path.relative_to(data_dir).as_posix(), img.format, ours, reference(identify, path), by_recipe

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:  # identify is the slow part
        results = list(pool.map(check, files))
    compared = recipe = 0
    unreadable_by_im: list[str] = []
    mismatches: list[str] = []
    for rel, fmt, ours, ref, by_recipe in results:
        if fmt is None:
            continue  # not an image Pillow decodes (videos, JSON, corrupt files)
        if ref is None:
            unreadable_by_im.append(rel)
            assert fmt not in RECIPE_FORMATS, rel
            assert ours is None, rel
            continue
        compared += 1
        if fmt in RECIPE_FORMATS:
            assert by_recipe, f"{rel}: fell back to ImageMagick"
            recipe += 1
        if ours != ref:
            mismatches.append(f"{rel}: ours {ours} identify {ref}")
    assert not mismatches, "\n".join(mismatches)
    assert compared >= 90 and recipe >= 80, (compared, recipe)
    assert all(p.lower().endswith(".heic") for p in unreadable_by_im), unreadable_by_im
    assert len(unreadable_by_im) <= 4, unreadable_by_im


def test_same_pixels_different_bytes(data_dir: Path) -> None:
    for a, b in SAME_PIXELS:
        assert (data_dir / a).read_bytes() != (data_dir / b).read_bytes()
        sa, sb = sig_of(data_dir / a), sig_of(data_dir / b)
        assert sa is not None and sa == sb, (a, b)


def test_byte_copies_share_signature_across_extensions(data_dir: Path) -> None:
    """ukbench09380.{jpg,bmp,png,svg} are the same JPEG bytes: format comes from the content."""
    sigs = {
        sig_of(data_dir / f"{ND}/formats_images/ukbench09380.{ext}") for ext in ("jpeg", "bmp", "png", "svg")
    }
    assert sigs == {sig_of(data_dir / f"{ND}/base_images/ukbench09380.jpg")}


def test_different_pictures_differ(data_dir: Path) -> None:
    paths = [
        *sorted((data_dir / ND / "base_images").glob("*.jpg")),
        data_dir / f"{GP}/Photos from 2018/Pumkins1.jpg",
        data_dir / f"{T26}/D/D79B8D77-BFFC-460B-9312-034F2877D35B.jpeg",  # Pumkins2
        data_dir / f"{GP}/Photos from 2018/Pumpkins3.jpg",
        data_dir / f"{ND}/mixed_images/ukbench00120_resize.jpg",
        data_dir / f"{ND}/mixed_images/ukbench00120_hflip.jpg",
        data_dir / f"{ND}/ukbench00120_gray.jpg",
        data_dir / f"{ND}/alpha_channel_image.png",  # RGBA re-encode of ukbench00120
        data_dir / f"{ND}/formats_images/ukbench09380.webp",  # lossy re-encode of ukbench09380.jpg
    ]
    sigs = [sig_of(p) for p in paths]
    assert None not in sigs
    assert len(set(sigs)) == len(paths)


# --------------------------------------------------------------------------- made files


def _png16_rgb(path: Path, rgb16: np.ndarray) -> None:
    """A real 16-bit RGB PNG (Pillow cannot write one; it reads it back as 8-bit RGB)."""
    h, w, _ = rgb16.shape
    raw = b"".join(b"\0" + rgb16[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def _make_variants(d: Path) -> dict[str, bool]:
    """name -> whether our recipe (True) or the ImageMagick fallback (False) must handle it."""
    rng = np.random.default_rng(7)
    h, w = 29, 41  # odd sizes: exercise chroma upsampling edges and row padding
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
    im_rgb = Image.fromarray(rgb)
    im_rgba = Image.fromarray(np.dstack([rgb, alpha]))
    im_l = im_rgb.convert("L")
    im_la = Image.merge("LA", (im_l, Image.fromarray(alpha)))
    im_p = im_rgb.quantize(100)
    photo = im_rgb.resize((203, 151), Image.Resampling.BICUBIC)
    out: dict[str, bool] = {}

    def save(img: Image.Image, name: str, recipe: bool, **kw: object) -> None:
        img.save(d / name, **kw)
        out[name] = recipe

    for ss in (0, 1, 2):
        save(photo, f"j444_{ss}.jpg", True, quality=85, subsampling=ss)
        save(photo, f"jprog_{ss}.jpg", True, quality=85, subsampling=ss, progressive=True)
    save(photo.convert("L"), "jgray.jpg", True)
    save(photo.convert("CMYK"), "jcmyk.jpg", False)
    for name, img in (("rgb", im_rgb), ("rgba", im_rgba), ("l", im_l), ("la", im_la), ("p", im_p)):
        save(img, f"{name}.png", True)
    save(im_l.convert("1"), "bilevel.png", True)
    save(im_p, "p_trns.png", True, transparency=3)
    save(im_rgb, "rgb_trns.png", True, transparency=(1, 2, 3))
    save(Image.fromarray(rng.integers(0, 65536, (h, w), dtype=np.uint16)), "gray16.png", False)
    _png16_rgb(d / "rgb16.png", rng.integers(0, 65536, (h, w, 3), dtype=np.uint16))
    out["rgb16.png"] = False
    save(im_p, "p.gif", True)
    save(im_p, "p_trns.gif", True, transparency=5)
    save(im_rgb, "lossless.webp", True, lossless=True)
    save(im_rgba, "rgba_lossy.webp", True, quality=70)
    save(im_rgb, "rgb.bmp", True)
    save(im_p, "p8.bmp", True)
    save(im_l.convert("1"), "bilevel.bmp", False)  # ImageMagick hashes 1-bit samples
    save(im_rgb, "rgb.tif", True, compression="tiff_lzw")
    save(im_rgba, "rgba.tif", True)
    save(im_l, "l.tif", True)
    save(im_p, "p.tif", False)  # 16-bit TIFF colormap: ImageMagick rounds, Pillow truncates
    save(photo.convert("CMYK"), "cmyk.tif", False)
    return out


def test_equals_identify_on_made_variants(tmp_path: Path, identify: str) -> None:
    variants = _make_variants(tmp_path)
    mismatches = []
    for name, recipe in variants.items():
        path = tmp_path / name
        img = Image.open(path)
        img.load()
        assert (pixelsig._recipe_mode(img, path) is not None) == recipe, name
        ref = reference(identify, path)
        assert ref is not None, name
        if pixel_signature(img, path=path) != ref:
            mismatches.append(name)
    assert not mismatches


def test_metadata_does_not_change_signature(tmp_path: Path, data_dir: Path) -> None:
    """Strip/replace metadata around identical JPEG scan data: signature stays, bytes change."""
    src = data_dir / f"{ND}/base_images/ukbench01380.jpg"
    data = src.read_bytes()
    # Insert a COM segment after SOI: different bytes, same entropy-coded pixels.
    comment = b"photodedup test"
    edited = data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[2:]
    (tmp_path / "a.jpg").write_bytes(edited)
    assert sig_of(tmp_path / "a.jpg") == sig_of(src)


# --------------------------------------------------------------------------- fallback and its absence


def test_unsure_images_without_path_give_none(data_dir: Path) -> None:
    heic = Image.open(data_dir / "media/heic/sample_still_photo.heic")
    assert pixel_signature(heic) is None
    jpg = Image.open(data_dir / f"{ND}/base_images/ukbench01380.jpg")
    full = pixel_signature(jpg)
    assert full is not None
    assert pixel_signature(jpg.convert("RGB")) is None  # converted: format unknown
    drafted = Image.open(data_dir / f"{ND}/base_images/ukbench01380.jpg")
    drafted.draft("RGB", (160, 120))
    drafted.load()
    assert drafted.size == (160, 120)
    assert pixel_signature(drafted) is None


def test_drafted_jpeg_with_path_asks_imagemagick(data_dir: Path, identify: str) -> None:
    path = data_dir / f"{ND}/base_images/ukbench01380.jpg"
    drafted = Image.open(path)
    drafted.draft("L", (160, 120))
    assert pixel_signature(drafted, path=path) == reference(identify, path)


def test_fallback_heic_equals_identify(data_dir: Path, identify: str) -> None:
    path = data_dir / "media/heic/IMG_0102.HEIC"
    assert pixel_signature(Image.open(path), path=path) == reference(identify, path)
    assert imagemagick_signature(path) == reference(identify, path)


def test_no_imagemagick_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_dir: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory
    assert not imagemagick_available()
    heic = data_dir / "media/heic/IMG_0102.HEIC"
    assert imagemagick_signature(heic) is None
    assert pixel_signature(Image.open(heic), path=heic) is None
    # The recipe itself needs no ImageMagick.
    assert sig_of(data_dir / f"{ND}/base_images/ukbench01380.jpg") is not None


def _fake_identify(directory: Path, body: str) -> None:
    exe = directory / "identify"
    exe.write_text("#!/bin/sh\n" + body)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def test_imagemagick7_is_not_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_dir: Path) -> None:
    """ImageMagick 7 hashes float samples: a different value, so it must not be mixed in."""
    _fake_identify(tmp_path, 'echo "Version: ImageMagick 7.1.1-43 Q16-HDRI x86_64"\necho ' + "a" * 64 + "\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not imagemagick_available()
    assert imagemagick_signature(data_dir / "media/heic/IMG_0102.HEIC") is None


def test_hanging_or_failing_identify_gives_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "x.heic"
    target.write_bytes(b"not really")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", str(bindir))
    version = 'case "$1" in -version) echo "Version: ImageMagick 6.9.11-60 Q16 x86_64"; exit 0;; esac\n'
    _fake_identify(bindir, version + "exec sleep 30\n")
    assert imagemagick_available()
    assert imagemagick_signature(target, timeout=0.5) is None
    _fake_identify(bindir, version + "echo garbage; exit 1\n")
    pixelsig._is_imagemagick6.cache_clear()  # same path, new script
    assert imagemagick_signature(target) is None
    assert imagemagick_signature(tmp_path / "missing.heic") is None
