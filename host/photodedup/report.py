"""What the store says so far: counts, failures and exact-duplicate groups.

Exact groups only (same bytes, or the same Apple fingerprint for assets whose
original is in iCloud); near-duplicate grouping by kind lives in ``match``.
"""

from __future__ import annotations

from photodedup.store.db import Store

__all__ = ["exact_duplicate_groups", "summary"]

_MEMBER_COLS = "id, path, uuid, kind, role, size, status, source_id"


def exact_duplicate_groups(store: Store) -> list[dict]:
    """Groups of live items with equal digests, merged with equal Apple fingerprints."""
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(ids):
        root = find(ids[0])
        for i in ids[1:]:
            parent[find(i)] = root

    live = "status IN ('ok', 'not_on_disk') AND media_type IN ('image', 'video')"
    reasons: dict[int, set[str]] = {}
    for column, label in (("blake3", "same bytes"), ("apple_fp", "same Apple Photos fingerprint")):
        sql = (
            f"SELECT group_concat(id) FROM items WHERE {live} AND {column} IS NOT NULL "
            f"GROUP BY {column} HAVING count(*) > 1"
        )
        for (ids,) in store.db.execute(sql):
            members = [int(i) for i in ids.split(",")]
            union(members)
            for m in members:
                reasons.setdefault(m, set()).add(label)
    groups: dict[int, list[int]] = {}
    for item in parent:
        groups.setdefault(find(item), []).append(item)
    out = []
    for members in groups.values():
        marks = ",".join("?" * len(members))
        rows = list(
            store.db.query(f"SELECT {_MEMBER_COLS} FROM items WHERE id IN ({marks}) ORDER BY id", members)
        )
        labels = set().union(*(reasons[m] for m in members))
        out.append({"reason": " / ".join(sorted(labels)), "size": rows[0]["size"], "members": rows})
    out.sort(key=lambda g: (-(g["size"] or 0) * (len(g["members"]) - 1), g["members"][0]["id"]))
    return out


def summary(store: Store) -> dict:
    counts = store.counts()
    groups = exact_duplicate_groups(store)
    counts["reclaimable_bytes"] = sum(
        (g["size"] or 0) * (sum(1 for m in g["members"] if m["path"]) - 1)
        for g in groups
        if g["members"][0]["path"]
    )
    counts["failures"] = list(
        store.db.query("SELECT id, path, error FROM items WHERE status = 'error' ORDER BY id")
    )
    return counts
