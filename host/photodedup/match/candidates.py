"""Every pair of 64-bit fingerprints within a Hamming distance: the pairs brute force finds, far faster.

All pairs of a million photos are 5 * 10**11 comparisons, so ``near_pairs`` (pairs within one set) and
``near_pairs_between`` (pairs across two sets: turned variants against the photos) use multi-index
hashing, the winner of the measurements in docs/matching.md (real-looking, clustered pHashes; uniform
random hashes flatter every index):

* the varying bits are split into m chunks (4-5 of 13-16 bits at a million hashes). Chunk i gets a radius t_i
  with sum(t_i + 1) > d, so by pigeonhole a pair within d differs by at most t_i bits in some chunk i;
* per chunk the hashes are laid out sorted by chunk value (a counting sort) with where each value's
  bucket starts. A bucket meets every bucket whose value is within t_i of its own: those hashes are
  copied into one buffer and compared with the bucket's, four at a time, in a compiled loop
  (``index_kernels``, vectorised popcount). Within one set only the lower of two buckets looks, so
  each pair is met once;
* a pair met through chunk i is kept only if no earlier chunk j had it within t_j: no duplicates and no
  de-duplication pass;
* equal hashes (bursts, copies, blank frames) are folded into one value first and their pairs expanded at
  the end, so piles of identical hashes cost nothing.

The chunking is chosen by a cost model over the real bucket sizes (clustered hashes crowd some buckets);
"all pairs" is the one-bucket plan of the same loop. Small searches (below ~20,000 hashes until the compiled
loops are loaded in this process) use numpy's all-pairs instead: cheaper than that first load. Buckets are
shared out to a thread pool: the compiled loops release the GIL. The answer does not depend on the plan;
the tests hold every path to the pairs of ``brute_force_pairs``, plain numpy written apart from the index.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

__all__ = [
    "brute_force_pairs",
    "brute_force_pairs_between",
    "exact_groups",
    "hamming_many",
    "near_pairs",
    "near_pairs_between",
]

_MAX_CHUNK_BITS = 22  # a 2**22-slot bucket table is 32 MB; wider chunks buy nothing at 1 M hashes
_BLOCK = 1 << 20  # elements per expansion block: bounds memory whatever the bucket sizes
_TILE_ROWS, _TILE_COLS = 256, 4096  # brute force tiles: 1 M comparisons, 8 MB of XOR, per numpy call
# Below these many comparisons numpy's brute force (~1.3 ns each on two threads) beats the compiled loops:
# before they are loaded (numba's import and the cached machine code, ~0.35 s once per process), and after.
_NUMPY_PAIRS, _NUMPY_PAIRS_LOADED = 200_000_000, 2_000_000
_PIECES = 8  # work items per chunk and thread: crowded buckets even out
_SAMPLE_SLOTS = 2048  # buckets whose neighbourhood the cost model measures per chunk
_MEASURED_PLANS = 3  # chunkings costed on the real bucket sizes (the best of the uniform estimate)
# Cost model, in ns on one core of the reference machine (fitted to timed runs of 39 plans at 100 k and
# 1 M photo-like hashes, docs/matching.md):
_CMP_NS = 0.07  # one comparison in the vectorised loop
_COPY_NS = 1.7  # one hash copied into a bucket's buffer
_PROBE_NS = 6.5  # one neighbouring bucket looked up
_SLOT_NS = 1200.0  # per non-empty bucket: its loops and buffer
_SETUP_NS = 29.0  # per hash and chunk: key, counting sort, gather, planning
_NS = np.array([_CMP_NS, _COPY_NS, _PROBE_NS, _SLOT_NS, _SETUP_NS])
_U64_MAX = 2**64 - 1
_LOW_ENTROPY = 0.1  # bits below this (p < 1.3 % or > 98.7 %) are also tried left out of the chunks


def hamming_many(a: object, b: object) -> np.ndarray:
    """Hamming distances between 64-bit hashes, element-wise with numpy broadcasting (uint8)."""
    return np.bitwise_count(np.bitwise_xor(_as_hashes(a, ndim=None), _as_hashes(b, ndim=None)))


def exact_groups(values: Sequence[str | None]) -> list[list[int]]:
    """Indices that share an equal non-None value (digests, fingerprints), groups of two or more.

    Each group is ascending and groups are ordered by their first index, so the result is stable.
    """
    seen: dict[str, list[int]] = {}
    for i, value in enumerate(values):
        if value is not None:
            seen.setdefault(value, []).append(i)
    return [g for g in seen.values() if len(g) > 1]


def brute_force_pairs(hashes: object, max_distance: int, *, workers: int | None = 1) -> np.ndarray:
    """Reference answer: every pair (i < j) within ``max_distance``, by comparing all pairs in blocks.

    Returns an int64 array of shape (k, 2), sorted lexicographically; memory stays at a few tiles whatever n.
    """
    h = _as_hashes(hashes)
    d = _check_distance(max_distance)
    return _decode(_brute_keys(h, h, d, _workers(workers), upper=True), len(h))


def brute_force_pairs_between(
    a: object, b: object, max_distance: int, *, workers: int | None = 1
) -> np.ndarray:
    """Reference answer: every pair (i, j), i in ``a`` and j in ``b``, within ``max_distance``."""
    ha, hb = _as_hashes(a), _as_hashes(b)
    d = _check_distance(max_distance)
    return _decode(_brute_keys(ha, hb, d, _workers(workers), upper=False), len(hb))


def near_pairs(
    hashes: object, max_distance: int, *, workers: int | None = None, method: str = "auto"
) -> np.ndarray:
    """Every pair (i < j) of ``hashes`` (uint64, shape (n,)) within Hamming distance ``max_distance``.

    Exactly the pairs of ``brute_force_pairs``, as an int64 array of shape (k, 2) sorted lexicographically.
    ``workers`` threads share the search (default: the CPUs this process may use). ``method`` is "auto"
    (the cheapest plan by the cost model), "index" (the cheapest chunked plan) or "brute" (all pairs, in
    the same compiled loop): the answer is the same, the choice exists for tests and benchmarks.
    """
    _check_method(method)
    h = _as_hashes(hashes)
    d = _check_distance(max_distance)
    n = len(h)
    if n < 2:
        return np.empty((0, 2), np.int64)
    values, inverse = np.unique(h, return_inverse=True)
    if len(values) < 2 or d == 0:
        value_keys = np.empty(0, np.int64)
    else:
        value_keys = _search(values, None, d, _workers(workers), method)
    return _decode(_item_keys(value_keys, len(values), inverse.ravel(), n), n)


def near_pairs_between(
    a: object, b: object, max_distance: int, *, workers: int | None = None, method: str = "auto"
) -> np.ndarray:
    """Every pair (i, j), i indexing ``a`` and j indexing ``b``, within Hamming distance ``max_distance``.

    Exactly the pairs of ``brute_force_pairs_between`` (int64, shape (k, 2), sorted lexicographically),
    without the pairs inside either set: a search of queries against an index. Options as ``near_pairs``.
    """
    _check_method(method)
    ha, hb = _as_hashes(a), _as_hashes(b)
    d = _check_distance(max_distance)
    if not len(ha) or not len(hb):
        return np.empty((0, 2), np.int64)
    va, ia = np.unique(ha, return_inverse=True)
    vb, ib = np.unique(hb, return_inverse=True)
    value_keys = _search(va, vb, d, _workers(workers), method)
    keys = _cross_keys(value_keys, _Members(ia.ravel(), len(va)), _Members(ib.ravel(), len(vb)))
    return _decode(keys, len(hb))


# --- input ---------------------------------------------------------------------------------------------


def _check_method(method: str) -> None:
    if method not in ("auto", "index", "brute"):
        raise ValueError(f"method must be 'auto', 'index' or 'brute', not {method!r}")


def _as_hashes(hashes: object, ndim: int | None = 1) -> np.ndarray:
    """uint64 view of hashes: numpy integer arrays (int64 taken bit for bit) or Python ints below 2**64."""
    if isinstance(hashes, np.ndarray | np.integer):
        arr = np.asarray(hashes)
    else:  # Python ints: as objects, so 2**63..2**64-1 neither overflow nor turn into floats
        arr = np.asarray(hashes, dtype=object)
        if arr.size == 0:
            arr = arr.astype(np.uint64)
    if arr.dtype == np.uint64:
        out = arr
    elif arr.dtype == np.int64:
        out = arr.view(np.uint64)
    elif arr.dtype.kind in "iuO":
        if arr.dtype == object and not all(isinstance(x, int | np.integer) for x in arr.flat):
            raise TypeError("hashes must be integers")
        if arr.size and ((arr < 0).any() or (arr > _U64_MAX).any()):
            raise ValueError("hashes must be 64-bit unsigned integers (0 <= hash < 2**64)")
        out = arr.astype(np.uint64)
    else:
        raise TypeError(f"hashes must be 64-bit integers, not {arr.dtype}")
    if ndim is not None and out.ndim != ndim:
        raise ValueError(f"hashes must be a 1-D array, got shape {out.shape}")
    return np.ascontiguousarray(out)


def _check_distance(max_distance: int) -> int:
    d = int(max_distance)
    if d != max_distance or d < 0:
        raise ValueError(f"max_distance must be a non-negative integer, not {max_distance!r}")
    return min(d, 64)


def _workers(workers: int | None) -> int:
    if workers is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)
    return max(1, int(workers))


def _map(fn: Callable, items: list, workers: int) -> list:
    """``fn`` over ``items`` on a thread pool (the heavy steps release the GIL), in order."""
    if workers <= 1 or len(items) <= 1:
        return [fn(it) for it in items]
    with ThreadPoolExecutor(min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


# --- output: pairs as one sortable int64 key (i * n + j) ----------------------------------------------


def _decode(keys: np.ndarray, n: int) -> np.ndarray:
    keys = np.sort(keys)
    out = np.empty((len(keys), 2), np.int64)
    np.floor_divide(keys, n, out=out[:, 0])
    np.subtract(keys, out[:, 0] * n, out=out[:, 1])
    return out


def _pair_keys(a: np.ndarray, b: np.ndarray, n: int, ordered: bool = True) -> np.ndarray:
    a = a.astype(np.int64, copy=False)
    b = b.astype(np.int64, copy=False)
    return np.minimum(a, b) * n + np.maximum(a, b) if ordered else a * n + b


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated aranges [start, start + count) for each row: the vectorised inner loop."""
    counts = counts.astype(np.int64, copy=False)
    ends = np.cumsum(counts)
    total = int(ends[-1]) if len(ends) else 0
    return np.arange(total, dtype=np.int64) - np.repeat(ends - counts - starts, counts)


def _blocks(counts: np.ndarray) -> Iterator[slice]:
    """Row slices whose counts add up to about ``_BLOCK`` (at least one row each), to bound memory."""
    if not len(counts):
        return
    cap = _BLOCK
    ends = np.cumsum(counts, dtype=np.int64)
    lo = 0
    while lo < len(counts):
        base = int(ends[lo - 1]) if lo else 0
        hi = max(int(np.searchsorted(ends, base + cap, "right")), lo + 1)
        yield slice(lo, hi)
        lo = hi


class _Members:
    """The items that carry each distinct value: ``order[starts[v]:starts[v] + counts[v]]``, ascending."""

    def __init__(self, inverse: np.ndarray, u: int) -> None:
        self.counts = np.bincount(inverse, minlength=u)
        self.order = np.argsort(inverse, kind="stable")
        self.starts = np.cumsum(self.counts) - self.counts
        self.n = len(inverse)


def _cross_keys(value_keys: np.ndarray, a: _Members, b: _Members, ordered: bool = False) -> np.ndarray:
    """Pairs of values (va * len(b values) + vb) -> every pair of their items (ia * n + ib, or min/max)."""
    vb_count = len(b.counts)
    va, vb = np.divmod(value_keys, vb_count)
    n = b.n
    if a.counts.max(initial=0) <= 1 and b.counts.max(initial=0) <= 1:  # every value one item: rename
        return _pair_keys(np.take(a.order, va), np.take(b.order, vb), n, ordered)
    parts = []
    ca, cb = np.take(a.counts, va), np.take(b.counts, vb)
    for s in _blocks(ca * cb):  # every member of one value with every member of the other
        x, y, na, nb = va[s], vb[s], ca[s], cb[s]
        ra = _ranges(np.take(a.starts, x), na)  # members of x, each repeated for the members of y
        ia = np.repeat(ra, np.repeat(nb, na))
        ib = _ranges(np.repeat(np.take(b.starts, y), na), np.repeat(nb, na))
        parts.append(_pair_keys(np.take(a.order, ia), np.take(b.order, ib), n, ordered))
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


def _item_keys(value_keys: np.ndarray, u: int, inverse: np.ndarray, n: int) -> np.ndarray:
    """Pairs of distinct values -> pairs of items, plus every pair of items that share a value."""
    m = _Members(inverse, u)
    parts = [_cross_keys(value_keys, m, m, ordered=True)]
    multi = np.flatnonzero(m.counts > 1)  # every pair inside a value
    cm = m.counts[multi]
    pos = _ranges(m.starts[multi], cm)  # positions of those members in `order`
    later = np.repeat(m.starts[multi] + cm, cm) - pos - 1  # members after each one
    for s in _blocks(later):
        p, k = pos[s], later[s]
        parts.append(_pair_keys(np.take(m.order, np.repeat(p, k)), np.take(m.order, _ranges(p + 1, k)), n))
    return np.concatenate(parts)


# --- brute force (the reference, numpy only) -------------------------------------------------------------


def _brute_keys(ha: np.ndarray, hb: np.ndarray, d: int, workers: int, upper: bool) -> np.ndarray:
    """All pairs (i in ha, j in hb) within d as i * len(hb) + j, tile by tile (only j > i when ``upper``)."""
    na, nb = len(ha), len(hb)

    def row(r0: int) -> list[np.ndarray]:
        r1 = min(na, r0 + _TILE_ROWS)
        rows = ha[r0:r1, None]
        xor = np.empty((r1 - r0, _TILE_COLS), np.uint64)
        cnt = np.empty((r1 - r0, _TILE_COLS), np.uint8)
        near = np.empty((r1 - r0, _TILE_COLS), bool)
        out = []
        for c0 in range(r0 if upper else 0, nb, _TILE_COLS):
            c1 = min(nb, c0 + _TILE_COLS)
            w = c1 - c0
            np.bitwise_xor(rows, hb[None, c0:c1], out=xor[:, :w])
            np.bitwise_count(xor[:, :w], out=cnt[:, :w])
            np.less_equal(cnt[:, :w], d, out=near[:, :w])
            i, j = np.nonzero(near[:, :w])
            if upper and c0 == r0:  # the diagonal tile: keep the upper triangle
                k = np.flatnonzero(j > i)
                i, j = i[k], j[k]
            if len(i):
                out.append((i + r0).astype(np.int64) * nb + (j + c0))
        return out

    parts = [a for part in _map(row, list(range(0, na, _TILE_ROWS)), workers) for a in part]
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


# --- planning the chunks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    bits: tuple[int, ...]  # positions (0 = least significant) that form the chunk value
    radius: int


_ALL_PAIRS = [_Chunk((), 0)]  # one bucket holding everything: brute force in the same loop


def _entropy(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return -(q * np.log2(q) + (1 - q) * np.log2(1 - q))


def _bit_matrix(values: np.ndarray) -> np.ndarray:
    """(n, 64) uint8, column j = bit j of each value."""
    raw = values.astype("<u8", copy=False).view(np.uint8).reshape(-1, 8)
    return np.unpackbits(raw, axis=1, bitorder="little")


def _plans(values: np.ndarray, d: int, counts: Sequence[int] | None = None) -> list[list[_Chunk]]:
    """Candidate chunkings (m chunks, with and without near-constant bits; ``counts``: these m only).

    Bits that never vary cannot separate anything and are left out (pigeonhole still holds over the rest);
    nearly constant ones (a pHash's DC bit) add work for no selectivity, so each m is also tried without
    them. The rest are dealt to chunks by entropy, so every chunk is about as selective.
    """
    sample = values if len(values) <= 65536 else values[np.random.default_rng(0).choice(len(values), 65536)]
    entropy = _entropy(_bit_matrix(sample).mean(axis=0))
    ones, zeros = int(np.bitwise_or.reduce(values)), int(np.bitwise_or.reduce(~values))
    varying = [b for b in range(64) if ones >> b & zeros >> b & 1]  # on everything, not the sample
    varying.sort(key=lambda b: -entropy[b])
    informative = [b for b in varying if entropy[b] >= _LOW_ENTROPY]
    out = []
    for bits in [varying] + ([informative] if informative != varying else []):
        if d >= len(bits):  # every pair of distinct values could be within d
            continue
        fewest = math.ceil(len(bits) / _MAX_CHUNK_BITS)  # may exceed d + 1: radii 0, still pigeonhole
        ms = range(fewest, max(fewest, min(len(bits), d + 1, fewest + 4)) + 1) if counts is None else counts
        out += [_chunking(list(bits), m, d) for m in ms if fewest <= m <= len(bits)]
    return out


def _chunking(bits: list[int], m: int, d: int) -> list[_Chunk]:
    """Deal ``bits`` (highest entropy first) to m chunks in snake order; radii sum to d + 1 - m."""
    groups: list[list[int]] = [[] for _ in range(m)]
    for k, b in enumerate(bits):
        r = k % (2 * m)
        groups[r if r < m else 2 * m - 1 - r].append(b)
    radii = [0] * m
    by_width = sorted(range(m), key=lambda i: -len(groups[i]))
    for k in range(max(0, d + 1 - m)):  # wider chunks take the larger radii
        radii[by_width[k % m]] += 1
    return [_Chunk(tuple(sorted(g)), t) for g, t in zip(groups, radii, strict=True)]


def _masks(width: int, radius: int, with_zero: bool) -> tuple[np.ndarray, np.ndarray]:
    """Flip masks of weight <= radius over ``width`` bits, grouped by top bit: (masks, top_start).

    ``top_start[b]..top_start[b + 1]`` are the masks whose highest bit is b; mask 0 (when asked for)
    comes first, before every group.
    """
    groups: list[list[int]] = [[] for _ in range(width)]
    for w in range(1, radius + 1):
        for bits in itertools.combinations(range(width), w):
            groups[bits[-1]].append(sum(1 << b for b in bits))
    masks = ([0] if with_zero else []) + [m for g in groups for m in g]
    top_start = np.cumsum([int(with_zero)] + [len(g) for g in groups]).astype(np.int64)
    return np.array(masks, np.int32), top_start


class _Layout:
    """One chunk over one set of distinct hashes: sorted by chunk value, where each bucket starts."""

    def __init__(self, values: np.ndarray, chunk: _Chunk) -> None:
        from photodedup.match import index_kernels as k

        width = len(chunk.bits)
        keys = k.chunk_keys(values, np.array(chunk.bits, np.int64))
        self.offs = k.bucket_offsets(keys, width)
        self.order = k.counting_order(keys, self.offs)
        self.hashes = np.take(values, self.order)
        self.slots = np.flatnonzero(self.offs[1:] != self.offs[:-1]).astype(np.int32)  # non-empty buckets
        self.width = width


def _work(a: np.ndarray, b: np.ndarray | None, chunks: list[_Chunk]) -> np.ndarray:
    """What a plan would do, from the real bucket sizes and a sample of neighbourhoods: comparisons,
    hashes copied, bucket look-ups, non-empty buckets, hashes laid out (the cost model's counts)."""
    from photodedup.match import index_kernels as k

    rng = np.random.default_rng(0)
    work = np.zeros(5)
    for c in chunks:
        width = len(c.bits)
        bits = np.array(c.bits, np.int64)
        offs_a = k.bucket_offsets(k.chunk_keys(a, bits), width)
        offs_b = offs_a if b is None else k.bucket_offsets(k.chunk_keys(b, bits), width)
        slots = np.flatnonzero(offs_a[1:] != offs_a[:-1]).astype(np.int32)
        sample = slots if len(slots) <= _SAMPLE_SLOTS else rng.choice(slots, _SAMPLE_SLOTS, replace=False)
        masks, _ = _masks(width, c.radius, with_zero=b is not None)
        load = k.neighbour_load(sample, offs_b, masks).astype(np.float64)
        size = (offs_a[sample + 1] - offs_a[sample]).astype(np.float64)
        if b is None:  # only the lower of two buckets looks; its own members meet each other
            load = load / 2 + size / 2
        scale = len(slots) / max(1, len(sample))
        work += [
            float((np.ceil(size / 4) * 4 * load).sum()) * scale,
            float(load.sum()) * scale,
            len(slots) * len(masks) / (2 if b is None else 1),
            len(slots),
            len(a) + (0 if b is None else len(b)),
        ]
    return work


def _estimate(a: np.ndarray, b: np.ndarray | None, chunks: list[_Chunk]) -> float:
    """Estimated ns on one core for a plan."""
    return float(_work(a, b, chunks) @ _NS)


def _ball(bits: int, radius: int) -> int:
    return sum(math.comb(bits, k) for k in range(radius + 1))


def _rough(chunks: list[_Chunk], na: int, nb: int | None) -> float:
    """The cost model for uniform hashes (no bucket sizes needed): ranks the plans worth measuring."""
    cost = 0.0
    for c in chunks:
        slots = min(na, 2 ** len(c.bits))
        looked = _ball(len(c.bits), c.radius) - (1 if nb is None else 0)
        pairs = na * (na if nb is None else nb) / 2 ** len(c.bits) * looked / (2 if nb is None else 1)
        cost += slots * (looked * _PROBE_NS + _SLOT_NS) + pairs * (_CMP_NS + _COPY_NS * slots / max(na, 1))
    return cost


def _choose(a: np.ndarray, b: np.ndarray | None, d: int, method: str) -> list[_Chunk]:
    """The plan for this search: all pairs (one bucket) or the cheapest chunking by the cost model.

    Plans are ranked by the uniform estimate; the best few are then costed on the real bucket sizes.
    """
    if method == "brute":
        return _ALL_PAIRS
    nb = None if b is None else len(b)
    plans = sorted(_plans(a if b is None else np.concatenate([a, b]), d), key=lambda p: _rough(p, len(a), nb))
    plans = plans[:_MEASURED_PLANS]
    if method == "auto":
        plans.append(_ALL_PAIRS)
    if not plans:
        return _ALL_PAIRS
    costs = [_estimate(a, b, p) for p in plans]
    return plans[int(np.argmin(costs))]


# --- the search -----------------------------------------------------------------------------------------


def _numpy_pairs() -> int:
    loaded = "photodedup.match.index_kernels" in sys.modules
    return _NUMPY_PAIRS_LOADED if loaded else _NUMPY_PAIRS


def _search(
    a: np.ndarray,
    b: np.ndarray | None,
    d: int,
    workers: int,
    method: str,
    plan: list[_Chunk] | None = None,
) -> np.ndarray:
    """Keys of all pairs within d: inside ``a`` (min * n + max) when ``b`` is None, else a * len(b) + b.

    Across two sets the smaller one's buckets do the looking (fewer buckets, the same comparisons).
    ``plan`` forces a chunking (benchmarks of the alternatives).
    """
    if max(len(a), 0 if b is None else len(b)) >= 2**31:
        raise ValueError("the candidate search handles fewer than 2**31 distinct hashes")
    if plan is None and method == "auto" and len(a) * (len(a) / 2 if b is None else len(b)) <= _numpy_pairs():
        return _brute_keys(a, a if b is None else b, d, workers, upper=b is None)
    from photodedup.match import index_kernels as k

    chunks = plan if plan is not None else _choose(a, b, d, method)
    swap = b is not None and len(b) < len(a)
    probe, other = (b, a) if swap else (a, b)
    n = len(a) if b is None else len(b)
    parts: list[np.ndarray] = []
    for ci, c in enumerate(chunks):
        prev_masks = np.array([sum(1 << x for x in p.bits) for p in chunks[:ci]], np.uint64)
        prev_radii = np.array([p.radius for p in chunks[:ci]], np.uint64)
        la = _Layout(probe, c)
        lb = la if other is None else _Layout(other, c)
        masks, top_start = _masks(la.width, c.radius, with_zero=other is not None)
        pieces = np.array_split(la.slots, max(1, min(len(la.slots), workers * _PIECES)))

        def run(slots: np.ndarray, la=la, lb=lb, masks=masks, top_start=top_start, pm=prev_masks,
                pr=prev_radii) -> np.ndarray:  # fmt: skip
            if other is None:
                return k.self_join(la.hashes, la.order, la.offs, slots, masks, top_start, d, pm, pr, n)
            return k.probe_join(la.hashes, la.order, la.offs, slots, lb.hashes, lb.order, lb.offs, masks, d,
                                pm, pr, n, swap)  # fmt: skip

        parts += _map(run, pieces, workers)
        del la, lb
    return np.concatenate(parts) if parts else np.empty(0, np.int64)
