"""``match``: which pictures on a web page are the same photo, and which are already in the library.

Page pictures arrive as small image bytes (decoded here under a byte and pixel cap, hashed with the scan's
own perceptual hashes) or as the four hashes. They are judged with the same rules and thresholds as the
library's groups (``match.relate``, default preset): there is no metadata, so the hashes and the aspect
ratio decide. The library side is one XOR + popcount over the store's pHash arrays per page picture, its
turned and trimmed pHashes included; only the few candidates that pass become ``MatchItem`` s.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from dataclasses import dataclass

from photodedup.nativehost.library import VARIANTS, Library, source_name
from photodedup.nativehost.protocol import (
    MAX_MATCH_IMAGE_BYTES,
    HostError,
    LibraryMatch,
    MatchArgs,
    MatchResult,
    PageGroup,
)

__all__ = ["MAX_PAGE_PIXELS", "match_page"]

log = logging.getLogger(__name__)

MAX_PAGE_PIXELS = 16_000_000
"""Page pictures are thumbnails: a header announcing more pixels than this is refused before decoding."""
MAX_ITEM_IDS = 100  # per page picture in the reply, closest first (``count`` has them all)
MAX_WHERE = 20
_MAX_CANDIDATES = 500  # per page picture, closest first: bounds the work on pathological libraries
_ACCEPT = ("exact", "same")


GROUP_WAIT_ENV = "PHOTODEDUP_HOST_GROUP_WAIT"
GROUP_WAIT_SECONDS = 2.0
"""How long ``match`` waits for the library's groups; a huge library answers without them first."""


def group_wait() -> float:
    try:
        return max(0.0, float(os.environ.get(GROUP_WAIT_ENV, GROUP_WAIT_SECONDS)))
    except ValueError:
        return GROUP_WAIT_SECONDS


@dataclass(slots=True)
class _PagePicture:
    key: str
    item: object  # MatchItem


def match_page(library: Library, args: MatchArgs) -> MatchResult:
    keys = [it.key for it in args.items]
    if len(set(keys)) != len(keys):
        raise HostError("bad_args", "every item needs its own key")
    errors: dict[str, str] = {}
    pictures: list[_PagePicture] = []
    for n, it in enumerate(args.items):
        try:
            pictures.append(_PagePicture(it.key, _page_item(-(n + 1), it)))
        except _Unusable as e:
            errors[it.key] = str(e)
    from photodedup.match.relate import thresholds_for

    t = thresholds_for("default")
    library_matches, pending = _library(library, pictures, t)
    return MatchResult(
        page_groups=_page_groups(pictures, t), library=library_matches, errors=errors, groups_pending=pending
    )


class _Unusable(Exception):
    """A page picture that cannot be judged; the message goes back in ``errors``."""


def _page_item(item_id: int, it):
    from photodedup.match.model import MatchItem

    width = height = size = blake3 = fmt = None
    if it.image is not None:
        if len(it.image) > (MAX_MATCH_IMAGE_BYTES + 2) // 3 * 4:
            raise _Unusable(f"image is over the {MAX_MATCH_IMAGE_BYTES:,}-byte limit")
        try:
            data = base64.b64decode(it.image, validate=True)
        except (binascii.Error, ValueError) as e:
            raise _Unusable("image is not valid base64") from e
        if len(data) > MAX_MATCH_IMAGE_BYTES:
            raise _Unusable(f"image of {len(data):,} bytes is over the {MAX_MATCH_IMAGE_BYTES:,}-byte limit")
        hashes, (width, height), fmt = _hash_bytes(data)
        from photodedup.fingerprint.exact import digest_bytes

        size, blake3 = len(data), digest_bytes(data).blake3
    elif it.hashes is not None:
        hashes = {k: v.lower() for k, v in it.hashes.model_dump().items()}
    else:
        raise _Unusable("give image bytes or the four hashes")
    return MatchItem(
        id=item_id,
        path=None,
        source_id=None,
        source_kind="page",
        source_root=None,
        kind="file",
        role=None,
        parent_id=None,
        uuid=None,
        status="ok",
        media_type="image",
        format=fmt,
        size=size,
        width=width,
        height=height,
        blake3=blake3,
        phash=int(hashes["phash"], 16),
        ahash=int(hashes["ahash"], 16),
        dhash=int(hashes["dhash"], 16),
        whash=int(hashes["whash"], 16),
    )


def _hash_bytes(data: bytes) -> tuple[dict, tuple[int, int], str]:
    from photodedup.fingerprint.perceptual import hashes_from_image
    from photodedup.media.decode import DecodeError, decode_image

    try:
        decoded = decode_image(data, max_pixels=MAX_PAGE_PIXELS)
        hashes = hashes_from_image(decoded.image)
    except DecodeError as e:
        raise _Unusable(str(e)) from e
    except (MemoryError, OSError, ValueError) as e:  # Pillow's last resorts on hostile input
        raise _Unusable(f"image cannot be decoded: {e}") from e
    image = decoded.image
    return (
        {"phash": hashes.phash, "dhash": hashes.dhash, "ahash": hashes.ahash, "whash": hashes.whash},
        (image.width, image.height),
        decoded.format,
    )


def _page_groups(pictures: list[_PagePicture], t) -> list[PageGroup]:
    """Cliques of "the same photo" among the page's pictures (no chaining, like the library's groups)."""
    from photodedup.match.cluster import cliques
    from photodedup.match.relate import relate

    edges: list[tuple[int, int]] = []
    kinds: dict[tuple[int, int], str] = {}
    weights: dict[tuple[int, int], int] = {}
    for i in range(len(pictures)):
        for j in range(i + 1, len(pictures)):
            rel = relate(pictures[i].item, pictures[j].item, t)
            if rel is not None and rel[0] in _ACCEPT:
                edges.append((i, j))
                kinds[(i, j)] = rel[0]
                weights[(i, j)] = rel[1] or 0
    out = []
    for clique in cliques(edges, weights):
        pair_kinds = {kinds[(a, b)] for a in clique for b in clique if (a, b) in kinds}
        out.append(
            PageGroup(
                keys=[pictures[k].key for k in clique], kind="exact" if pair_kinds == {"exact"} else "same"
            )
        )
    return out


def _library(library: Library, pictures: list[_PagePicture], t) -> tuple[dict[str, LibraryMatch], bool]:
    import numpy as np

    from photodedup.match.model import from_row
    from photodedup.match.relate import degenerate, relate, relate_variant

    table = library.hash_table()
    n = len(table.ids)
    scratch, dist, best = np.empty(n, np.uint64), np.empty(n, np.uint8), np.empty(n, np.uint8)
    candidates: dict[str, dict[int, tuple[str | None, int]]] = {}  # key -> id -> (variant, distance)
    for pic in pictures:
        cands: dict[int, tuple[str | None, int]] = {}
        if n and not degenerate(pic.item):
            q = np.uint64(pic.item.phash)
            for row in range(len(table.phashes)):  # the closest of the photo itself and its variants
                np.bitwise_xor(table.phashes[row], q, out=scratch)
                np.bitwise_count(scratch, out=dist if row else best)
                if row:
                    np.minimum(best, dist, out=best)
            hits = np.flatnonzero(best <= t.phash)
            if len(hits) > _MAX_CANDIDATES:
                hits = hits[np.argsort(best[hits], kind="stable")[:_MAX_CANDIDATES]]
            per_row = np.bitwise_count(table.phashes[:, hits] ^ q)  # (5, hits): which one was closest
            for k, column in enumerate(per_row.T.tolist()):
                row = min(range(len(column)), key=lambda r: (column[r], r))  # the photo itself on ties
                cands[int(table.ids[hits[k]])] = (None if row == 0 else VARIANTS[row - 1], column[row])
        if pic.item.blake3:  # the very file (someone dropped the original onto the page)
            for (item_id,) in library.store.db.execute(
                "SELECT id FROM items WHERE blake3 = ? AND status IN ('ok', 'not_on_disk')", [pic.item.blake3]
            ):
                cands[item_id] = (None, 0)
        candidates[pic.key] = cands
    wanted = {i for c in candidates.values() for i in c}
    sources = library.sources()
    rows = {r["id"]: r for r in library.rows(wanted)} if wanted else {}
    items = {i: from_row(r, sources.get(r["source_id"])) for i, r in rows.items()}
    found: dict[str, list[tuple[int, int]]] = {}  # key -> [(distance, item id)]
    for pic in pictures:
        accepted: list[tuple[int, int]] = []
        for item_id, (variant, distance) in candidates[pic.key].items():
            other = items.get(item_id)
            if other is None:
                continue
            if variant is None:
                rel = relate(pic.item, other, t)
            else:
                rel = relate_variant(pic.item, other, variant, distance, t)
            if rel is not None and rel[0] in _ACCEPT:
                accepted.append((rel[1] or 0, item_id))
        found[pic.key] = sorted(accepted)
    grouping, current = library.grouping_soon(group_wait()) if any(found.values()) else (None, True)
    out: dict[str, LibraryMatch] = {}
    for pic in pictures:
        ids = [i for _, i in found[pic.key]]
        group_id = (
            next((grouping.group_of_item[i] for i in ids if i in grouping.group_of_item), None)
            if ids and grouping is not None
            else None
        )
        where: list[str] = []
        for i in ids:
            name = source_name((sources.get(rows[i]["source_id"]) or {}).get("root"))
            if name and name not in where:
                where.append(name)
        out[pic.key] = LibraryMatch(
            group_id=group_id, item_ids=ids[:MAX_ITEM_IDS], count=len(ids), where=where[:MAX_WHERE]
        )
    return out, not current
