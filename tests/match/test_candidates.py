"""near_pairs and near_pairs_between must return exactly brute force's pairs, on inputs that break indexes.

Random uniform hashes are the easy case; photo hashes cluster (scenes of shots, bursts, near-copies), pile
up on a few values (blank frames give 0x0000... / 0xffff...) and vary in few bits, which crowds buckets.
Each input is checked at every threshold 0..16, through the automatic choice, the index forced on and the
compiled all-pairs loop, and the numpy brute force reference itself is checked against plain Python on
small inputs. No timing here: the speed claims live in scripts/bench_match and docs/matching.md.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from photodedup.match import candidates
from photodedup.match.candidates import (
    brute_force_pairs,
    brute_force_pairs_between,
    exact_groups,
    hamming_many,
    near_pairs,
    near_pairs_between,
)

THRESHOLDS = range(17)
U64 = np.uint64


def _flip(rng: np.random.Generator, h: np.ndarray, max_bits: int) -> np.ndarray:
    """Each hash with 0..max_bits distinct random bits flipped."""
    out = h.copy()
    k = rng.integers(0, max_bits + 1, len(h))
    order = rng.random((len(h), 64)).argsort(axis=1)
    for j in range(max_bits):
        sel = k > j
        out[sel] ^= U64(1) << order[sel, j].astype(U64)
    return out


def uniform(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**64, n, dtype=U64)


def clustered(n: int, seed: int) -> np.ndarray:
    """Bursts around few centres at distances up to ~12, exact copies, and balanced pHash-like centres."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 2**64, max(1, n // 25), dtype=U64)
    h = _flip(rng, centres[rng.integers(0, len(centres), n)], 6)
    copies = rng.integers(0, n, n // 10)
    h[rng.integers(0, n, n // 10)] = h[copies]
    return h


def blank_frames(n: int, seed: int) -> np.ndarray:
    """Mostly all-zero / all-one hashes and hashes a few bits from them, plus some ordinary ones."""
    rng = np.random.default_rng(seed)
    base = np.where(rng.random(n) < 0.5, U64(0), ~U64(0)).astype(U64)
    h = _flip(rng, base, 12)
    some = rng.random(n) < 0.2
    h[some] = rng.integers(0, 2**64, int(some.sum()), dtype=U64)
    return h


def few_bits(n: int, seed: int) -> np.ndarray:
    """Only 20 bit positions ever vary (low-entropy images): every chunk is crowded."""
    rng = np.random.default_rng(seed)
    positions = rng.choice(64, 20, replace=False).astype(U64)
    bits = rng.random((n, 20)) < 0.3
    fixed = U64(0xA5A5_0000_0000_5A5A)
    mask = np.bitwise_or.reduce(U64(1) << positions)
    values = (bits.astype(U64) << positions[None, :]).sum(axis=1, dtype=U64)
    return (fixed & ~mask) | values


def correlated(n: int, seed: int) -> np.ndarray:
    """A 16-bit pattern repeated four times: the chunks agree with each other, not independent."""
    rng = np.random.default_rng(seed)
    p = rng.integers(0, 2**16, n, dtype=U64)
    return p | (p << U64(16)) | (p << U64(32)) | (p << U64(48))


def few_values(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2**64, 4, dtype=U64)[rng.integers(0, 4, n)]


def scenes(n: int, seed: int) -> np.ndarray:
    """Shots of a scene 12-24 bits from its base (as scripts/bench_groups), re-encodes 0-4 bits off, and
    pHash-like bits: the DC bit always set, the rest balanced."""
    rng = np.random.default_rng(seed)
    bases = rng.integers(0, 2**64, max(1, n // 6), dtype=U64) | U64(1 << 63)
    h = bases[rng.integers(0, len(bases), n)]
    for lo, hi in ((12, 24), (0, 4)):
        k = rng.integers(lo, hi + 1, n) * (rng.random(n) < (1.0 if lo else 0.3))
        order = rng.random((n, 63)).argsort(axis=1)
        for j in range(hi):
            sel = k > j
            h[sel] ^= U64(1) << order[sel, j].astype(U64)
    return h


GENERATORS = [uniform, clustered, scenes, blank_frames, few_bits, correlated, few_values]


def _python_pairs(hashes: list[int], d: int) -> list[tuple[int, int]]:
    pairs = itertools.combinations(range(len(hashes)), 2)
    return [(i, j) for i, j in pairs if (hashes[i] ^ hashes[j]).bit_count() <= d]


def _check_shape(pairs: np.ndarray) -> None:
    assert pairs.dtype == np.int64 and pairs.ndim == 2 and pairs.shape[1] == 2
    assert (pairs[:, 0] < pairs[:, 1]).all()
    keys = pairs[:, 0] * (1 << 32) + pairs[:, 1]
    assert (np.diff(keys) > 0).all()  # sorted lexicographically, no duplicates


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__)
@pytest.mark.parametrize("method", ["auto", "index", "brute"])
def test_near_pairs_equals_brute_force(gen, method):
    h = gen(2500, seed=7)
    for d in THRESHOLDS:
        want = brute_force_pairs(h, d)
        got = near_pairs(h, d, method=method, workers=2)
        _check_shape(got)
        assert np.array_equal(got, want), f"{gen.__name__} d={d}: {len(got)} pairs, brute force {len(want)}"


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__)
@pytest.mark.parametrize("method", ["auto", "index", "brute"])
def test_near_pairs_between_equals_brute_force(gen, method):
    """Queries against an index: the two sets share values (copies on both sides) and differ in size, so
    either side may be the one whose buckets look."""
    h = gen(2400, seed=5)
    for a, b in ((h[:900], h[900:]), (h[900:], h[:900])):
        for d in (0, 1, 2, 3, 4, 6, 8, 9, 10, 12, 13, 16):
            want = brute_force_pairs_between(a, b, d)
            got = near_pairs_between(a, b, d, method=method, workers=2)
            assert got.dtype == np.int64 and got.shape[1] == 2
            assert np.array_equal(got, want), f"{gen.__name__} d={d}: {len(got)} pairs, brute: {len(want)}"


def test_auto_on_clustered_sets_above_numpys_size(monkeypatch):
    """Above the size where numpy's all-pairs is used: the cost model's own choice, clustered inputs."""
    monkeypatch.setattr(candidates, "_NUMPY_PAIRS", 0)
    monkeypatch.setattr(candidates, "_NUMPY_PAIRS_LOADED", 0)
    for gen in (scenes, clustered, blank_frames):
        h = gen(10_000, seed=2)
        for d in (4, 10, 12):
            assert np.array_equal(near_pairs(h, d), brute_force_pairs(h, d, workers=2)), (gen.__name__, d)
            a, b = h[:3000], h[3000:]
            assert np.array_equal(near_pairs_between(a, b, d), brute_force_pairs_between(a, b, d, workers=2))


@pytest.mark.parametrize("seed", range(6))
def test_random_sizes_and_thresholds(seed):
    rng = np.random.default_rng(seed)
    gen = GENERATORS[seed % len(GENERATORS)]
    n = int(rng.integers(2, 4000))
    d = int(rng.integers(0, 17))
    h = gen(n, seed=seed)
    assert np.array_equal(near_pairs(h, d, method="index", workers=1), brute_force_pairs(h, d))


def test_small_blocks_and_tiles(monkeypatch):
    """Tiny expansion blocks and brute-force tiles: the paths that bound memory on huge buckets."""
    monkeypatch.setattr(candidates, "_BLOCK", 7)
    monkeypatch.setattr(candidates, "_TILE_ROWS", 5)
    monkeypatch.setattr(candidates, "_TILE_COLS", 13)
    for gen in (clustered, blank_frames, few_values):
        h = gen(600, seed=3)
        want = [tuple(p) for p in _python_pairs([int(x) for x in h], 9)]
        assert [tuple(p) for p in brute_force_pairs(h, 9).tolist()] == want
        assert [tuple(p) for p in near_pairs(h, 9, method="index").tolist()] == want


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__)
def test_brute_force_matches_python(gen):
    h = gen(150, seed=11)
    ints = [int(x) for x in h]
    for d in (0, 3, 10, 16, 40, 64):
        assert [tuple(p) for p in brute_force_pairs(h, d).tolist()] == _python_pairs(ints, d)
        cross = [(i, j) for i in range(60) for j in range(90) if (ints[i] ^ ints[60 + j]).bit_count() <= d]
        assert [tuple(p) for p in brute_force_pairs_between(h[:60], h[60:], d).tolist()] == cross


def test_degenerate_inputs():
    zero = np.zeros(1000, U64)
    every = [(i, j) for i in range(1000) for j in range(i + 1, 1000)]
    for d in (0, 1, 10):
        assert near_pairs(zero, d).tolist() == [list(p) for p in every]
    same = np.full(50, 0xFFFF_FFFF_FFFF_FFFF, U64)
    assert len(near_pairs(same, 0)) == 50 * 49 // 2
    assert np.array_equal(near_pairs(np.array([5, 5, 6, 5], U64), 0), [[0, 1], [0, 3], [1, 3]])
    assert len(near_pairs(uniform(300, 1), 64)) == 300 * 299 // 2  # every pair is within 64 bits


def test_empty_and_single():
    for h in (np.array([], U64), np.array([42], U64), []):
        for fn in (near_pairs, brute_force_pairs):
            out = fn(h, 10)
            assert out.shape == (0, 2) and out.dtype == np.int64
        for fn in (near_pairs_between, brute_force_pairs_between):
            out, back = fn(h, uniform(5, 1), 64), fn(uniform(5, 1), h, 64)
            assert out.dtype == back.dtype == np.int64
            assert out.tolist() == [[i, j] for i in range(len(h)) for j in range(5)]  # all within 64
            assert back.tolist() == [[j, i] for j in range(5) for i in range(len(h))]
    assert near_pairs_between([7, 7], [7], 0).tolist() == [[0, 0], [1, 0]]


def test_python_ints_and_signed_views():
    top = 2**64 - 1
    assert near_pairs([0, 1, 3, top, top - 1], 2).tolist() == [[0, 1], [0, 2], [1, 2], [3, 4]]
    signed = np.array([-1, -2, 0], np.int64)  # the same bits as 0xffff...ff, 0xffff...fe, 0
    assert near_pairs(signed, 1).tolist() == [[0, 1]]


def test_bad_input():
    with pytest.raises(ValueError):
        near_pairs([1, 2], -1)
    with pytest.raises(ValueError):
        near_pairs([-1, 2], 3)
    with pytest.raises(ValueError):
        near_pairs([2**64, 2], 3)
    with pytest.raises(TypeError):
        near_pairs([1.5, 2], 3)
    with pytest.raises(ValueError):
        near_pairs(np.zeros((2, 2), U64), 3)
    with pytest.raises(ValueError):
        near_pairs([1, 2], 3, method="faiss")


def test_hamming_many():
    assert hamming_many(0, [0, 1, 3, 2**64 - 1]).tolist() == [0, 1, 2, 64]
    a = np.array([[1], [2]], U64)
    assert hamming_many(a, np.array([3, 0], U64)).tolist() == [[1, 1], [1, 1]]


def test_exact_groups():
    values = ["a", None, "b", "a", None, "c", "b", "a"]
    assert exact_groups(values) == [[0, 3, 7], [2, 6]]
    assert exact_groups([]) == []
    assert exact_groups([None, None]) == []
    assert exact_groups(["x"]) == []


def test_variant_searches_equal_one_search_over_photos_and_variants():
    """The engine searches variants against photos, and trimmed against trimmed: exactly the pairs that one
    search over photos + variants kept before (a photo with a variant, or two trimmed variants)."""
    from photodedup.match.engine import _variant_pairs

    rng = np.random.default_rng(4)
    photos = scenes(3000, seed=4)
    owner = rng.integers(0, len(photos), 4000)
    variants = _flip(rng, photos[owner], 12)  # turned/trimmed pHashes near their own and others' photos
    variants[:300] = photos[rng.integers(0, len(photos), 300)] ^ U64(1)
    is_trim = rng.random(len(variants)) < 0.3
    union = np.concatenate([photos, variants])
    n = len(photos)
    for d in (0, 4, 10, 12):
        pairs = brute_force_pairs(union, d)
        pairs = pairs[pairs[:, 1] >= n]
        trim = np.concatenate([np.zeros(n, bool), is_trim])
        want = pairs[(pairs[:, 0] < n) | (trim[pairs[:, 0]] & trim[pairs[:, 1]])]
        assert np.array_equal(_variant_pairs(photos, variants, is_trim, d), want), d
