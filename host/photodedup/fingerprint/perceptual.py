"""imagededup 0.3's four 64-bit perceptual hashes (pHash, aHash, dHash, wHash), from one decoded image.

imagededup decodes the file once per hash; here all four come from the single image the caller decoded.
Two recipes, chosen by ``exact`` (the decode mode of the scan):

* ``exact=True`` is imagededup's recipe step for step, so a full decode gives its exact hex strings: resize
  the RGB image with LANCZOS to each method's size, *then* convert to 'L' (graying first changes dHash
  bits), and use the same scipy/PyWavelets transforms so floating-point ties fall the same way. scipy and
  PyWavelets are imported only here (``scipy.fftpack`` alone costs ~150 ms per worker process).
* ``exact=False`` (fast mode, the scan's default) computes the same quantities without them:
  - the 32x32, 8x8 and 9x8 gray inputs are still Pillow's LANCZOS pixels bit for bit (below);
  - pHash's DCT is a product with a cached 8x32 DCT-II matrix (scipy's values to ~1e-11), snapped to a 1e-6
    grid so that the exact zeros and ties scipy's FFT gives on flat, ramp or mirror-symmetric content do not
    turn into noise bits;
  - wHash: imagededup's haar LL band at level 5 of the 256x256 gray image is, up to a constant factor, the
    8x8 grid of its 32x32 block sums, and a block sum of a LANCZOS resize is linear in the input pixels. So
    the 256x256 resize and the wavelet collapse into 8 more rows of the same matrix product. Left out:
    Pillow's rounding and clipping of the 65,536 intermediate pixels (<= ~0.3 gray level per block on
    photos), so when many block sums crowd around the median Pillow's resize is used instead.
  On the test data this gives imagededup's recipe's hashes bit for bit on the same pixels; what fast mode
  drifts by is the reduced decode's doing (docs/hash-fidelity.md).

Speed: Pillow's LANCZOS loop to 32x32, 8x8 and 9x8 costs about as much as the 1/8-scale JPEG decode itself,
because every tiny target still filters every source row. For images up to 1 MP (reduced decodes, HEIC
thumbnails, small files) those three resizes run instead as one float64 BLAS product with Pillow's own
fixed-point kernel, which reproduces Pillow's integer arithmetic exactly (all sums are integers < 2**53).
A self-check against Pillow on first use falls back to Pillow's resize if a Pillow release ever changes it
(a passed check is remembered in the user's cache folder, keyed by everything it depends on).
The products are ~1 ms: OpenBLAS is held to one thread for them, because its default (one thread per core)
busy-waits against the other scan worker and made them 5-30x slower on a loaded 2-core machine.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from photodedup._types import PerceptualHashes

__all__ = [
    "check_matrix_resize",
    "hamming",
    "hashes_and_gray32",
    "hashes_from_image",
    "one_blas_thread",
    "phash_of_gray32",
    "phash_of_image",
    "single_blas_thread",
]

log = logging.getLogger(__name__)

_LANCZOS = Image.Resampling.LANCZOS
_PHASH_SIZE = (32, 32)
_AHASH_SIZE = (8, 8)
_DHASH_SIZE = (9, 8)  # (width, height): 9 columns give 8 differences per row
_WHASH_SIZE = (256, 256)
_WHASH_BLOCK = 32  # haar level 5: one LL coefficient per 32x32 block of the 256x256 image
_CROWDED_BLOCKS = 5  # of 64: see _crowded_median
_SMALL_SIZES = (_PHASH_SIZE, _AHASH_SIZE, _DHASH_SIZE)

_BLAS_MAX_PIXELS = 1_000_000  # above ~2 MP the dense product costs more than Pillow's sparse loop
_PRECISION_BITS = 32 - 8 - 2  # Pillow's Resample.c fixed point for 8-bit images
_Grays = tuple[list[np.ndarray], np.ndarray | None]
_LUMA = (19595, 38470, 7471)  # Convert.c rgb2l, ITU-R 601 scaled by 2**16


def _gray(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """imagededup's preprocess_image: LANCZOS resize of the colour image, then ITU-R 601 luma."""
    return np.asarray(image.resize(size, _LANCZOS).convert("L"))


# --- Pillow's LANCZOS resize + convert("L"), as one matrix product --------------------------------------


@functools.lru_cache(maxsize=256)
def _kernel(in_size: int, out_size: int) -> np.ndarray:
    """Pillow's quantised LANCZOS weights (Resample.c precompute_coeffs + normalize_coeffs_8bpc), dense.

    Row ``o`` holds the integer weights (scaled by 2**22) of output pixel ``o``; same double arithmetic,
    libm ``sin`` (``math.sin``, not numpy's vectorised one) and left-to-right row sums as the C code, so the
    integers are identical. Vectorised over all rows: a few ms less per new image size and per process.
    """
    rows, cols, values = _kernel_entries(in_size, out_size)
    weights = np.zeros((out_size, in_size))
    weights[rows, cols] = values
    return weights


def _kernel_entries(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_kernel`'s weights inside each output pixel's window, as (row, column, value), row by row."""
    if in_size == out_size:  # Pillow skips the pass; the identity gives the same pixels
        index = np.arange(out_size)
        return index, index, np.full(out_size, float(1 << _PRECISION_BITS))
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 3.0 * filterscale
    ss = 1.0 / filterscale
    center = (np.arange(out_size) + 0.5) * scale
    xmin = np.maximum(np.trunc(center - support + 0.5), 0).astype(np.int64)  # C's (int) truncates
    xmax = np.minimum(np.trunc(center + support + 0.5), in_size).astype(np.int64)
    span = int((xmax - xmin).max())
    x = xmin[:, None] + np.arange(span)  # (out, span) source columns, padded on the right
    inside = x < xmax[:, None]
    t = (x - center[:, None] + 0.5) * ss
    a, b = t * math.pi, (t / 3) * math.pi
    sin_a = np.array(list(map(math.sin, a.ravel().tolist()))).reshape(a.shape)
    sin_b = np.array(list(map(math.sin, b.ravel().tolist()))).reshape(b.shape)
    zero = t == 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(zero, 1.0, sin_a / a) * np.where(zero, 1.0, sin_b / b)
    w = np.where(inside & (t >= -3.0) & (t < 3.0), w, 0.0)
    # Left to right per row, like the C loop: a running sum (np.sum would pair the terms differently).
    total = np.add.accumulate(w, axis=1)[:, -1]
    k = np.divide(w, total[:, None], out=w.copy(), where=total[:, None] != 0.0)
    scaled = k * (1 << _PRECISION_BITS)
    quantised = np.trunc(np.where(k < 0, scaled - 0.5, scaled + 0.5))
    rows = np.broadcast_to(np.arange(out_size)[:, None], x.shape)
    return rows[inside], x[inside], quantised[inside]


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


def single_blas_thread() -> None:
    """OpenBLAS to one thread for the rest of this process: for scan workers, one process per core, whose
    numpy was loaded (by the parent, before fork) too early for ``OPENBLAS_NUM_THREADS`` to act. A no-op if
    already so: the call itself restarts OpenBLAS's thread pool after a fork, whose threads then spin."""
    api = _openblas_threads()
    if api is not None and api[0]() != 1:
        api[1](1)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """OpenBLAS held to one thread inside the block, its setting restored after. Around the start of a pool
    of worker processes (fork), it spares each worker the thread pool OpenBLAS would otherwise recreate
    (~30 ms of CPU per worker spinning, measured on 2 cores)."""
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


_UNIT = 2.0**-_PRECISION_BITS  # one step of Pillow's fixed point: the weights times this are gray levels


@functools.lru_cache(maxsize=256)
def _unit_kernel(in_size: int, out_size: int) -> np.ndarray:
    """:func:`_kernel` times 2**-22: a product with 8-bit pixels is then Pillow's accumulator in gray levels,
    still exact (every term and partial sum is a multiple of 2**-22 below 2**10: 32 bits of a double's 53)."""
    return _kernel(in_size, out_size) * _UNIT


def _round8(levels: np.ndarray) -> np.ndarray:
    """Pillow's ``clip8((acc + 2**21) >> 22)`` on ``acc * 2**-22`` (exact): floor(x + 0.5), clipped to 0-255.
    In place, in float64: no integer round trip."""
    levels += 0.5
    np.floor(levels, out=levels)
    return np.clip(levels, 0.0, 255.0, out=levels)


def _vertical_first(width: int, height: int, out_w: int, out_h: int) -> bool:
    """Pillow 13 (Resample.c) runs the vertical pass first when the height shrinks over twice as much as the
    width; older releases always ran the horizontal pass first (the self-check catches such a change)."""
    return height - out_h > 0 and height - out_h > (width - out_w) * 2


def _small_grays_blas(image: Image.Image) -> list[np.ndarray]:
    """The 32x32, 8x8 and 9x8 gray inputs, bit-identical to ``_gray``: same weights, same pass order,
    same 8-bit rounding between the passes, same integer luma."""
    with one_blas_thread():
        return _small_grays_blas_inner(np.asarray(image), whash_blocks=False)[0]


_buffers = threading.local()


def _planes(height: int, width: int) -> np.ndarray:
    """A float64 (3, h, w) array for the colour planes, from a buffer kept (per thread) for the next image:
    a fresh 4.6 MB array per 12 MP photo cost ~1 ms of page faults, as much as the copy into it."""
    size = 3 * height * width
    buffer = getattr(_buffers, "planes", None)
    if buffer is None or buffer.size < size:
        buffer = _buffers.planes = np.empty(size)
    return buffer[:size].reshape(3, height, width)


@functools.lru_cache(maxsize=64)
def _block_kernel(in_size: int) -> np.ndarray:
    """(8, in_size): row ``i @ line`` is the sum of output pixels 32i..32i+31 of the line's LANCZOS resize to
    256 (Pillow's weights, each output pixel's normalised to sum to 1, so a flat line gives exactly flat
    sums as Pillow's rounding does; no rounding or clipping of the 256 intermediate pixels)."""
    out = _WHASH_SIZE[0]
    rows, cols, values = _kernel_entries(in_size, out)  # sparse: the dense (256, in_size) costs ~1 ms
    normalised = values / np.bincount(rows, weights=values, minlength=out)[rows]  # integer sums: exact
    # Summed in row order per block and column, as the dense row sums over each block were.
    blocks = np.bincount((rows // _WHASH_BLOCK) * in_size + cols, weights=normalised, minlength=8 * in_size)
    return blocks.reshape(out // _WHASH_BLOCK, in_size)


@functools.lru_cache(maxsize=32)
def _horizontal_weights(width: int, out_widths: tuple[int, ...], blocks: bool) -> np.ndarray:
    mats = [_unit_kernel(width, out_w) for out_w in out_widths]
    if blocks:
        mats.append(_block_kernel(width))
    return np.ascontiguousarray(np.concatenate(mats).T)


def _small_grays_blas_inner(rgb: np.ndarray, whash_blocks: bool) -> _Grays:
    """Pillow's three small gray images and, if asked, the (unnormalised) 8x8 gray block sums of the
    256x256 LANCZOS resize, from the same horizontal product."""
    height, width, _ = rgb.shape
    planes = _planes(height, width)  # (3, h, w) float64, reused
    np.copyto(planes, rgb.transpose(2, 0, 1))
    out: dict[tuple[int, int], np.ndarray] = {}
    blocks = None
    h_first = [s for s in _SMALL_SIZES if not _vertical_first(width, height, *s)]
    if h_first:  # one product for every horizontal-first target (and the wHash blocks)
        widths = tuple(out_w for out_w, _ in h_first)
        product = planes @ _horizontal_weights(width, widths, whash_blocks)  # (3, h, sum of widths [+ 8])
        start = sum(widths)
        if whash_blocks:
            blocks = _block_kernel(height) @ product[:, :, start:]
        rows = _round8(product[:, :, :start])
        start = 0
        for out_w, out_h in h_first:
            out[out_w, out_h] = _round8(_unit_kernel(height, out_h) @ rows[:, :, start : start + out_w])
            start += out_w
    elif whash_blocks:
        blocks = (_block_kernel(height) @ planes) @ _block_kernel(width).T
    for out_h in {h for w, h in _SMALL_SIZES if (w, h) not in out}:  # aHash and dHash share out_h = 8
        cols = _round8(_unit_kernel(height, out_h) @ planes)  # (3, out_h, w)
        for out_w, h in _SMALL_SIZES:
            if h == out_h and (out_w, h) not in out:
                out[out_w, h] = _round8(cols @ _unit_kernel(width, out_w).T)
    grays = []
    for size in _SMALL_SIZES:
        r, g, b = out[size]  # integer levels: the luma sum stays below 2**24, exact
        luma = (r * _LUMA[0] + g * _LUMA[1] + b * _LUMA[2] + 0x8000) * 2.0**-16
        grays.append(np.floor(luma).astype(np.uint8))
    if blocks is not None:
        r, g, b = blocks  # luma is linear: the luma of the sums is the sum of the lumas
        blocks = np.rint((r * _LUMA[0] + g * _LUMA[1] + b * _LUMA[2]) / 65536)  # gray sums, integer grid
    return grays, blocks


def _noise(height: int, width: int, seed: int) -> np.ndarray:
    """Deterministic pseudo-random RGB bytes (a multiplicative hash; numpy.random would cost its ~5 ms
    import in every worker)."""
    n = np.arange(height * width * 3, dtype=np.uint64) + np.uint64(seed << 32)
    return ((n * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(56)).astype(np.uint8).reshape(height, width, 3)


@functools.cache
def _blas_matches_pillow() -> bool:
    """Whether the matrix path gives Pillow's pixels: checked once per process (~15 ms), and a passed check
    is remembered on disk for this Pillow, numpy, Python and version of this file (:func:`_passed_marker`),
    so that later scans' worker processes skip it."""
    marker = _passed_marker()
    if marker is not None and marker.exists():
        return True
    if not _matrix_resize_matches_pillow():
        log.warning("matrix resize differs from this Pillow's LANCZOS; using Pillow's resize (slower)")
        return False
    if marker is not None:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            for old in marker.parent.glob("matrix-resize-*"):  # left by other versions
                old.unlink(missing_ok=True)
            marker.touch()
        except OSError:
            pass  # a read-only cache only costs the check again next time
    return True


def check_matrix_resize() -> bool:
    """Run (or recall) the check now: a scan calls it before forking its workers, which inherit the answer."""
    return _blas_matches_pillow()


def _matrix_resize_matches_pillow() -> bool:
    """Compare the matrix path with Pillow on noise (exercises the clipping of LANCZOS overshoot) in sizes on
    both sides of Pillow's pass-order rule for each target; if a Pillow release changes its arithmetic, the
    hashes fall back to Pillow's own resize."""
    sizes = [(97, 61), (23, 7), (5, 300)]  # down- and upscaling, overshoot clipped at both ends
    sizes += [(64, 96), (64, 97), (40, 72), (40, 73), (40, 70), (40, 71)]  # pass-order boundaries
    for seed, (width, height) in enumerate(sizes):
        image = Image.fromarray(_noise(height, width, seed), "RGB")
        theirs = [_gray(image, size) for size in _SMALL_SIZES]
        if not all(np.array_equal(a, b) for a, b in zip(_small_grays_blas(image), theirs, strict=True)):
            return False
    return True


def _passed_marker() -> Path | None:
    """An empty file in the user's cache folder whose name is a digest of everything the check depends on:
    the Pillow and numpy versions, the Python build, the machine, and this file's source."""
    import hashlib
    import platform
    import sys

    import PIL

    try:
        import platformdirs

        source = Path(__file__).read_bytes()
    except (ImportError, OSError):
        return None
    key = hashlib.sha256(
        "\0".join((PIL.__version__, np.__version__, sys.version, platform.machine())).encode() + source
    ).hexdigest()[:24]
    cache = Path(platformdirs.user_cache_dir("photodedup", appauthor=False))
    return cache / "checks" / f"matrix-resize-{key}"


# --- the four hashes ---------------------------------------------------------------------------------


def _hex(bits: np.ndarray) -> str:
    """Row-major, most significant bit first: what imagededup's ``'%0.2x' % np.packbits`` writes."""
    return np.packbits(bits).tobytes().hex()


def _median(values: np.ndarray) -> float:
    """``np.median`` of a small array (same value: the middle one, or the mean of the two middle ones),
    without its lazy import of numpy.ma (~6 ms per worker process)."""
    ordered = np.sort(values, axis=None)
    mid = ordered.size // 2
    return float(ordered[mid]) if ordered.size % 2 else (float(ordered[mid - 1]) + float(ordered[mid])) / 2


def _phash(gray32: np.ndarray) -> str:
    """imagededup: scipy's orthogonal-less DCT-II along both axes, top-left 8x8."""
    from scipy.fftpack import dct  # exact mode only

    coef = dct(dct(gray32, axis=0), axis=1)[:8, :8]
    return _hex(coef >= np.median(coef.ravel()[1:]))  # median without the DC term


@functools.cache
def _dct8() -> np.ndarray:
    """Rows 0-7 of scipy.fftpack's unnormalised 32-point DCT-II: y[k] = 2 * sum x[n] cos(pi k (2n+1) / 64)."""
    k = np.arange(8)[:, None]
    n = np.arange(32)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * n + 1) / 64)


def _phash_fast(gray32: np.ndarray) -> str:
    """The product leaves ~1e-11 of noise where scipy's FFT gives exact zeros or exact ties (flat areas,
    gradients, symmetric content), and ``>= median`` would turn that noise into bits: snap to a 1e-6 grid
    (coefficients of an 8-bit 32x32 image reach ~1e6, so real differences are far larger)."""
    c = _dct8()
    coef = np.round(c @ gray32 @ c.T, 6)
    return _hex(coef >= _median(coef.ravel()[1:]))


def _ahash(gray8: np.ndarray) -> str:
    return _hex(gray8 >= np.mean(gray8))


def _dhash(gray9x8: np.ndarray) -> str:
    return _hex(gray9x8[:, 1:] > gray9x8[:, :-1])


def _whash(gray256: np.ndarray) -> str:
    import pywt  # exact mode only

    low = pywt.wavedec2(gray256 / 255, "haar", level=5)[0]  # 8x8 approximation band
    return _hex(low >= np.median(low))


def _whash_blocks(blocks: np.ndarray) -> str:
    """wHash from the 8x8 block sums of the 256x256 gray image: the haar LL band at level 5 is their scaled
    copy, and the median threshold ignores the scale."""
    return _hex(blocks >= _median(blocks))


def _crowded_median(blocks: np.ndarray) -> bool:
    """Too many block sums within half a gray level (per pixel) of their median for the matrix shortcut's
    missing rounding and clipping (<= ~0.3 level on photos, ~1.7 on black text on white) to keep their
    order: flat or blown-out areas, text on a plain background. ~5 % of photos; those take Pillow's resize."""
    near = np.abs(blocks - _median(blocks)) < _WHASH_BLOCK * _WHASH_BLOCK / 2
    return int(near.sum()) >= _CROWDED_BLOCKS


def _block_sums_256(gray256: np.ndarray) -> np.ndarray:
    n = _WHASH_SIZE[0] // _WHASH_BLOCK
    return gray256.reshape(n, _WHASH_BLOCK, n, _WHASH_BLOCK).sum(axis=(1, 3), dtype=np.int64)


def hashes_from_image(img: Image.Image, *, exact: bool = False) -> PerceptualHashes:
    """All four hashes of one Pillow image; non-RGB input gets imagededup's RGBA -> RGB conversion.

    ``exact=True``: imagededup's recipe, bit for bit. ``exact=False``: the fast recipe (module docstring),
    which drifts from it by at most a bit or two on rare ties (docs/hash-fidelity.md).
    """
    return hashes_and_gray32(img, exact=exact)[0]


def phash_of_gray32(gray32: np.ndarray) -> str:
    """The fast recipe's pHash of a 32x32 gray array (the turned variants: the primary's input, turned)."""
    return _phash_fast(np.asarray(gray32, dtype=np.float64))


def phash_of_image(img: Image.Image) -> str:
    """The fast recipe's pHash alone, for the border-trimmed variant: Pillow first reduces the picture by
    whole blocks to at least three times the 32 px target (``reducing_gap``), ~0.17 ms instead of ~0.4 ms on
    a thumbnail; this hash only has to land near a frameless copy's pHash (with a gap of 2 one framed copy
    of the generated evaluation set landed 2 bits further away and was missed)."""
    if img.mode != "RGB":
        img = img.convert("RGBA").convert("RGB")
    gray32 = np.asarray(img.resize(_PHASH_SIZE, _LANCZOS, reducing_gap=3.0).convert("L"))
    return phash_of_gray32(gray32)


def hashes_and_gray32(img: Image.Image, *, exact: bool = False) -> tuple[PerceptualHashes, np.ndarray]:
    """:func:`hashes_from_image` plus pHash's 32x32 gray input (uint8), which the variants reuse."""
    if img.mode != "RGB":
        img = img.convert("RGBA").convert("RGB")
    matrix = img.width * img.height <= _BLAS_MAX_PIXELS and _blas_matches_pillow()
    if exact:
        if matrix:
            gray32, gray8, gray9x8 = _small_grays_blas(img)
        else:
            gray32, gray8, gray9x8 = (_gray(img, size) for size in _SMALL_SIZES)
        hashes = PerceptualHashes(
            phash=_phash(gray32),
            ahash=_ahash(gray8),
            dhash=_dhash(gray9x8),
            whash=_whash(_gray(img, _WHASH_SIZE)),
        )
        return hashes, gray32
    blocks = None
    if matrix:
        with one_blas_thread():
            (gray32, gray8, gray9x8), blocks = _small_grays_blas_inner(np.asarray(img), whash_blocks=True)
        if _crowded_median(blocks):
            blocks = None
    else:
        gray32, gray8, gray9x8 = (_gray(img, size) for size in _SMALL_SIZES)
    if blocks is None:
        blocks = _block_sums_256(_gray(img, _WHASH_SIZE))
    hashes = PerceptualHashes(
        phash=_phash_fast(gray32),
        ahash=_ahash(gray8),
        dhash=_dhash(gray9x8),
        whash=_whash_blocks(blocks),
    )
    return hashes, gray32


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
