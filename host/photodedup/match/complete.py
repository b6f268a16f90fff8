"""Close the gaps a single lookup leaves inside a group of copies of one photo.

The index finds each copy through one transformation (turned, framed), so a copy
that was both framed and turned, or two copies changed differently (one framed, one
turned), meet only through the original. Within such a component every missing pair
is judged once more over all combinations of their pHash variants, so the clique step
can keep the whole group, while two truly different photos still stay apart.
"""

from __future__ import annotations

from itertools import combinations

from photodedup.match.cluster import components
from photodedup.match.model import MatchItem
from photodedup.match.relate import Thresholds, relate_variant

__all__ = ["fill_in_same"]

_MAX_COMPONENT = 64  # larger components are left to the clique step as they are


def _hashes(item: MatchItem) -> list[int]:
    return [h for h in (item.phash, *item.alt_phashes.values()) if h is not None]


def fill_in_same(
    relations: dict[tuple[int, int], tuple[str, int | None, str]],
    items: dict[int, MatchItem],
    face: dict[int, int],
    t: Thresholds,
    allowed,
) -> int:
    """Add "same" relations inside "same" components where no lookup related the pair; returns how many."""
    same = [pair for pair, rel in relations.items() if rel[0] == "same"]
    added = 0
    for comp in components(same):
        if len(comp) > _MAX_COMPONENT:
            continue
        for a, b in combinations(comp, 2):
            if (a, b) in relations:
                continue
            fa, fb = items[face[a]], items[face[b]]
            if not allowed(fa.id, fb.id):
                continue
            ha, hb = _hashes(fa), _hashes(fb)
            if not ha or not hb:
                continue
            distance = min((x ^ y).bit_count() for x in ha for y in hb)
            rel = relate_variant(fa, fb, "combined", distance, t)
            if rel is not None and rel[0] == "same":
                relations[(a, b)] = rel
                added += 1
    return added
