"""The compiled inner loops of the multi-index search in ``candidates`` (numba, GIL released).

``candidates`` plans the chunks and lays out, per chunk, the hashes sorted by chunk value and where each
value's bucket starts; these loops walk that layout. A bucket meets the buckets whose chunk values lie
within the chunk's radius: their hashes are first copied into one buffer, then compared four source
hashes at a time in a branch-free loop that the compiler vectorises (AVX-512 popcount where the CPU has
it): ~0.1 ns per comparison instead of several ns for numpy passes over temporary arrays. Pairs are written
out only for the rare hash that has a near partner. Compiled on first use and cached on disk.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["bucket_offsets", "chunk_keys", "counting_order", "neighbour_load", "probe_join", "self_join"]

_JIT = {"nogil": True, "cache": True, "boundscheck": False}
_TILE = 2048  # buffer hashes compared per pass (16 KB: stays in L1 while four sources go over it)

# Pair keys: a * n + b. SELF: the two are indices of one set (written min * n + max); A_B: a from the
# probing set, b from the indexed one; B_A: the same, written the other way round.
SELF, A_B, B_A = 0, 1, 2


@intrinsic
def _popcount(typingctx, x):
    """The CPU's popcount of a uint64 (LLVM ctpop)."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@njit(**_JIT)
def chunk_keys(values, bits):
    """Chunk value of each hash: bit ``bits[j]`` of the hash becomes bit j of the key (int32)."""
    out = np.empty(len(values), np.int32)
    for i in range(len(values)):
        v = values[i]
        k = 0
        for j in range(len(bits)):
            k |= np.int32((v >> np.uint64(bits[j])) & np.uint64(1)) << j
        out[i] = k
    return out


@njit(**_JIT)
def bucket_offsets(keys, width):
    """offs[k]..offs[k + 1]: where key k's bucket sits once sorted (2**width + 1 entries)."""
    offs = np.zeros((1 << width) + 1, np.int64)
    for k in keys:
        offs[k + 1] += 1
    for k in range(1 << width):
        offs[k + 1] += offs[k]
    return offs


@njit(**_JIT)
def counting_order(keys, offs):
    """The stable order that sorts ``keys`` (a counting sort over the bucket offsets), as int32."""
    nxt = offs[:-1].copy()
    order = np.empty(len(keys), np.int32)
    for i in range(len(keys)):
        k = keys[i]
        order[nxt[k]] = i
        nxt[k] += 1
    return order


@njit(**_JIT)
def neighbour_load(slots, offs, masks):
    """For each slot: how many hashes the buckets at slot ^ mask hold (the cost model's input)."""
    out = np.zeros(len(slots), np.int64)
    for i in range(len(slots)):
        s = slots[i]
        total = 0
        for m in range(len(masks)):
            t = s ^ masks[m]
            total += offs[t + 1] - offs[t]
        out[i] = total
    return out


@njit(**_JIT)
def _emit(ha, oa, buf, b0, b1, seg_start, seg_pos, nseg, tgt_order, du, prev_masks, prev_radii, n, mode,
          out, cnt):  # fmt: skip
    """Append the pairs of one source hash with buf[b0:b1] to ``out`` (called only when there are some)."""
    j = 0
    for b in range(b0, b1):
        x = ha ^ buf[b]
        if _popcount(x) > du:
            continue
        new = True  # a pair within an earlier chunk's radius was written by that chunk
        for c in range(len(prev_masks)):
            if _popcount(x & prev_masks[c]) <= prev_radii[c]:
                new = False
                break
        if not new:
            continue
        while j + 1 < nseg and seg_start[j + 1] <= b:
            j += 1
        ob = np.int64(tgt_order[seg_pos[j] + (b - seg_start[j])])
        if cnt == len(out):
            bigger = np.empty(2 * len(out), np.int64)
            bigger[:cnt] = out
            out = bigger
        if mode == SELF:
            out[cnt] = min(oa, ob) * n + max(oa, ob)
        elif mode == A_B:
            out[cnt] = oa * n + ob
        else:
            out[cnt] = ob * n + oa
        cnt += 1
    return out, cnt


@njit(**_JIT)
def _join(a_hashes, a_order, a_offs, slots, b_hashes, b_order, b_offs, masks, top_start, d, prev_masks,
          prev_radii, n, mode):  # fmt: skip
    """The one loop behind ``self_join`` and ``probe_join`` (no helper calls in the hot path: numba
    counts references on every array passed or reassigned, which would cost more than the work).

    Per bucket s of A: its own members (self mode) and then the members of B's buckets s ^ f are copied
    into one buffer; A's members are compared with it four at a time, tile by tile.
    """
    out = np.empty(1024, np.int64)
    cnt = 0
    du = np.uint64(d)
    self_mode = mode == SELF
    width = len(top_start) - 1
    buf = np.empty(4096, np.uint64)
    seg_start = np.empty(len(masks) + 1, np.int64)
    seg_pos = np.empty(len(masks) + 1, np.int64)
    for s in slots:
        s0, s1 = a_offs[s], a_offs[s + 1]
        own = s1 - s0 if self_mode else 0
        need = own
        for top in range(width):
            if self_mode and (s >> top) & 1:
                continue  # of two buckets only the lower one looks
            for m in range(top_start[top], top_start[top + 1]):
                t = s ^ masks[m]
                need += b_offs[t + 1] - b_offs[t]
        if need == 0:
            continue
        if need > len(buf):
            buf = np.empty(max(need, 2 * len(buf)), np.uint64)
        k = 0
        nseg = 0
        if own:
            seg_start[0] = 0
            seg_pos[0] = s0
            nseg = 1
            for b in range(s0, s1):
                buf[k] = a_hashes[b]
                k += 1
        for top in range(width):
            if self_mode and (s >> top) & 1:
                continue
            for m in range(top_start[top], top_start[top + 1]):
                t = s ^ masks[m]
                t0, t1 = b_offs[t], b_offs[t + 1]
                if t0 < t1:
                    seg_start[nseg] = k
                    seg_pos[nseg] = t0
                    nseg += 1
                    for b in range(t0, t1):
                        buf[k] = b_hashes[b]
                        k += 1
        # A's members against the buffer (in self mode, each only against what comes after it)
        a = s0
        while a < s1:
            e = min(a + 4, s1)
            h0 = a_hashes[a]  # a group of fewer than four repeats its first (those counts are ignored)
            h1 = a_hashes[a + 1] if e - a > 1 else h0
            h2 = a_hashes[a + 2] if e - a > 2 else h0
            h3 = a_hashes[a + 3] if e - a > 3 else h0
            lo = e - s0 if self_mode else 0
            if self_mode:
                for i in range(a, e - 1):  # pairs among these four
                    for j in range(i + 1, e):
                        x = a_hashes[i] ^ a_hashes[j]
                        if _popcount(x) <= du:
                            out, cnt = _emit(
                                a_hashes[i], np.int64(a_order[i]), buf, j - s0, j - s0 + 1, seg_start,
                                seg_pos, nseg, b_order, du, prev_masks, prev_radii, n, mode, out, cnt,
                            )  # fmt: skip
            for t0 in range(lo, k, _TILE):
                t1 = min(k, t0 + _TILE)
                n0 = n1 = n2 = n3 = 0
                for b in range(np.uint64(t0), np.uint64(t1)):  # unsigned: no negative-index wrap
                    x = buf[b]
                    n0 += _popcount(h0 ^ x) <= du
                    n1 += _popcount(h1 ^ x) <= du
                    n2 += _popcount(h2 ^ x) <= du
                    n3 += _popcount(h3 ^ x) <= du
                if n0 | n1 | n2 | n3:
                    for i, near in ((0, n0), (1, n1), (2, n2), (3, n3)):
                        if near and a + i < e:
                            out, cnt = _emit(
                                a_hashes[a + i], np.int64(a_order[a + i]), buf, t0, t1, seg_start, seg_pos,
                                nseg, b_order, du, prev_masks, prev_radii, n, mode, out, cnt,
                            )  # fmt: skip
            a = e
    return out[:cnt]


@njit(**_JIT)
def self_join(hashes, order, offs, slots, masks, top_start, d, prev_masks, prev_radii, n):
    """Pairs (min * n + max of ``order``) within d that involve the buckets ``slots``, each pair once.

    A bucket meets its own later members, and the bucket at key ^ f for every mask f whose top bit is 0
    in its key (of two buckets only the lower one looks). ``masks`` are grouped by top bit,
    ``top_start[b]..top_start[b + 1]`` holding those whose top bit is b.
    """
    return _join(hashes, order, offs, slots, hashes, order, offs, masks, top_start, d, prev_masks, prev_radii,
                 n, SELF)  # fmt: skip


@njit(**_JIT)
def probe_join(a_hashes, a_order, a_offs, slots, b_hashes, b_order, b_offs, masks, d, prev_masks,
               prev_radii, n, swap):  # fmt: skip
    """Pairs within d between A's buckets ``slots`` and B, as a * n + b (b * n + a when ``swap``).

    Each bucket of A meets B's buckets at key ^ f for every mask f, 0 included.
    """
    top_start = np.array([0, len(masks)], np.int64)  # one group: every mask, whatever its top bit
    return _join(a_hashes, a_order, a_offs, slots, b_hashes, b_order, b_offs, masks, top_start, d, prev_masks,
                 prev_radii, n, B_A if swap else A_B)  # fmt: skip
