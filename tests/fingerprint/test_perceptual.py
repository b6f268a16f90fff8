"""Perceptual hashes against the real imagededup 0.3 (tests/golden, made by scripts/make_golden_hashes.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photodedup._types import PerceptualHashes
from photodedup.fingerprint import perceptual
from photodedup.fingerprint.perceptual import hamming, hashes_from_image
from photodedup.media.decode import apply_orientation, decode_image

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "golden" / "imagededup_hashes.json").read_text())
GOLDEN_HASHES: dict[str, dict[str, str]] = GOLDEN["hashes"]
NAMES = ("phash", "ahash", "dhash", "whash")
UNDO = {2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}  # the orientation that undoes each EXIF orientation

# Largest drift measured (docs/hash-fidelity.md, scripts/measure_hash_fidelity.py), bits of 64.
FAST_JPEG_MAX = {"phash": 2, "ahash": 1, "dhash": 2, "whash": 2}  # DCT-scaled decode vs imagededup
HEIC_THUMB_MAX = {"phash": 2, "ahash": 1, "dhash": 1, "whash": 0}  # embedded thumbnail vs full decode
EXIF_VS_PIXELS_JPEG_MAX = 2  # orientation tag vs pixel-rotated JPEG copy, any hash


def _as_dict(h: PerceptualHashes) -> dict[str, str]:
    return {name: getattr(h, name) for name in NAMES}


def _distances(a: PerceptualHashes, b: PerceptualHashes) -> dict[str, int]:
    return {name: hamming(getattr(a, name), getattr(b, name)) for name in NAMES}


def test_golden_covers_the_data_set():
    assert GOLDEN["meta"]["imagededup"].startswith("0.3")
    assert len(GOLDEN_HASHES) >= 70
    assert all(re.fullmatch(r"[0-9a-f]{16}", v) for row in GOLDEN_HASHES.values() for v in row.values())


@pytest.mark.parametrize("rel", sorted(GOLDEN_HASHES), ids=str)
def test_exact_mode_equals_imagededup_bit_for_bit(data_dir, rel):
    decoded = decode_image(data_dir / rel, exact=True)
    assert _as_dict(hashes_from_image(decoded.image)) == GOLDEN_HASHES[rel]


def test_pillow_resize_path_is_exact_too(data_dir, monkeypatch):
    """The fallback used when the matrix self-check fails (or the image is > 1 MP) gives the same hashes."""
    monkeypatch.setattr(perceptual, "_blas_matches_pillow", lambda: False)
    for rel in ("media/burst/IMG_0658.JPG", "near-duplicates/imagededup/ukbench00120_gray.jpg",
                "near-duplicates/imagededup/formats_images/copyleft.tiff"):  # fmt: skip
        image = decode_image(data_dir / rel, exact=True).image
        assert _as_dict(hashes_from_image(image)) == GOLDEN_HASHES[rel]


def test_matrix_resize_equals_pillow_on_many_shapes():
    """Both of Pillow's pass orders, up- and downscaling, noise that overshoots the LANCZOS lobes."""
    assert perceptual._blas_matches_pillow()
    rng = np.random.default_rng(3)
    shapes = [(1, 1), (8, 8), (9, 8), (32, 32), (31, 200), (200, 31), (378, 504), (504, 378), (999, 13)]
    shapes += [tuple(int(x) for x in rng.integers(2, 700, 2)) for _ in range(20)]
    for width, height in shapes:
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")
        expected = [perceptual._gray(image, size) for size in perceptual._SMALL_SIZES]
        for got, want in zip(perceptual._small_grays_blas(image), expected, strict=True):
            np.testing.assert_array_equal(got, want, err_msg=f"{width}x{height}")


def test_fast_mode_drift_from_imagededup_is_small(data_dir):
    worst = dict.fromkeys(NAMES, 0)
    reduced = 0
    for rel, want in GOLDEN_HASHES.items():
        fast = decode_image(data_dir / rel)
        stored = apply_orientation(fast.image, UNDO.get(fast.orientation or 1))  # imagededup ignores EXIF
        dist = {n: hamming(getattr(hashes_from_image(stored), n), want[n]) for n in NAMES}
        if not fast.reduced:
            assert not any(dist.values()), rel  # full-size decodes are the exact recipe
            continue
        reduced += 1
        for n in NAMES:
            worst[n] = max(worst[n], dist[n])
    assert reduced >= 25
    assert all(worst[n] <= FAST_JPEG_MAX[n] for n in NAMES), worst


def test_heic_thumbnail_drift_from_full_decode_is_small(data_dir):
    seen = 0
    for path in sorted((data_dir / "media").rglob("*")):
        if path.suffix.lower() != ".heic":
            continue
        fast = decode_image(path)
        if not fast.reduced:
            continue
        seen += 1
        exact = decode_image(path, exact=True)
        dist = _distances(hashes_from_image(fast.image), hashes_from_image(exact.image))
        assert all(dist[n] <= HEIC_THUMB_MAX[n] for n in NAMES), (path.name, dist)
    assert seen >= 4


def _write_orientation_pair(photo: Image.Image, orientation: int, folder: Path, ext: str, **save):
    """``pixels``: the photo turned upright in its pixels, no tag; ``tagged``: the photo as stored,
    with an EXIF Orientation tag that asks viewers for the same turn."""
    pixels, tagged = folder / f"pixels{orientation}.{ext}", folder / f"tagged{orientation}.{ext}"
    apply_orientation(photo, orientation).save(pixels, **save)
    exif = Image.Exif()
    exif[0x0112] = orientation
    photo.save(tagged, exif=exif, **save)
    return pixels, tagged


@pytest.mark.parametrize("orientation", range(2, 9))
def test_exif_orientation_equals_pixel_rotation_lossless(data_dir, tmp_path, orientation):
    photo = Image.open(data_dir / "near-duplicates/imagededup/base_images/ukbench00120.jpg").convert("RGB")
    pixels, tagged = _write_orientation_pair(photo, orientation, tmp_path, "png")
    from_pixels = hashes_from_image(decode_image(pixels).image)
    assert hashes_from_image(decode_image(tagged).image) == from_pixels
    # exact mode is imagededup: it ignores the tag, so the tagged copy hashes like the unrotated photo
    assert hashes_from_image(decode_image(tagged, exact=True).image) == hashes_from_image(photo)


@pytest.mark.parametrize(
    ("rel", "orientations"),
    [
        ("takeout/Takeout/Google Photos/Photos from 2019/Tulips.jpg", range(2, 9)),
        ("media/burst/IMG_0658.JPG", (6,)),  # the iPhone portrait case, 12 MP at 1/8 scale
    ],
)
def test_exif_orientation_near_equals_pixel_rotation_jpeg(data_dir, tmp_path, rel, orientations):
    photo = Image.open(data_dir / rel).convert("RGB")
    for orientation in orientations:
        pixels, tagged = _write_orientation_pair(photo, orientation, tmp_path, "jpg", quality=95)
        a, b = decode_image(pixels), decode_image(tagged)
        assert a.reduced and b.reduced and a.image.size == b.image.size
        assert b.orientation == orientation
        dist = _distances(hashes_from_image(a.image), hashes_from_image(b.image))
        assert max(dist.values()) <= EXIF_VS_PIXELS_JPEG_MAX, (orientation, dist)
        if orientation in (5, 6, 7, 8):  # a quarter turn: without the transpose the hashes are unrelated
            unturned = hashes_from_image(decode_image(tagged, exact=True).image)
            assert hamming(unturned.phash, hashes_from_image(a.image).phash) > 10


def test_non_rgb_inputs_use_imagededups_conversion(data_dir):
    image = Image.open(data_dir / "near-duplicates/imagededup/alpha_channel_image.png")
    assert image.mode == "RGBA"
    expected = GOLDEN_HASHES["near-duplicates/imagededup/alpha_channel_image.png"]
    assert _as_dict(hashes_from_image(image)) == expected


def test_hamming():
    assert hamming("0000000000000000", "0000000000000000") == 0
    assert hamming("ffffffffffffffff", "0000000000000000") == 64
    assert hamming("8000000000000001", "0000000000000000") == 2
    assert hamming("9fee256239984d71", "9fee25623c984d71") == 2  # ukbench00120 vs its resize (pHash)
