"""From the store to groups: load, find units, relate candidates, cluster, choose keepers.

The order matters: units first (their parts never match on their own), exact
classes next (identical content is one node), then near candidates between class
representatives only, found by an index far below all pairs.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from photodedup.match.cluster import UnionFind, cliques, components
from photodedup.match.model import Group, MatchItem, Member, from_row
from photodedup.match.relate import relate, thresholds_for
from photodedup.match.units import find_units
from photodedup.store.db import Store

__all__ = ["find_groups", "load_items"]

_LIVE = "status IN ('ok', 'not_on_disk') AND media_type IN ('image', 'video') AND kind != 'sidecar'"


def load_items(store: Store) -> dict[int, MatchItem]:
    sources = {s["id"]: s for s in store.db.query("SELECT * FROM sources")}
    return {r["id"]: from_row(r, sources.get(r["source_id"])) for r in store.items(_LIVE)}


def group_id(kind: str, ids: list[int]) -> str:
    """Stable across runs while the members stay the same (item ids never change)."""
    digest = hashlib.sha1(f"{kind}:{','.join(map(str, sorted(ids)))}".encode()).hexdigest()
    return f"{kind[0]}{digest[:11]}"


def find_groups(
    store: Store,
    *,
    preset: str = "default",
    threshold: int | None = None,
    keeper_config=None,
    include_skipped: bool = False,
    items: dict[int, MatchItem] | None = None,
) -> list[Group]:
    from photodedup.match.keeper import KeeperConfig, apply_keeper

    t = thresholds_for(preset, threshold)
    items = load_items(store) if items is None else items
    decisions = store.decisions()
    not_dup = {(d["item_a"], d["item_b"]) for d in decisions if d["kind"] == "not_duplicates"}
    keep_override = {d["item_a"] for d in decisions if d["kind"] == "keep"}
    skipped = {d["group_id"] for d in decisions if d["kind"] == "skip"}

    units = find_units(items)
    companion_of = {c: rep for rep, parts in units.items() for c in parts}
    reps = [i for i in items if i not in companion_of]

    # 1. Exact classes: identical content is one node from here on.
    uf = UnionFind()
    for column in ("blake3", "apple_fp"):
        first: dict[str, int] = {}
        for i in reps:
            value = getattr(items[i], column)
            if value:
                if value in first:
                    if _allowed(first[value], i, not_dup):
                        uf.union(first[value], i)
                else:
                    first[value] = i
    cls_of = {i: uf.find(i) for i in reps}
    members_of: dict[int, list[int]] = defaultdict(list)
    for i in reps:
        members_of[cls_of[i]].append(i)
    # The node's face: a member with perceptual hashes (an iCloud-only asset has none).
    face = {c: next((m for m in ms if items[m].phash is not None), ms[0]) for c, ms in members_of.items()}

    # 2. Candidate pairs between class faces, then what each pair is.
    relations = _near_relations(items, face, t, not_dup)
    for i in reps:  # a Photos edit render and its asset: related by the library itself
        it = items[i]
        if it.role == "edited" and it.parent_id in cls_of and cls_of[it.parent_id] != cls_of[i]:
            a, b = sorted((cls_of[it.parent_id], cls_of[i]))
            relations[(a, b)] = ("edited", None, "a Photos edit and its original")

    # 3. Duplicate clusters: cliques of "same" over classes.
    same_edges = [(a, b) for (a, b), (kind, _, _) in relations.items() if kind == "same"]
    weights = {(a, b): d or 0 for (a, b), (kind, d, _) in relations.items() if kind == "same"}
    clusters = cliques(same_edges, weights)
    in_cluster = {c for cl in clusters for c in cl}
    dedupe: list[tuple[str, list[int], str]] = []
    for cl in clusters:
        ids = [m for c in cl for m in members_of[c]]
        dedupe.append(("same", ids, _why(cl, relations)))
    for c, ms in members_of.items():
        if c not in in_cluster and len(ms) > 1:
            why = (
                "same bytes" if len({items[m].blake3 for m in ms}) == 1 else "same bytes or Apple fingerprint"
            )
            dedupe.append(("exact", ms, why))

    config = keeper_config or KeeperConfig()
    groups: list[Group] = []
    keeper_of_class: dict[int, int] = {}
    for kind, ids, why in dedupe:
        g = _group(kind, ids, why, items, units)
        override = next((m for m in ids if m in keep_override), None)
        g = apply_keeper(g, items, config, override=override)
        _protect_parts(g, items)
        g.reclaimable_bytes = _reclaimable(g, items)
        groups.append(g)
        keeper = next(m.id for m in g.members if m.keep)
        for m in ids:
            keeper_of_class[cls_of[m]] = keeper

    # 4. Review groups over the clusters' keepers: nothing in them is proposed for removal.
    def node(c: int) -> int:
        return keeper_of_class.get(c, face[c])

    reasons = {"burst": "never proposed for removal", "edited": "an edit and its original: both kept",
               "similar": "similar, not the same photo: for review"}  # fmt: skip
    for kind in ("burst", "edited", "similar"):
        edges = {(node(a), node(b)) for (a, b), (k, _, _) in relations.items() if k == kind}
        edges = {tuple(sorted(e)) for e in edges if e[0] != e[1]}
        parts = components(edges) if kind != "similar" else cliques(edges)
        for ids in parts:
            g = _group(kind, ids, reasons[kind], items, units)
            for m in g.members:
                m.keep, m.reason = True, f"kept: {reasons[kind]}"
            groups.append(g)

    # 5. Units on their own, so a person sees what moves together.
    for rep, parts in units.items():
        g = Group(
            group_id("unit", [rep, *parts]), "unit", [], why=_unit_why(items[rep], [items[p] for p in parts])
        )
        for i in [rep, *parts]:
            it = items[i]
            g.members.append(Member(i, it.path, it.source_kind, True, "kept: parts of one capture", it.uuid))
        groups.append(g)

    if not include_skipped:
        groups = [g for g in groups if g.id not in skipped]
    order = {"exact": 0, "same": 1, "edited": 2, "burst": 3, "similar": 4, "unit": 5}
    groups.sort(key=lambda g: (order[g.kind], -g.reclaimable_bytes, -len(g.members), g.id))
    return groups


def _allowed(a: int, b: int, not_dup: set[tuple[int, int]]) -> bool:
    return (min(a, b), max(a, b)) not in not_dup


def _near_relations(
    items, face: dict[int, int], t, not_dup
) -> dict[tuple[int, int], tuple[str, int | None, str]]:
    """Candidate pairs from one index over every class's pHash and its turned/trimmed variants."""
    import numpy as np

    from photodedup.match.candidates import near_pairs
    from photodedup.match.relate import relate_variant

    classes = [c for c, f in face.items() if items[f].phash is not None and items[f].media_type == "image"]
    out: dict[tuple[int, int], tuple[str, int | None, str]] = {}
    if len(classes) < 2:
        return out
    # Two lookups: the photos' own pHashes at the "similar" distance, then their turned and trimmed
    # variants against them at the tighter "same photo" distance. r270 is left out of the index: a copy
    # turned the other way is found through that copy's own r90.
    hashes = [items[face[c]].phash for c in classes]
    owner = list(range(len(classes)))
    variant: list[str | None] = [None] * len(classes)
    for ci, c in enumerate(classes):
        for name, h in items[face[c]].alt_phashes.items():
            if name != "r270":
                hashes.append(h)
                owner.append(ci)
                variant.append(name)
    arr = np.array(hashes, dtype=np.uint64)
    primary_pairs = near_pairs(arr[: len(classes)], t.similar)
    variant_pairs = near_pairs(arr, t.phash) if len(arr) > len(classes) else np.empty((0, 2), dtype=np.int64)
    variant_pairs = variant_pairs[variant_pairs[:, 1] >= len(classes)]  # primary-primary pairs came above
    rank = {"exact": 0, "same": 1, "edited": 2, "burst": 3, "similar": 4}
    for i, j in np.concatenate([primary_pairs, variant_pairs]):
        i, j = int(i), int(j)
        vi, vj = variant[i], variant[j]
        if vi is not None and vj is not None and not vi == vj == "trim":
            continue  # two turned variants say nothing the primaries do not
        ca, cb = classes[owner[i]], classes[owner[j]]
        if ca == cb:
            continue
        fa, fb = face[ca], face[cb]
        if not _allowed(fa, fb, not_dup):
            continue
        if vi is None and vj is None:
            rel = relate(items[fa], items[fb], t)
        else:
            distance = int((hashes[i] ^ hashes[j]).bit_count())
            rel = relate_variant(items[fa], items[fb], vi or vj or "trim", distance, t)
        if rel is None:
            continue
        key = (min(ca, cb), max(ca, cb))
        if key not in out or rank[rel[0]] < rank[out[key][0]]:
            out[key] = rel
    return out


def _why(cluster: list[int], relations) -> str:
    whys = [relations[(a, b)][2] for a in cluster for b in cluster if a < b and (a, b) in relations]
    return whys[0] if len(whys) == 1 else f"the same photo ({len(cluster)} versions, every pair alike)"


def _group(kind: str, ids: list[int], why: str, items: dict[int, MatchItem], units) -> Group:
    members = [
        Member(i, items[i].path, items[i].source_kind, False, "", items[i].uuid, list(units.get(i, [])))
        for i in sorted(ids)
    ]
    return Group(group_id(kind, ids), kind, members, why=why)  # type: ignore[arg-type]


def _protect_parts(g: Group, items: dict[int, MatchItem]) -> None:
    """A Photos edit render lives and dies with its asset: it is never removed on its own."""
    for m in g.members:
        if items[m.id].kind == "asset_part" and not m.keep:
            m.keep = True
            m.reason = "kept: part of a Photos asset (its edited render); it goes only with the asset"


def _reclaimable(g: Group, items: dict[int, MatchItem]) -> int:
    total = 0
    for m in g.members:
        if not m.keep and items[m.id].on_disk:
            total += items[m.id].size or 0
            total += sum(items[c].size or 0 for c in m.companions if c in items and items[c].on_disk)
    return total


def _unit_why(rep: MatchItem, parts: list[MatchItem]) -> str:
    roles = {p.role for p in parts}
    if "raw" in roles or any(p.media_type == "image" for p in parts):
        return "RAW + JPEG of one shot"
    return "a Live Photo: still and video"
