"""Extra pHashes that let matching see through a turn or a frame: rotated and border-trimmed.

A copy rotated in its pixels (not by an EXIF tag), or saved with a border, hashes
far from the original. Hashing the same small grey image turned by 90°, 180° and
270°, and again with a uniform border cut away, lets the matcher pair them by one
extra lookup instead of a second decode. These are our own, beside imagededup's four.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["VariantHashes", "variant_hashes"]

_N = 32  # pHash input size
_SMALL = 128  # working size for the variants
_K = 8  # low-frequency block kept
_BORDER_STD = 4.0  # a row/column this flat (grey levels) and close to the edge colour is frame, not photo
_BORDER_MIN = 0.02  # ignore frames thinner than 2 % of a side
_BORDER_MAX = 0.35


class VariantHashes(tuple):
    """(r90, r180, r270, trimmed) as 16-hex-char strings; trimmed is None without a border."""

    __slots__ = ()

    def __new__(cls, r90: str, r180: str, r270: str, trimmed: str | None):
        return super().__new__(cls, (r90, r180, r270, trimmed))

    r90 = property(lambda self: self[0])
    r180 = property(lambda self: self[1])
    r270 = property(lambda self: self[2])
    trimmed = property(lambda self: self[3])


@functools.cache
def _dct_matrix() -> np.ndarray:
    n = np.arange(_N)
    k = n[:, None]
    return 2.0 * np.cos(np.pi * k * (2 * n[None, :] + 1) / (2 * _N))  # scipy's unnormalised DCT-II


def _phash(gray: np.ndarray) -> str:
    m = _dct_matrix()[:_K]
    coef = m @ gray.astype(np.float64) @ m.T
    flat = coef.ravel()
    rest = flat[1:]  # 63 values: the median is the middle one (np.median would import numpy.ma)
    bits = coef >= np.partition(rest, 31)[31]
    return "".join(f"{b:02x}" for b in np.packbits(bits.ravel()))


def _first_content(std: np.ndarray, mean: np.ndarray, edge: float, limit: int) -> int:
    """How many leading lines are frame: flat and of the edge's colour."""
    frame = (std <= _BORDER_STD) & (np.abs(mean - edge) <= 2 * _BORDER_STD)
    n = int(np.argmin(frame)) if not frame.all() else len(frame)
    return min(n, limit)


def _trim_box(g: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box inside a uniform frame, or None when there is no frame."""
    h, w = g.shape
    ring = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    edge = float(np.partition(ring, len(ring) // 2)[len(ring) // 2])
    rs, rm = g.std(axis=1), g.mean(axis=1)
    top = _first_content(rs, rm, edge, int(h * _BORDER_MAX))
    bottom = h - _first_content(rs[::-1], rm[::-1], edge, int(h * _BORDER_MAX))
    inner = g[top:bottom] if bottom > top else g
    cs, cm = inner.std(axis=0), inner.mean(axis=0)
    left = _first_content(cs, cm, edge, int(w * _BORDER_MAX))
    right = w - _first_content(cs[::-1], cm[::-1], edge, int(w * _BORDER_MAX))
    cut = max(top / h, (h - bottom) / h, left / w, (w - right) / w)
    if cut < _BORDER_MIN or bottom - top < h // 3 or right - left < w // 3:
        return None
    return left, top, right, bottom


def variant_hashes(image) -> VariantHashes:
    """From the decoded, upright RGB image (any scale): rotated pHashes and the border-trimmed one.

    Works on a 128 px grey copy: these hashes only need to land near the primary pHash.
    """
    from PIL import Image

    small = image.convert("L") if image.mode != "L" else image
    if small.size != (_SMALL, _SMALL):
        small = small.resize((_SMALL, _SMALL), Image.Resampling.BOX)  # grey first: a third of the pixels
    g = np.asarray(small, dtype=np.float32)
    gray = _to32(g)
    rotations = [_phash(np.rot90(gray, k)) for k in (-1, 2, 1)]  # 90° clockwise, 180°, 270°
    box = _trim_box(g)
    trimmed = None
    if box is not None:
        left, top, right, bottom = box
        trimmed = _phash(_to32(g[top:bottom, left:right]))
    return VariantHashes(*rotations, trimmed)


def _to32(g: np.ndarray) -> np.ndarray:
    """Area-average a grey array down to 32x32 (close to LANCZOS for hashing purposes)."""
    from PIL import Image

    im = Image.fromarray(g.astype(np.float32), mode="F")
    return np.asarray(im.resize((_N, _N), Image.Resampling.LANCZOS), dtype=np.float64)
