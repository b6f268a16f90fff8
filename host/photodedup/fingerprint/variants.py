"""Extra pHashes that let matching see through a turn or a frame: rotated and border-trimmed.

A copy rotated in its pixels (not by an EXIF tag), or saved with a border, hashes
far from the original. pHash's own 32x32 grey input turned by 90°, 180° and 270°, and
the picture with a uniform border cut away, hashed by the same recipe, let the matcher
pair them by one extra lookup instead of a second decode. These are our own, beside
imagededup's four.
"""

from __future__ import annotations

import numpy as np

__all__ = ["VariantHashes", "trimmed_box", "variant_hashes"]

_GRID = 128  # the frame is looked for on a grey grid of at least this many blocks per side
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


def _first_content(std: np.ndarray, mean: np.ndarray, edge: float, limit: int) -> int:
    """How many leading lines are frame: flat and of the edge's colour."""
    frame = (std <= _BORDER_STD) & (np.abs(mean - edge) <= 2 * _BORDER_STD)
    n = int(np.argmin(frame)) if not frame.all() else len(frame)
    return min(n, limit)


def _median_of_ring(top, bottom, left, right) -> float:
    ring = np.concatenate([top, bottom, left, right])
    return float(np.partition(ring, len(ring) // 2)[len(ring) // 2])


def _trim_box(g: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box inside a uniform frame of the grey grid ``g``, or None when there is no frame."""
    h, w = g.shape
    edge = _median_of_ring(g[0], g[-1], g[:, 0], g[:, -1])
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


def _grid_factors(image) -> tuple[int, int]:
    """Block size of the grey grid the frame is looked for on: whole blocks, 128-255 of them per side."""
    return max(1, image.width // _GRID), max(1, image.height // _GRID)


def _grey_grid(image, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Block means of the grey image (or of the part of it in ``box``), as float32."""
    part = image if box is None else image.crop(box)
    grey = part.convert("L") if part.mode != "L" else part
    return np.asarray(grey.reduce(_grid_factors(image)), dtype=np.float32)


def _may_have_frame(image) -> bool:
    """Whether any side's outermost grid line could be frame. When none is, :func:`_trim_box` of the whole
    grid finds no frame either (every side's frame count is 0), so only these four lines are computed, from
    crops of the edges (the grid's edge lines, the same values). The test is a hair looser than
    ``_first_content``'s so that rounding can only send a doubtful case to the full check."""
    w, h = image.size
    fx, fy = _grid_factors(image)
    gw, gh = -(-w // fx), -(-h // fy)
    lines = (
        _grey_grid(image, (0, 0, w, fy))[0],  # top
        _grey_grid(image, (0, (gh - 1) * fy, w, h))[0],  # bottom
        _grey_grid(image, (0, 0, fx, h))[:, 0],  # left
        _grey_grid(image, ((gw - 1) * fx, 0, w, h))[:, 0],  # right
    )
    edge = _median_of_ring(*lines)
    ring = np.concatenate(lines).astype(np.float64)
    starts = np.cumsum([0, gw, gw, gh])
    n = np.array([gw, gw, gh, gh], dtype=np.float64)
    mean = np.add.reduceat(ring, starts) / n
    var = np.add.reduceat(ring * ring, starts) / n - mean * mean
    slack = 1e-3
    frame = (var <= (_BORDER_STD + slack) ** 2) & (np.abs(mean - edge) <= 2 * _BORDER_STD + slack)
    return bool(frame.any())


def trimmed_box(image) -> tuple[int, int, int, int] | None:
    """The box (in the image's pixels) inside a uniform frame, or None when there is no frame."""
    if not _may_have_frame(image):
        return None
    box = _trim_box(_grey_grid(image))
    if box is None:
        return None
    fx, fy = _grid_factors(image)
    left, top, right, bottom = box
    return left * fx, top * fy, min(right * fx, image.width), min(bottom * fy, image.height)


def variant_hashes(image, gray32: np.ndarray | None = None) -> VariantHashes:
    """From the decoded, upright RGB image (any scale): rotated pHashes and the border-trimmed one.

    The turned hashes are the primary pHash's recipe on its own 32x32 gray input, turned (``gray32``, from
    :func:`~photodedup.fingerprint.perceptual.hashes_and_gray32`; computed here when not given): three 8x32
    products, landing where a copy turned in its pixels hashes. The frame is looked for on a grey grid of
    128-255 blocks per side; the trimmed hash is the primary pHash's recipe on the picture inside it.
    """
    from photodedup.fingerprint.perceptual import hashes_and_gray32, phash_of_gray32, phash_of_image

    if image.mode != "RGB":
        image = image.convert("RGBA").convert("RGB")
    if gray32 is None:
        gray32 = hashes_and_gray32(image)[1]
    rotations = [phash_of_gray32(np.rot90(gray32, k)) for k in (-1, 2, 1)]  # 90° clockwise, 180°, 270°
    box = trimmed_box(image)
    trimmed = phash_of_image(image.crop(box)) if box is not None else None
    return VariantHashes(*rotations, trimmed)
