"""Every pair of 64-bit fingerprints within a Hamming distance: the pairs brute force finds, far faster.

All pairs of a million photos are 5 * 10**11 comparisons (~16 min of numpy even as blocked XOR + popcount), so
``near_pairs`` uses multi-index hashing with neighbourhood enumeration, the winner of the measurements in
docs/matching.md (real-looking, clustered pHashes; uniform random hashes flatter every index):

* the varying bits are split into m chunks (m = 3 of ~21 bits at a million hashes, more and smaller chunks
  for fewer hashes). Chunk i gets a radius t_i with sum(t_i + 1) > d, so by pigeonhole a pair within d
  differs by at most t_i bits in some chunk i. Chunks of exact equality alone would need d + 1 chunks of
  ~6 bits, whose buckets hold ~1/64 of everything;
* per chunk the hashes are sorted by chunk value, and a direct-address table (2**bits slots) holds the
  first hash of each bucket. Every hash probes the slots at each flip mask f (|f| <= t_i), only towards
  the half-space of f's top bit so each pair is met once. The slot stores 32 of the hash's *other* bits,
  so one gather and one popcount reject almost every probe (chunk distance |f| plus those bits is a lower
  bound); empty slots hold a far-away pattern and the few that pass are dropped by a second lookup;
* later members of a bucket (hashes sharing a chunk value) reach first members through the same table
  from their side, and each other through a small expansion;
* a pair found through chunk i is kept only if no earlier chunk j had it within t_j: no duplicates and
  no final de-duplication pass;
* equal hashes (bursts, copies, blank frames) are folded into one value first, so piles of identical
  hashes cost nothing; their pairs are expanded at the end.

The work items (chunk, top bit of the mask) run on a thread pool: numpy releases the GIL in every step that
matters. When the estimated cost says all pairs are cheaper (small inputs, large distances), it compares
all pairs in blocks instead. The result does not depend on which path ran; the tests hold both to the
same pairs.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

__all__ = ["brute_force_pairs", "exact_groups", "hamming_many", "near_pairs"]

_MAX_CHUNK_BITS = 22  # a 2**22-slot table is 16 MB per array; wider chunks buy little at 1 M hashes
_BLOCK = 1 << 20  # elements per expansion block: bounds memory whatever the bucket sizes
_TILE_ROWS, _TILE_COLS = 256, 4096  # brute force tiles: 1 M comparisons, 8 MB of XOR, per numpy call
# Cost model, in units of one brute-force comparison (measured on the 2-core reference machine):
_PROBE_COST = 1.5  # one hash probing one slot (gather + popcount + compare)
_MASK_OVERHEAD = 4000.0  # fixed numpy call overhead per flip mask
_SETUP_COST = 150.0  # per hash and chunk: extract, sort, tables
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
    n = len(h)
    keys = _brute_keys(h, d, _workers(workers))
    return _decode(keys, n)


def near_pairs(
    hashes: object, max_distance: int, *, workers: int | None = None, method: str = "auto"
) -> np.ndarray:
    """Every pair (i < j) of ``hashes`` (uint64, shape (n,)) within Hamming distance ``max_distance``.

    Exactly the pairs of ``brute_force_pairs``, as an int64 array of shape (k, 2) sorted lexicographically.
    ``workers`` threads share the search (default: the CPUs this process may use). ``method`` is "auto"
    (the index unless the cost model says all pairs are cheaper), "index" or "brute": the answer is the
    same, the choice exists for tests and benchmarks.
    """
    if method not in ("auto", "index", "brute"):
        raise ValueError(f"method must be 'auto', 'index' or 'brute', not {method!r}")
    h = _as_hashes(hashes)
    d = _check_distance(max_distance)
    n = len(h)
    if n < 2:
        return np.empty((0, 2), np.int64)
    values, inverse = np.unique(h, return_inverse=True)
    workers = _workers(workers)
    if len(values) < 2 or d == 0:
        value_keys = np.empty(0, np.int64)
    else:
        plan = None if method == "brute" else _plan(values, d, force=method == "index")
        if plan is None:
            value_keys = _brute_keys(values, d, workers)
        else:
            keys = _mih_keys(values, d, plan, workers, force=method == "index")
            value_keys = _brute_keys(values, d, workers) if keys is None else keys
    return _decode(_item_keys(value_keys, len(values), inverse.ravel(), n), n)


# --- input ---------------------------------------------------------------------------------------------


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
    """``fn`` over ``items`` on a thread pool (numpy releases the GIL in the heavy steps), in order."""
    if workers <= 1 or len(items) <= 1:
        return [fn(it) for it in items]
    with ThreadPoolExecutor(min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def _run(fn: Callable[[object], list[np.ndarray]], items: list, workers: int) -> list[np.ndarray]:
    return [a for part in _map(fn, items, workers) for a in part]


# --- output: pairs as one sortable int64 key (i * n + j) ----------------------------------------------


def _decode(keys: np.ndarray, n: int) -> np.ndarray:
    keys = np.sort(keys)
    out = np.empty((len(keys), 2), np.int64)
    np.floor_divide(keys, n, out=out[:, 0])
    np.subtract(keys, out[:, 0] * n, out=out[:, 1])
    return out


def _pair_keys(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    a = a.astype(np.int64, copy=False)
    b = b.astype(np.int64, copy=False)
    return np.minimum(a, b) * n + np.maximum(a, b)


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


def _item_keys(value_keys: np.ndarray, u: int, inverse: np.ndarray, n: int) -> np.ndarray:
    """Pairs of distinct values -> pairs of items, plus every pair of items that share a value."""
    counts = np.bincount(inverse, minlength=u)
    order = np.argsort(inverse, kind="stable")  # items of each value, ascending
    if len(value_keys) == 0 and counts.max(initial=0) < 2:
        return np.empty(0, np.int64)
    va, vb = np.divmod(value_keys, u)
    if counts.max(initial=0) == 1:  # every value is one item: rename only
        return _pair_keys(np.take(order, va), np.take(order, vb), n)
    starts = np.cumsum(counts) - counts
    parts = []
    ca, cb = np.take(counts, va), np.take(counts, vb)
    for s in _blocks(ca * cb):  # every member of one value with every member of the other
        a, b, na, nb = va[s], vb[s], ca[s], cb[s]
        ra = _ranges(np.take(starts, a), na)  # members of a, each repeated for the members of b
        ia = np.repeat(ra, np.repeat(nb, na))
        ib = _ranges(np.repeat(np.take(starts, b), na), np.repeat(nb, na))
        parts.append(_pair_keys(np.take(order, ia), np.take(order, ib), n))
    multi = np.flatnonzero(counts > 1)  # every pair inside a value
    cm = counts[multi]
    pos = _ranges(starts[multi], cm)  # positions of those members in `order`
    later = np.repeat(starts[multi] + cm, cm) - pos - 1  # members after each one
    for s in _blocks(later):
        p, k = pos[s], later[s]
        parts.append(_pair_keys(np.take(order, np.repeat(p, k)), np.take(order, _ranges(p + 1, k)), n))
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


# --- brute force ---------------------------------------------------------------------------------------


def _brute_keys(h: np.ndarray, d: int, workers: int) -> np.ndarray:
    """All pairs within d as keys, tile by tile over the upper triangle (i < j)."""
    n = len(h)
    starts = range(0, n, _TILE_ROWS)

    def row(r0: int) -> list[np.ndarray]:
        r1 = min(n, r0 + _TILE_ROWS)
        rows = h[r0:r1, None]
        xor = np.empty((r1 - r0, _TILE_COLS), np.uint64)
        cnt = np.empty((r1 - r0, _TILE_COLS), np.uint8)
        near = np.empty((r1 - r0, _TILE_COLS), bool)
        out = []
        for c0 in range(r0, n, _TILE_COLS):
            c1 = min(n, c0 + _TILE_COLS)
            w = c1 - c0
            np.bitwise_xor(rows, h[None, c0:c1], out=xor[:, :w])
            np.bitwise_count(xor[:, :w], out=cnt[:, :w])
            np.less_equal(cnt[:, :w], d, out=near[:, :w])
            i, j = np.nonzero(near[:, :w])
            if c0 == r0:  # the diagonal tile: keep the upper triangle
                k = np.flatnonzero(j > i)
                i, j = i[k], j[k]
            if len(i):
                out.append((i + r0).astype(np.int64) * n + (j + c0))
        return out

    parts = _run(row, list(starts), workers)
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


# --- multi-index hashing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    bits: tuple[int, ...]  # positions (0 = least significant) that form the chunk value
    radius: int


def _entropy(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return -(q * np.log2(q) + (1 - q) * np.log2(1 - q))


def _ball(bits: int, radius: int) -> int:
    return sum(math.comb(bits, k) for k in range(radius + 1))


def _bit_matrix(values: np.ndarray) -> np.ndarray:
    """(n, 64) uint8, column j = bit j of each value."""
    raw = values.astype("<u8", copy=False).view(np.uint8).reshape(-1, 8)
    return np.unpackbits(raw, axis=1, bitorder="little")


def _pack(bits: np.ndarray) -> np.ndarray:
    """Columns (at most 32) of a bit matrix as uint32 values, first column = least significant bit."""
    n = len(bits)
    packed = np.packbits(bits, axis=1, bitorder="little")
    out = np.zeros((n, 4), np.uint8)
    out[:, : packed.shape[1]] = packed
    return out.view("<u4").ravel().astype(np.uint32)


def _plan(values: np.ndarray, d: int, force: bool = False) -> list[_Chunk] | None:
    """The cheapest chunking by the cost model, or None when comparing all pairs is cheaper."""
    plans = _plans(values, d)
    if not plans:
        return None
    cost, chunks = min(plans, key=lambda p: p[0])
    n = len(values)
    return chunks if force or cost < n * (n - 1) / 2 else None


def _plans(values: np.ndarray, d: int) -> list[tuple[float, list[_Chunk]]]:
    """Candidate chunkings (m chunks, with and without near-constant bits) and their estimated costs.

    Bits that never vary cannot separate anything and are left out (pigeonhole still holds over the rest);
    nearly constant ones (a pHash's DC bit) add probes for no selectivity, so each m is also tried without
    them. The rest are dealt to chunks by entropy, so every chunk is about as selective.
    """
    n = len(values)
    sample = values if n <= 65536 else values[np.random.default_rng(0).choice(n, 65536, replace=False)]
    entropy = _entropy(_bit_matrix(sample).mean(axis=0))
    ones = np.bitwise_or.reduce(values)
    zeros = np.bitwise_or.reduce(~values)
    varying = [b for b in range(64) if int(ones) >> b & int(zeros) >> b & 1]  # on everything, not the sample
    varying.sort(key=lambda b: -entropy[b])
    informative = [b for b in varying if entropy[b] >= _LOW_ENTROPY]
    out = []
    for bits in [varying] + ([informative] if informative != varying else []):
        if d >= len(bits):  # every pair of distinct values could be within d
            continue
        fewest = math.ceil(len(bits) / _MAX_CHUNK_BITS)  # may exceed d + 1: radii 0, still pigeonhole
        for m in range(fewest, max(fewest, min(len(bits), d + 1)) + 1):
            chunks = _chunking(list(bits), m, d)
            out.append((_cost(chunks, entropy, n), chunks))
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


def _cost(chunks: list[_Chunk], entropy: np.ndarray, n: int) -> float:
    """Estimated work in brute-force comparisons: probes per mask, bucket crowding, fixed costs."""
    cost = 0.0
    for c in chunks:
        masks = _ball(len(c.bits), c.radius) - 1
        lam = n / 2 ** min(float(entropy[list(c.bits)].sum()), len(c.bits))  # hashes per slot
        rest = 1 - (1 - math.exp(-lam)) / lam if lam > 1e-9 else 0.0  # share of later bucket members
        cost += masks * (n * (0.5 + rest + 0.5 * rest * lam) * _PROBE_COST + _MASK_OVERHEAD)
        cost += n * _SETUP_COST + n * lam / 2
    return cost


class _Index:
    """One chunk's sorted order and direct-address tables."""

    def __init__(self, values: np.ndarray, bitmat: np.ndarray, chunk: _Chunk, fp_bits: list[int]):
        width = len(chunk.bits)
        key = _pack(bitmat[:, list(chunk.bits)]).astype(np.int32)
        self.order = np.argsort(key, kind="stable")
        self.key = np.take(key, self.order)
        self.hashes = np.take(values, self.order)
        n = len(values)
        fp = _pack(bitmat[:, fp_bits])
        self.fp = np.take(fp, self.order)
        first = np.flatnonzero(np.r_[True, self.key[1:] != self.key[:-1]])
        end = np.r_[first[1:], n]
        slots = np.take(self.key, first)
        # empty slots hold the complement of the usual fingerprint: far from most, and checked anyway
        majority = _pack((bitmat[:, fp_bits].mean(axis=0) >= 0.5)[None, :].astype(np.uint8))[0]
        self.fp_table = np.full(1 << width, ~majority, np.uint32)
        self.fp_table[slots] = np.take(self.fp, first)
        self.first_table = np.full(1 << width, -1, np.int32)
        self.first_table[slots] = first
        multi = np.flatnonzero(end - first > 1)
        self.rest_table = np.full(1 << width, -1, np.int32)  # second member of a bucket, if any
        self.rest_table[slots[multi]] = first[multi] + 1
        self.end = np.repeat(end, end - first).astype(np.int32)  # end of each position's bucket
        is_rest = np.ones(n, bool)
        is_rest[first] = False
        self.rest = np.flatnonzero(is_rest)
        self.first = first
        self.radius = chunk.radius
        self.width = width

    def cost(self) -> float:
        """The cost model of ``_cost`` with the real bucket sizes instead of the uniform estimate."""
        n = len(self.key)
        sizes = np.diff(np.r_[self.first, n]).astype(np.float64)
        lam = float((sizes * sizes).sum()) / n  # bucket size seen by an average hash
        rest = len(self.rest)
        masks = _ball(self.width, self.radius) - 1
        cost = masks * ((n * 0.5 + rest + 0.5 * rest * lam) * _PROBE_COST + _MASK_OVERHEAD)
        return cost + float((sizes * (sizes - 1)).sum()) / 2 + n * _SETUP_COST


def _masks_by_top_bit(width: int, radius: int) -> list[tuple[int, np.ndarray]]:
    """Non-zero flip masks of weight <= radius over ``width`` bits, grouped by their highest bit."""
    groups: list[tuple[int, np.ndarray]] = []
    for top in range(width):
        masks = [1 << top]
        for w in range(1, radius):
            for rest in itertools.combinations(range(top), w):
                masks.append((1 << top) | sum(1 << b for b in rest))
        groups.append((top, np.array(masks, np.int32)))
    return groups if radius > 0 else []


def _indexes(values: np.ndarray, plan: list[_Chunk], workers: int) -> list[_Index]:
    """One index per chunk; the fingerprint in the table is 32 of the other bits, most informative first."""
    bitmat = _bit_matrix(values)
    entropy = _entropy(bitmat.mean(axis=0))

    def build(c: _Chunk) -> _Index:
        others = sorted((b for b in range(64) if b not in c.bits), key=lambda b: -entropy[b])[:32]
        return _Index(values, bitmat, c, others)

    return _map(build, plan, workers)


def _mih_keys(
    values: np.ndarray, d: int, plan: list[_Chunk], workers: int, force: bool = False
) -> np.ndarray | None:
    """Keys of all value pairs within d through the chunk indexes; None if the buckets turn out so
    crowded (correlated bits the entropy estimate missed) that comparing all pairs is cheaper."""
    n = len(values)
    if n >= 2**31:
        raise ValueError("near_pairs handles fewer than 2**31 distinct hashes")
    indexes = _indexes(values, plan, workers)
    chunk_masks = [np.uint64(sum(1 << b for b in c.bits)) for c in plan]
    if not force and sum(ix.cost() for ix in indexes) >= n * (n - 1) / 2:
        return None

    def verify(ci: int, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Keys of the pairs (p, q) (positions in chunk ci's order) within d and new to this chunk."""
        ix = indexes[ci]
        x = np.take(ix.hashes, p) ^ np.take(ix.hashes, q)
        keep = np.flatnonzero(np.bitwise_count(x) <= d)
        if ci and len(keep):
            x = np.take(x, keep)
            new = np.ones(len(keep), bool)
            for mask, c in zip(chunk_masks[:ci], plan[:ci], strict=True):
                new &= np.bitwise_count(x & mask) > c.radius
            keep = np.take(keep, np.flatnonzero(new))
        return _pair_keys(np.take(ix.order, np.take(p, keep)), np.take(ix.order, np.take(q, keep)), n)

    def within(ci: int) -> list[np.ndarray]:
        ix = indexes[ci]
        later = ix.end.astype(np.int64) - np.arange(n) - 1  # members after each position
        pos = np.flatnonzero(later > 0)
        later = later[pos]
        out = []
        for s in _blocks(later):
            p, k = pos[s], later[s]
            out.append(verify(ci, np.repeat(p, k), _ranges(p + 1, k)))
        return out

    def probe_first(ix: _Index, src: tuple, f: np.int32, threshold: int) -> tuple[np.ndarray, np.ndarray]:
        """Sources whose partner slot key ^ f holds a first member that passes the fingerprint bound."""
        pos, key, fp = src
        slot = key ^ f
        hit = np.flatnonzero(np.bitwise_count(np.take(ix.fp_table, slot) ^ fp) <= threshold)
        q = np.take(ix.first_table, np.take(slot, hit))
        ok = np.flatnonzero(q >= 0)
        return np.take(np.take(pos, hit), ok), np.take(q, ok)

    def masks(item: tuple[int, int, np.ndarray]) -> list[np.ndarray]:
        ci, top, fs = item
        ix = indexes[ci]
        side = (ix.key >> top) & 1

        def source(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return pos, np.take(ix.key, pos), np.take(ix.fp, pos)

        low = source(np.flatnonzero(side == 0))  # every hash on the low side probes the first members
        rest_side = np.take(side, ix.rest)
        rest_high = source(np.take(ix.rest, np.flatnonzero(rest_side == 1)))
        rest_low = np.take(ix.rest, np.flatnonzero(rest_side == 0))
        rest_low_key = np.take(ix.key, rest_low)
        out = []
        for f in fs:
            threshold = d - int(f).bit_count()
            for src in (low, rest_high):  # later members of a bucket meet first members from their side
                p, q = probe_first(ix, src, f, threshold)
                if len(p):
                    out.append(verify(ci, p, q))
            if len(rest_low):  # later members meet later members
                r = np.take(ix.rest_table, rest_low_key ^ f)
                hit = np.flatnonzero(r >= 0)
                if len(hit):
                    p, r = np.take(rest_low, hit), np.take(r, hit)
                    k = np.take(ix.end, r) - r
                    for s in _blocks(k):
                        out.append(verify(ci, np.repeat(p[s], k[s]), _ranges(r[s], k[s])))
        return out

    items: list = [("within", ci) for ci in range(len(plan))]
    for ci, c in enumerate(plan):
        items += [("masks", (ci, top, fs)) for top, fs in _masks_by_top_bit(len(c.bits), c.radius)]
    items.sort(key=lambda it: -len(it[1][2]) if it[0] == "masks" else 0)  # big items first: even finish

    def run(item: tuple[str, object]) -> list[np.ndarray]:
        kind, arg = item
        return within(arg) if kind == "within" else masks(arg)  # type: ignore[arg-type]

    parts = _run(run, items, workers)
    return np.concatenate(parts) if parts else np.empty(0, np.int64)
