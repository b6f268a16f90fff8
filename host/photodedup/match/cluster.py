"""Turn pairwise relations into groups without chaining.

Duplicate groups must be cliques: A~B and B~C put A and C together only when A~C
holds too, so a slow drift of small changes never lands two different photos in
one group. Review-only kinds (burst, edited) may chain, because nothing in them
is removed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

__all__ = ["UnionFind", "cliques", "components"]


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for x in self.parent:
            out[self.find(x)].append(x)
        return [sorted(g) for g in out.values() if len(g) > 1]


def components(edges: Iterable[tuple[int, int]]) -> list[list[int]]:
    uf = UnionFind()
    for a, b in edges:
        uf.union(a, b)
    return sorted(uf.groups())


def cliques(
    edges: Iterable[tuple[int, int]], weight: dict[tuple[int, int], int] | None = None
) -> list[list[int]]:
    """Greedy complete-linkage clusters: each group is a clique of the graph, no member in two groups.

    Seeds are taken in order of degree (then id), and a node joins only if it is linked to every
    member already in; ties go to the closest node by ``weight`` (a distance) so the tightest
    copies group first. Deterministic for the same input.
    """
    adj: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        if a != b:
            adj[a].add(b)
            adj[b].add(a)
    weight = weight or {}

    def w(a: int, b: int) -> int:
        return weight.get((a, b), weight.get((b, a), 0))

    placed: set[int] = set()
    out: list[list[int]] = []
    for seed in sorted(adj, key=lambda n: (-len(adj[n]), n)):
        if seed in placed:
            continue
        group = [seed]
        candidates = sorted((n for n in adj[seed] if n not in placed), key=lambda n: (w(seed, n), n))
        for n in candidates:
            if all(n in adj[m] for m in group):
                group.append(n)
        if len(group) > 1:
            placed.update(group)
            out.append(sorted(group))
    return sorted(out)
