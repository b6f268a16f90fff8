"""near_pairs must return exactly brute force's pairs, on the inputs that break indexes.

Random uniform hashes are the easy case; photo hashes cluster (bursts, near-copies), pile up on a few
values (blank frames give 0x0000... / 0xffff...) and vary in few bits, which crowds buckets. Each input is
checked at every threshold 0..16, through the automatic choice and the index forced on, and the brute
force reference itself is checked against plain Python on small inputs. No timing here: the speed claims
live in scripts/bench_match and docs/matching.md.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from photodedup.match import candidates
from photodedup.match.candidates import brute_force_pairs, exact_groups, hamming_many, near_pairs

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


GENERATORS = [uniform, clustered, blank_frames, few_bits, correlated, few_values]


def _python_pairs(hashes: list[int], d: int) -> list[tuple[int, int]]:
    pairs = itertools.combinations(range(len(hashes)), 2)
    return [(i, j) for i, j in pairs if (hashes[i] ^ hashes[j]).bit_count() <= d]


def _check_shape(pairs: np.ndarray) -> None:
    assert pairs.dtype == np.int64 and pairs.ndim == 2 and pairs.shape[1] == 2
    assert (pairs[:, 0] < pairs[:, 1]).all()
    keys = pairs[:, 0] * (1 << 32) + pairs[:, 1]
    assert (np.diff(keys) > 0).all()  # sorted lexicographically, no duplicates


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__)
@pytest.mark.parametrize("method", ["auto", "index"])
def test_near_pairs_equals_brute_force(gen, method):
    h = gen(2500, seed=7)
    for d in THRESHOLDS:
        want = brute_force_pairs(h, d)
        got = near_pairs(h, d, method=method, workers=2)
        _check_shape(got)
        assert np.array_equal(got, want), f"{gen.__name__} d={d}: {len(got)} pairs, brute force {len(want)}"


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
