"""Perceptual hashes against the real imagededup 0.3 (tests/golden, made by scripts/make_golden_hashes.py)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
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
    assert _as_dict(hashes_from_image(decoded.image, exact=True)) == GOLDEN_HASHES[rel]


def test_pillow_resize_path_is_exact_too(data_dir, monkeypatch):
    """The fallback used when the matrix self-check fails (or the image is > 1 MP) gives the same hashes."""
    monkeypatch.setattr(perceptual, "_blas_matches_pillow", lambda: False)
    for rel in ("media/burst/IMG_0658.JPG", "near-duplicates/imagededup/ukbench00120_gray.jpg",
                "near-duplicates/imagededup/formats_images/copyleft.tiff"):  # fmt: skip
        image = decode_image(data_dir / rel, exact=True).image
        assert _as_dict(hashes_from_image(image, exact=True)) == GOLDEN_HASHES[rel]


def test_matrix_resize_equals_pillow_on_many_shapes():
    """Both of Pillow's pass orders, up- and downscaling, noise that overshoots the LANCZOS lobes."""
    assert perceptual._matrix_resize_matches_pillow()  # the check itself, not a remembered pass
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
        dist = _distances(hashes_from_image(fast.image), hashes_from_image(exact.image, exact=True))
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
    assert hashes_from_image(decode_image(tagged, exact=True).image, exact=True) == hashes_from_image(
        photo, exact=True
    )


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
            unturned = hashes_from_image(decode_image(tagged, exact=True).image, exact=True)
            assert hamming(unturned.phash, hashes_from_image(a.image).phash) > 10


def test_non_rgb_inputs_use_imagededups_conversion(data_dir):
    image = Image.open(data_dir / "near-duplicates/imagededup/alpha_channel_image.png")
    assert image.mode == "RGBA"
    expected = GOLDEN_HASHES["near-duplicates/imagededup/alpha_channel_image.png"]
    assert _as_dict(hashes_from_image(image, exact=True)) == expected
    assert _as_dict(hashes_from_image(image)) == expected


# --- the fast recipe: same quantities as imagededup's without scipy, PyWavelets or the 256x256 resize ------


def _reference_kernel(in_size: int, out_size: int) -> np.ndarray:
    """Pillow's Resample.c precompute_coeffs + normalize_coeffs_8bpc, loop for loop (the vectorised
    ``perceptual._kernel`` must give the same integers)."""
    if in_size == out_size:
        return np.eye(out_size) * (1 << 22)

    def sinc(x: float) -> float:
        return 1.0 if x == 0.0 else math.sin(x * math.pi) / (x * math.pi)

    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support, ss = 3.0 * filterscale, 1.0 / filterscale
    weights = np.zeros((out_size, in_size))
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin, xmax = max(int(center - support + 0.5), 0), min(int(center + support + 0.5), in_size)
        row = []
        for x in range(xmin, xmax):
            t = (x - center + 0.5) * ss
            row.append(sinc(t) * sinc(t / 3) if -3.0 <= t < 3.0 else 0.0)
        total = 0.0
        for w in row:
            total += w
        for x, w in zip(range(xmin, xmax), row, strict=True):
            k = w / total if total != 0.0 else w
            weights[xx, x] = int(k * (1 << 22) - 0.5) if k < 0 else int(k * (1 << 22) + 0.5)
    return weights


def test_vectorised_kernel_equals_pillows_loop():
    rng = np.random.default_rng(8)
    pairs = [(504, 32), (504, 8), (504, 9), (504, 256), (378, 256), (240, 256), (1, 8), (9, 8), (2, 300)]
    pairs += [tuple(int(v) for v in rng.integers(1, 1500, 2)) for _ in range(60)]
    for in_size, out_size in pairs:
        np.testing.assert_array_equal(
            perceptual._kernel.__wrapped__(in_size, out_size),
            _reference_kernel(in_size, out_size),
            err_msg=f"{in_size}->{out_size}",
        )


def test_median_equals_numpys():
    rng = np.random.default_rng(9)
    for n in (1, 2, 63, 64):
        values = rng.integers(-5, 5, n).astype(np.float64)  # ties included
        assert perceptual._median(values) == np.median(values)


def _structured_images(photo: Image.Image) -> list[tuple[str, Image.Image]]:
    """Inputs where floating-point noise decides bits unless the recipe handles exact zeros and ties."""
    ramp = np.linspace(0, 255, 504)
    pixels = np.asarray(photo)

    def gray(values: np.ndarray) -> Image.Image:
        return Image.fromarray(values.astype(np.uint8)).convert("RGB")

    out = [(f"flat{c}", Image.new("RGB", (300, 200), (c, c, c))) for c in (0, 1, 128, 255)]
    out.append(("flat colour", Image.new("RGB", (500, 375), (200, 100, 50))))
    out.append(("horizontal ramp", gray(np.tile(ramp, (378, 1)))))
    out.append(("vertical ramp", gray(np.tile(ramp[:378, None], (1, 504)))))
    out.append(("stripes", gray(np.tile((np.arange(504) // 21) % 2, (378, 1)) * 255)))
    out.append(("mirror", Image.fromarray(np.concatenate([pixels[:, :320], pixels[:, :320][:, ::-1]], 1))))
    square = pixels[:480, :480].astype(int)
    symmetric = ((square + square.transpose(1, 0, 2)) // 2).astype(np.uint8)
    out.append(("transpose-symmetric", Image.fromarray(symmetric)))
    framed = Image.new("RGB", (640, 480), "white")  # a photo on a white page: wHash ties at the white level
    framed.paste(photo.resize((300, 220)), (170, 130))
    out.append(("framed", framed))
    return out


def test_fast_recipe_equals_exact_recipe_on_structured_images(data_dir):
    photo = Image.open(data_dir / "near-duplicates/imagededup/base_images/ukbench00120.jpg").convert("RGB")
    for name, image in _structured_images(photo):
        assert hashes_from_image(image) == hashes_from_image(image, exact=True), name


def test_fast_recipe_equals_exact_recipe_on_the_test_data(data_dir):
    """Same pixels, both recipes: the fast one moves no bit on any golden file (full decodes up to 1 MP take
    the matrix path; larger ones Pillow's resize + block sums)."""
    for rel in GOLDEN_HASHES:
        image = decode_image(data_dir / rel, exact=True).image
        assert hashes_from_image(image) == hashes_from_image(image, exact=True), rel


def test_fast_dct_matches_scipy():
    from scipy.fftpack import dct

    rng = np.random.default_rng(10)
    for _ in range(50):
        gray = rng.integers(0, 256, (32, 32)).astype(np.uint8)
        np.testing.assert_allclose(
            perceptual._dct8() @ gray @ perceptual._dct8().T,
            dct(dct(gray, axis=0), axis=1)[:8, :8],
            atol=1e-6,
        )


def test_whash_block_sums_follow_pillows_256_resize():
    """The matrix shortcut's 8x8 block sums stay within a fraction of a gray level of those of Pillow's
    256x256 LANCZOS image (the wavelet's LL band), on smooth content in both pass orders."""
    rng = np.random.default_rng(12)
    for width, height in [(504, 378), (378, 504), (320, 240), (240, 320), (300, 900), (900, 300)]:
        low = rng.random((6, 8, 3)) * 255
        image = Image.fromarray(low.astype(np.uint8)).resize((width, height), Image.Resampling.BICUBIC)
        _, blocks = perceptual._small_grays_blas_inner(np.asarray(image), whash_blocks=True)
        reference = perceptual._block_sums_256(perceptual._gray(image, (256, 256)))
        assert np.abs(blocks - reference).max() < 0.5 * 1024, (width, height)  # sums of 32x32 pixels


def test_crowded_median_takes_pillows_resize(monkeypatch):
    """Text-like content (many blocks tied at the white level): the shortcut is not trusted."""
    page = Image.new("RGB", (400, 700), "white")
    page.paste(Image.new("RGB", (20, 300), "black"), (50, 100))
    sizes = []
    gray = perceptual._gray

    def spy(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
        sizes.append(size)
        return gray(image, size)

    monkeypatch.setattr(perceptual, "_gray", spy)
    assert hashes_from_image(page) == hashes_from_image(page, exact=True)
    assert sizes.count((256, 256)) == 2  # the fast recipe fell back too


def test_fast_mode_imports_neither_scipy_nor_pywt(data_dir):
    code = (
        "import sys; from photodedup.fingerprint.file import fingerprint_path; "
        f"fp = fingerprint_path({str(data_dir / 'media/burst/IMG_0658.JPG')!r}); "
        "assert fp.hashes and not fp.error, fp.error; "
        "print(sorted(m for m in ('scipy', 'pywt', 'numpy.ma', 'numpy.random') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_blas_thread_controls_override_a_numpy_loaded_earlier():
    """Scan workers fork with numpy loaded (OPENBLAS_NUM_THREADS then comes too late): ``one_blas_thread``
    holds OpenBLAS to one thread and restores it, ``single_blas_thread`` sets it for good; both are no-ops
    where numpy has no OpenBLAS."""
    code = (
        "import numpy; from photodedup.fingerprint import perceptual as p; api = p._openblas_threads(); "
        "get = api[0] if api else (lambda: 0); before = get()\n"
        "with p.one_blas_thread(): inside = get()\n"
        "after = get(); p.single_blas_thread(); print(before, inside, after, get())"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() in (["2", "1", "2", "1"], ["0", "0", "0", "0"])


def test_hamming():
    assert hamming("0000000000000000", "0000000000000000") == 0
    assert hamming("ffffffffffffffff", "0000000000000000") == 64
    assert hamming("8000000000000001", "0000000000000000") == 2
    assert hamming("9fee256239984d71", "9fee25623c984d71") == 2  # ukbench00120 vs its resize (pHash)


def test_a_passed_matrix_check_is_remembered_and_a_failed_one_is_not(tmp_path, monkeypatch):
    import platformdirs

    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda *args, **kwargs: str(tmp_path))
    marker = perceptual._passed_marker()
    assert marker is not None and tmp_path in marker.parents and not marker.exists()
    stale = marker.parent / "matrix-resize-0123456789abcdef01234567"  # an older version's
    stale.parent.mkdir(parents=True)
    stale.touch()
    runs = []

    def check(result):
        runs.append(result)
        return result

    monkeypatch.setattr(perceptual, "_matrix_resize_matches_pillow", lambda: check(False))
    perceptual._blas_matches_pillow.cache_clear()
    assert perceptual._blas_matches_pillow() is False and not marker.exists()
    monkeypatch.setattr(perceptual, "_matrix_resize_matches_pillow", lambda: check(True))
    perceptual._blas_matches_pillow.cache_clear()
    assert perceptual._blas_matches_pillow() is True and marker.exists() and not stale.exists()
    perceptual._blas_matches_pillow.cache_clear()
    assert perceptual._blas_matches_pillow() is True
    assert runs == [False, True]  # the third call recalled the marker
    perceptual._blas_matches_pillow.cache_clear()
