"""What the store says: counts by kind and source, bytes that can be reclaimed, failures."""

from __future__ import annotations

from collections import Counter

from photodedup.match.model import Group
from photodedup.store.db import Store

__all__ = ["build_report"]


def build_report(store: Store, groups: list[Group]) -> dict:
    counts = store.counts()
    sources = {s["id"]: s for s in counts["sources"]}
    kind_of_source = {s["id"]: s["kind"] for s in counts["sources"]}
    by_kind: Counter = Counter()
    members_by_kind: Counter = Counter()
    removable_by_kind: Counter = Counter()
    bytes_by_kind: Counter = Counter()
    removable_by_source: Counter = Counter()
    ids = {m.id for g in groups for m in g.members if not m.keep}
    source_of = {}
    if ids:
        marks = ",".join("?" * len(ids))
        source_of = dict(
            store.db.execute(f"SELECT id, source_id FROM items WHERE id IN ({marks})", list(ids))
        )
    for g in groups:
        by_kind[g.kind] += 1
        members_by_kind[g.kind] += len(g.members)
        bytes_by_kind[g.kind] += g.reclaimable_bytes
        for m in g.members:
            if not m.keep:
                removable_by_kind[g.kind] += 1
                sid = source_of.get(m.id)
                removable_by_source[
                    f"{kind_of_source.get(sid, '?')}: {sources.get(sid, {}).get('root', '?')}"
                ] += 1
    return {
        "store": str(store.path),
        "items": counts["items"],
        "by_status": counts["by_status"],
        "by_media_type": counts["by_media_type"],
        "groups_by_kind": dict(by_kind),
        "members_by_kind": dict(members_by_kind),
        "proposed_removals_by_kind": dict(removable_by_kind),
        "proposed_removals_by_source": dict(removable_by_source),
        "reclaimable_bytes_by_kind": dict(bytes_by_kind),
        "reclaimable_bytes": sum(bytes_by_kind.values()),
        "failures": list(
            store.db.query("SELECT id, path, error FROM items WHERE status = 'error' ORDER BY id")
        ),
        "last_scan": counts["last_scan"],
    }
