"""Precision and recall per kind of change, and rule violations, from groups against a ground truth.

The truth is a list of labelled pairs between *refs* (a file's path relative to the set's folder, or
``uuid:<UUID>`` for a library asset with no file). Pairs of relation ``same`` (must be found) and ``near``
(the same picture transformed: finding it is optional, proposing removal is fine) join refs into clusters
of one photo. The other relations (``edited``, ``burst``, ``live``, ``different``) hold between clusters, so
a byte copy of a burst frame is still a burst frame of the others. A *complete* truth (the generated set)
also says every pair of clusters it does not list is two different photos.

What groups predict, following the project's rules:

* a **duplicate pair** = two members of one ``exact``/``same`` group, at least one proposed for removal
  (``keep`` False): precision is about these, because they are what a user would delete;
* a pair is **found** (recall) when both are members of one ``exact``/``same`` group, whatever the keepers;
* a **removal** between two members of any group kind with at least one ``keep`` False: inside a burst, an
  edit and its original, or two different photos, that is a violation; so is a Live Photo half proposed as
  a duplicate of the other half, or a Live pair split (one half proposed for removal without the other,
  where a member's ``companions`` move with it).

Precision per kind is attributed through the *changed* file (the ``b`` side of a truth pair): of the
duplicate pairs that involve a file made by change ``k``, the share that really are one photo. That
answers "does this change make the tool confuse photos", which pair-level precision cannot (every listed
positive pair is correct by definition).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

from photodedup.match.model import Group, Member

__all__ = [
    "NEGATIVE",
    "POSITIVE",
    "RELATIONS",
    "GroundTruth",
    "TruthPair",
    "member_ref",
    "score",
]

POSITIVE = ("same", "near")
NEGATIVE = ("edited", "burst", "live", "different")
RELATIONS = POSITIVE + NEGATIVE
_DUP_KINDS = ("exact", "same")
EXAMPLES = 8


@dataclass(frozen=True, slots=True)
class TruthPair:
    a: str  # the reference (original) side
    b: str  # the changed side: per-kind precision is attributed through it
    kind: str  # what changed: "q60", "exact", "webp", "burst", "same session", ...
    relation: str  # one of RELATIONS


@dataclass(slots=True)
class GroundTruth:
    name: str
    root: str  # the folder refs are relative to (what is scanned)
    pairs: list[TruthPair]
    refs: list[str] = field(default_factory=list)  # every file of the set (needed when complete)
    complete: bool = False  # unlisted pairs of different clusters are "different photos"
    descriptions: dict[str, str] = field(default_factory=dict)  # kind -> what it is, for the report
    items: dict[str, dict] = field(default_factory=dict)  # ref -> {"source": ..., "kind": ...} (generated)

    def __post_init__(self) -> None:
        for p in self.pairs:
            if p.relation not in RELATIONS:
                raise ValueError(f"unknown relation {p.relation!r} in {p}")

    def kinds(self) -> list[tuple[str, str]]:
        """(kind, relation) in first-listed order; positives first."""
        seen: dict[str, str] = {}
        for p in self.pairs:
            seen.setdefault(p.kind, p.relation)
        return sorted(seen.items(), key=lambda kv: (kv[1] not in POSITIVE, RELATIONS.index(kv[1])))

    def clusters(self) -> dict[str, str]:
        """ref -> its photo's cluster id (union-find over same/near pairs)."""
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            parent.setdefault(x, x)
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for r in self.all_refs():
            find(r)
        for p in self.pairs:
            if p.relation in POSITIVE:
                ra, rb = find(p.a), find(p.b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
        return {r: find(r) for r in parent}

    def all_refs(self) -> list[str]:
        out = dict.fromkeys(self.refs)
        for p in self.pairs:
            out.setdefault(p.a)
            out.setdefault(p.b)
        return list(out)

    def negatives(self) -> dict[frozenset[str], tuple[str, str]]:
        """Every negative pair, expanded over clusters (Live pairs: only as listed, see ``score``)."""
        cluster = self.clusters()
        members: dict[str, list[str]] = {}
        for r, c in cluster.items():
            members.setdefault(c, []).append(r)
        out: dict[frozenset[str], tuple[str, str]] = {}
        for p in self.pairs:
            if p.relation == "live":
                out[frozenset((p.a, p.b))] = (p.kind, p.relation)
            elif p.relation in NEGATIVE:
                for x in members[cluster[p.a]]:
                    for y in members[cluster[p.b]]:
                        out.setdefault(frozenset((x, y)), (p.kind, p.relation))
        return out

    def check(self) -> list[str]:
        """Contradictions: a negative relation inside one cluster."""
        cluster = self.clusters()
        return [
            f"{p.kind}: {p.a} and {p.b} are one photo by other pairs"
            for p in self.pairs
            if p.relation in NEGATIVE and cluster[p.a] == cluster[p.b]
        ]

    # -- persistence (the generated set is cached with its truth) --------------------------------------
    def to_json(self) -> dict:
        d = asdict(self)
        d["pairs"] = [[p.a, p.b, p.kind, p.relation] for p in self.pairs]
        return d

    @classmethod
    def from_json(cls, d: dict) -> GroundTruth:
        d = dict(d)
        d["pairs"] = [TruthPair(*p) for p in d["pairs"]]
        return cls(**d)

    def save(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GroundTruth:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def member_ref(m: Member, root: str, refs: Mapping[int, str] | None = None) -> str:
    """The truth's name for a member: its id's ref if known, else its path under root, else its uuid."""
    if refs and m.id in refs:
        return refs[m.id]
    if m.path:
        rel = os.path.relpath(os.path.realpath(m.path), os.path.realpath(root))
        return rel.replace(os.sep, "/") if not rel.startswith("..") else m.path
    return f"uuid:{m.uuid}" if m.uuid else f"id:{m.id}"


@dataclass(slots=True)
class _Predicted:
    dup: set[frozenset[str]] = field(default_factory=set)  # exact/same group, one proposed for removal
    together: set[frozenset[str]] = field(default_factory=set)  # exact/same group
    together_any: set[frozenset[str]] = field(default_factory=set)  # any group kind
    removal: set[frozenset[str]] = field(default_factory=set)  # any group kind, one proposed for removal
    unit: set[frozenset[str]] = field(default_factory=set)  # one unit group, or member + companion
    removed: set[str] = field(default_factory=set)  # proposed for removal (with its companions)


def _predict(groups: Iterable[Group], root: str, refs: Mapping[int, str] | None) -> _Predicted:
    pred = _Predicted()

    def cref(cid: int) -> str:
        return (refs or {}).get(cid, f"id:{cid}")

    for g in groups:
        ms = [(member_ref(m, root, refs), m) for m in g.members]
        for (ra, ma), (rb, mb) in combinations(ms, 2):
            if ra == rb:
                continue
            pair = frozenset((ra, rb))
            pred.together_any.add(pair)
            removal = not ma.keep or not mb.keep
            if removal:
                pred.removal.add(pair)
            if g.kind in _DUP_KINDS:
                pred.together.add(pair)
                if removal:
                    pred.dup.add(pair)
            if g.kind == "unit":
                pred.unit.add(pair)
        for r, m in ms:
            for c in m.companions:
                pred.unit.add(frozenset((r, cref(c))))
            if not m.keep:
                pred.removed.add(r)
                pred.removed.update(cref(c) for c in m.companions)
    return pred


def _ratio(n: int, d: int) -> float | None:
    return n / d if d else None


def score(groups: Iterable[Group], truth: GroundTruth, refs: Mapping[int, str] | None = None) -> dict:
    """Per-kind precision/recall, totals and violation counts (with a few examples) as plain data.

    ``refs`` maps item ids to truth refs (members and companions); without it, members are named by
    their path relative to ``truth.root`` (or ``uuid:``).
    """
    pred = _predict(groups, truth.root, refs)
    cluster = truth.clusters()
    negatives = truth.negatives()

    def one_photo(pair: frozenset[str]) -> bool:
        a, b = tuple(pair)
        return a in cluster and b in cluster and cluster[a] == cluster[b]

    rows: list[dict] = []
    target = {"pairs": 0, "found": 0, "items": set()}
    for kind, relation in truth.kinds():
        listed = [p for p in truth.pairs if p.kind == kind]
        row: dict = {"kind": kind, "relation": relation, "description": truth.descriptions.get(kind, "")}
        if relation in POSITIVE:
            pairs = {frozenset((p.a, p.b)) for p in listed}
            found = pairs & pred.together
            items = {p.b for p in listed}
            touching = [p for p in pred.dup if p & items]
            correct = sum(one_photo(p) for p in touching)
            row |= {
                "pairs": len(pairs),
                "found": len(found),
                "recall": _ratio(len(found), len(pairs)),
                "predicted": len(touching),
                "correct": correct,
                "precision": _ratio(correct, len(touching)),
                "false": len(touching) - correct,
                "missed": sorted(sorted(p) for p in pairs - found)[:EXAMPLES],
            }
            if relation == "same":
                target["pairs"] += len(pairs)
                target["found"] += len(found)
                target["items"] |= items
        else:
            pairs = {pair for pair, (k, _) in negatives.items() if k == kind}
            false = pairs & pred.removal
            grouped = pairs & (pred.unit if relation == "live" else pred.together_any)
            row |= {
                "pairs": len(pairs),
                "grouped": len(grouped),
                "false": len(false),
                "examples": sorted(sorted(p) for p in false)[:EXAMPLES],
            }
        rows.append(row)

    # Removals between photos the truth does not relate at all.
    stray = {p for p in pred.removal if not one_photo(p) and p not in negatives}
    if truth.complete:
        n = len(truth.all_refs())
        sizes: dict[str, int] = {}
        for c in cluster.values():
            sizes[c] = sizes.get(c, 0) + 1
        same_cluster = sum(s * (s - 1) // 2 for s in sizes.values())
        listed_neg = sum(1 for p in negatives if not one_photo(p))
        rows.append(
            {
                "kind": "different photos",
                "relation": "different",
                "description": "every other pair of files in the set",
                "pairs": n * (n - 1) // 2 - same_cluster - listed_neg,
                "grouped": len({p for p in pred.together_any if not one_photo(p) and p not in negatives}),
                "false": len(stray),
                "examples": sorted(sorted(p) for p in stray)[:EXAMPLES],
            }
        )
    elif stray:
        rows.append(
            {
                "kind": "unlisted pairs",
                "relation": "different",
                "description": "pairs the truth does not relate (taken as different photos)",
                "pairs": None,
                "grouped": None,
                "false": len(stray),
                "examples": sorted(sorted(p) for p in stray)[:EXAMPLES],
            }
        )

    t_touch = [p for p in pred.dup if p & target["items"]]
    t_correct = sum(one_photo(p) for p in t_touch)
    all_correct = sum(one_photo(p) for p in pred.dup)

    def neg(relation: str) -> set[frozenset[str]]:
        return {p for p, (_, r) in negatives.items() if r == relation}

    live_pairs = list(neg("live"))
    different = neg("different") & pred.removal
    if truth.complete:
        different |= stray
    found = {
        "burst_removal": neg("burst") & pred.removal,
        "live_split": {p for p in live_pairs if len(p & pred.removed) == 1},
        "live_duplicate": {p for p in live_pairs if p in pred.removal},
        "edited_removal": neg("edited") & pred.removal,
        "different_removal": different,
    }
    if not truth.complete:
        found["unlisted_removal"] = stray
    violations = {k: sorted(sorted(p) for p in v) for k, v in found.items()}
    return {
        "kinds": rows,
        "target": {
            "pairs": target["pairs"],
            "found": target["found"],
            "recall": _ratio(target["found"], target["pairs"]),
            "predicted": len(t_touch),
            "correct": t_correct,
            "precision": _ratio(t_correct, len(t_touch)),
        },
        "overall": {
            "predicted": len(pred.dup),
            "correct": all_correct,
            "precision": _ratio(all_correct, len(pred.dup)),
        },
        "live_together": {"pairs": len(live_pairs), "together": sum(p in pred.unit for p in live_pairs)},
        "violations": {k: len(v) for k, v in violations.items()},
        "violation_examples": {k: v[:EXAMPLES] for k, v in violations.items() if v},
    }
