"""imagededup 0.3's four 64-bit perceptual hashes (pHash, aHash, dHash, wHash), from one decoded image.

imagededup decodes the file once per hash; here all four come from the single image the caller decoded.
The recipe is imagededup's, step for step, so a full decode gives its exact hex strings: resize the RGB
image with LANCZOS to each method's size, *then* convert to 'L' (graying first changes dHash bits), and
use the same scipy/PyWavelets transforms so floating-point ties fall the same way.

Speed: Pillow's LANCZOS loop to 32x32, 8x8 and 9x8 costs about as much as the 1/8-scale JPEG decode itself,
because every tiny target still filters every source row. For images up to 1 MP (reduced decodes, HEIC
thumbnails, small files) those three resizes run instead as one float64 BLAS product with Pillow's own
fixed-point kernel, which reproduces Pillow's integer arithmetic exactly (all sums are integers < 2**53).
A self-check against Pillow on first use falls back to Pillow's resize if a Pillow release ever changes it.
The products are ~1 ms: OpenBLAS is held to one thread for them, because its default (one thread per core)
busy-waits against the other scan worker and made them 5-30x slower on a loaded 2-core machine.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pywt
from PIL import Image
from scipy.fftpack import dct

from photodedup._types import PerceptualHashes

__all__ = ["hamming", "hashes_from_image"]

log = logging.getLogger(__name__)

_LANCZOS = Image.Resampling.LANCZOS
_PHASH_SIZE = (32, 32)
_AHASH_SIZE = (8, 8)
_DHASH_SIZE = (9, 8)  # (width, height): 9 columns give 8 differences per row
_WHASH_SIZE = (256, 256)
_SMALL_SIZES = (_PHASH_SIZE, _AHASH_SIZE, _DHASH_SIZE)

_BLAS_MAX_PIXELS = 1_000_000  # above ~2 MP the dense product costs more than Pillow's sparse loop
_PRECISION_BITS = 32 - 8 - 2  # Pillow's Resample.c fixed point for 8-bit images
_HALF = 1 << (_PRECISION_BITS - 1)


def _gray(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """imagededup's preprocess_image: LANCZOS resize of the colour image, then ITU-R 601 luma."""
    return np.asarray(image.resize(size, _LANCZOS).convert("L"))


# --- Pillow's LANCZOS resize + convert("L"), as one matrix product --------------------------------------


def _sinc(x: float) -> float:
    if x == 0.0:
        return 1.0
    x = x * math.pi
    return math.sin(x) / x


@functools.lru_cache(maxsize=256)
def _kernel(in_size: int, out_size: int) -> np.ndarray:
    """Pillow's quantised LANCZOS weights (Resample.c precompute_coeffs + normalize_coeffs_8bpc), dense.

    Row ``o`` holds the integer weights (scaled by 2**22) of output pixel ``o``; same double arithmetic and
    libm ``sin`` as the C code, so the integers are identical.
    """
    if in_size == out_size:  # Pillow skips the pass; the identity gives the same pixels
        return np.eye(out_size) * (1 << _PRECISION_BITS)
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 3.0 * filterscale
    ss = 1.0 / filterscale
    weights = np.zeros((out_size, in_size))
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size)
        row = []
        for x in range(xmin, xmax):
            t = (x - center + 0.5) * ss
            row.append(_sinc(t) * _sinc(t / 3) if -3.0 <= t < 3.0 else 0.0)
        total = 0.0
        for w in row:  # sequential, like the C loop (np.sum would pair terms and round differently)
            total += w
        k = np.array(row) / total if total != 0.0 else np.array(row)
        scaled = k * (1 << _PRECISION_BITS)
        weights[xx, xmin:xmax] = np.trunc(np.where(k < 0, scaled - 0.5, scaled + 0.5))
    return weights


@functools.cache
def _openblas_threads() -> tuple[object, object] | None:
    """numpy's OpenBLAS get/set_num_threads, found through numpy's own extension module (None elsewhere,
    e.g. Accelerate on macOS, whose threads do not spin)."""
    core = getattr(np, "_core", None) or getattr(np, "core", None)  # numpy 2 / numpy 1.26
    try:
        lib = ctypes.CDLL(core._multiarray_umath.__file__)
    except (AttributeError, OSError):
        return None
    for prefix in ("scipy_openblas", "openblas"):
        for suffix in ("64_", ""):
            get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            set_ = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
            if get is not None and set_ is not None:
                get.restype = ctypes.c_int
                set_.argtypes = [ctypes.c_int]
                return get, set_
    return None


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    api = _openblas_threads()
    if api is None:
        yield
        return
    get, set_ = api
    before = get()
    if before == 1:
        yield
        return
    set_(1)
    try:
        yield
    finally:
        set_(before)


def _clip8(acc: np.ndarray) -> np.ndarray:
    return np.clip((acc.astype(np.int64) + _HALF) >> _PRECISION_BITS, 0, 255)


def _vertical_first(width: int, height: int, out_w: int, out_h: int) -> bool:
    """Pillow 13 (Resample.c) runs the vertical pass first when the height shrinks over twice as much as the
    width; older releases always ran the horizontal pass first (the self-check catches such a change)."""
    return height - out_h > 0 and height - out_h > (width - out_w) * 2


def _small_grays_blas(image: Image.Image) -> list[np.ndarray]:
    """The 32x32, 8x8 and 9x8 gray inputs, bit-identical to ``_gray``: same weights, same pass order,
    same 8-bit rounding between the passes, same integer luma."""
    with _one_blas_thread():
        return _small_grays_blas_inner(np.asarray(image))


def _small_grays_blas_inner(rgb: np.ndarray) -> list[np.ndarray]:
    height, width, _ = rgb.shape
    planes = np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float64)  # (3, h, w)
    out: dict[tuple[int, int], np.ndarray] = {}
    h_first = [s for s in _SMALL_SIZES if not _vertical_first(width, height, *s)]
    if h_first:  # one product for every horizontal-first target
        weights = np.concatenate([_kernel(width, out_w) for out_w, _ in h_first])
        rows = _clip8(planes @ weights.T).astype(np.float64)  # (3, h, sum of widths)
        start = 0
        for out_w, out_h in h_first:
            out[out_w, out_h] = _clip8(_kernel(height, out_h) @ rows[:, :, start : start + out_w])
            start += out_w
    for out_h in {h for w, h in _SMALL_SIZES if (w, h) not in out}:  # aHash and dHash share out_h = 8
        cols = _clip8(_kernel(height, out_h) @ planes).astype(np.float64)  # (3, out_h, w)
        for out_w, h in _SMALL_SIZES:
            if h == out_h and (out_w, h) not in out:
                out[out_w, h] = _clip8(cols @ _kernel(width, out_w).T)
    grays = []
    for size in _SMALL_SIZES:
        r, g, b = out[size]
        grays.append(((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8))  # Convert.c L24
    return grays


@functools.cache
def _blas_matches_pillow() -> bool:
    """Compare the matrix path with Pillow once per process, on noise (exercises the clipping of LANCZOS
    overshoot) in sizes on both sides of Pillow's pass-order rule for each target; if a Pillow release
    changes its arithmetic, fall back to Pillow's own resize."""
    rng = np.random.default_rng(20240601)
    sizes = [(97, 61), (23, 7), (5, 300), (640, 480)]
    sizes += [(64, 96), (64, 97), (40, 72), (40, 73), (40, 70), (40, 71)]  # pass-order boundaries
    for width, height in sizes:
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")
        theirs = [_gray(image, size) for size in _SMALL_SIZES]
        if not all(np.array_equal(a, b) for a, b in zip(_small_grays_blas(image), theirs, strict=True)):
            log.warning("matrix resize differs from this Pillow's LANCZOS; using Pillow's resize (slower)")
            return False
    return True


# --- the four hashes ---------------------------------------------------------------------------------


def _hex(bits: np.ndarray) -> str:
    """Row-major, most significant bit first: what imagededup's ``'%0.2x' % np.packbits`` writes."""
    return np.packbits(bits).tobytes().hex()


def _phash(gray32: np.ndarray) -> str:
    coef = dct(dct(gray32, axis=0), axis=1)[:8, :8]
    return _hex(coef >= np.median(coef.ravel()[1:]))  # median without the DC term


def _ahash(gray8: np.ndarray) -> str:
    return _hex(gray8 >= np.mean(gray8))


def _dhash(gray9x8: np.ndarray) -> str:
    return _hex(gray9x8[:, 1:] > gray9x8[:, :-1])


def _whash(gray256: np.ndarray) -> str:
    low = pywt.wavedec2(gray256 / 255, "haar", level=5)[0]  # 8x8 approximation band
    return _hex(low >= np.median(low))


def hashes_from_image(img: Image.Image) -> PerceptualHashes:
    """All four hashes of one Pillow image; non-RGB input gets imagededup's RGBA -> RGB conversion."""
    if img.mode != "RGB":
        img = img.convert("RGBA").convert("RGB")
    if img.width * img.height <= _BLAS_MAX_PIXELS and _blas_matches_pillow():
        gray32, gray8, gray9x8 = _small_grays_blas(img)
    else:
        gray32, gray8, gray9x8 = (_gray(img, size) for size in _SMALL_SIZES)
    return PerceptualHashes(
        phash=_phash(gray32),
        ahash=_ahash(gray8),
        dhash=_dhash(gray9x8),
        whash=_whash(_gray(img, _WHASH_SIZE)),
    )


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
