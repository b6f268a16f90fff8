"""Hand-built MatchItems and Groups over real files copied into tmp_path (imported by tests/actions)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from photodedup.actions.plan import file_digest
from photodedup.match.model import Group, MatchItem, Member


def copy(data_dir: Path, rel: str, dest: Path) -> Path:
    """Copy one test-data file to ``dest`` (a file path), keeping its mtime."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(data_dir / rel, dest)
    return dest


def file_item(item_id: int, path: Path, root: Path, *, source_kind: str = "folder", **kw) -> MatchItem:
    size, digest = file_digest(path)
    fields = {
        "id": item_id,
        "path": str(path),
        "source_id": 1,
        "source_kind": source_kind,
        "source_root": str(root),
        "kind": "file",
        "role": None,
        "parent_id": None,
        "uuid": None,
        "status": "ok",
        "media_type": "video" if path.suffix.lower() in (".mov", ".mp4") else "image",
        "format": None,
        "size": size,
        "width": None,
        "height": None,
        "blake3": digest,
    }
    fields.update(kw)
    return MatchItem(**fields)


def asset_item(item_id: int, uuid: str, library: str, *, path: str | None = None, **kw) -> MatchItem:
    on_disk = bool(path and os.path.exists(path))
    size, digest = file_digest(path) if on_disk else (kw.pop("size", None), None)  # type: ignore[arg-type]
    fields = {
        "id": item_id,
        "path": path,
        "source_id": 9,
        "source_kind": "photos_library",
        "source_root": library,
        "kind": "asset",
        "role": "original",
        "parent_id": None,
        "uuid": uuid,
        "status": "ok" if on_disk else "not_on_disk",
        "media_type": "image",
        "format": None,
        "size": size,
        "width": None,
        "height": None,
        "blake3": digest,
    }
    fields.update(kw)
    return MatchItem(**fields)


def member(it: MatchItem, keep: bool = False, companions: tuple[int, ...] = (), reason: str = "") -> Member:
    source = f"{it.source_kind}:{it.source_root}"
    return Member(it.id, it.path, source, keep, reason, it.uuid, list(companions))


def group(gid: str, kind: str, *members: Member, why: str = "") -> Group:
    return Group(gid, kind, list(members), why=why)  # type: ignore[arg-type]


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under root: (bytes, mtime_ns, mode) — what undo must restore exactly."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath, name)
            st = p.stat()
            out[str(p.relative_to(root))] = (p.read_bytes(), st.st_mtime_ns, st.st_mode)
    return out


IMG = "near-duplicates/imagededup/base_images/ukbench00120.jpg"
LIVE = "media/live/IMG_3582"


class Scene:
    """A folder source with one group of every kind, over real files.

    photos/a/ukbench00120.jpg (1, keeper)   photos/b/ukbench00120.jpg (2, exact copy) + .jpg.xmp
    photos/live/IMG_3582.HEIC+.mov (3+4, keeper unit)
    photos/backup/IMG_3582.HEIC+.mov (5+6, exact copy of the unit) + IMG_3582.AAE, IMG_O3582.AAE
    photos/burst/IMG_0658.JPG, IMG_0664.JPG (7, 8: burst)
    photos/edited/IMG_1853.HEIC, IMG_E1853.heic (9 keeper, 10: edited)
    photos/c/ukbench09380.jpeg (12, keeper) and .webp (13, same; favourite, keywords, GPS ...)
    photos/a/ukbench00120_resize.jpg (11: similar to 1)
    """

    def __init__(self, data_dir: Path, tmp_path: Path):
        self.root = root = tmp_path / "photos"
        p = {
            1: copy(data_dir, IMG, root / "a/ukbench00120.jpg"),
            2: copy(data_dir, IMG, root / "b/ukbench00120.jpg"),
            3: copy(data_dir, f"{LIVE}.HEIC", root / "live/IMG_3582.HEIC"),
            4: copy(data_dir, f"{LIVE}.mov", root / "live/IMG_3582.mov"),
            5: copy(data_dir, f"{LIVE}.HEIC", root / "backup/IMG_3582.HEIC"),
            6: copy(data_dir, f"{LIVE}.mov", root / "backup/IMG_3582.mov"),
            7: copy(data_dir, "media/burst/IMG_0658.JPG", root / "burst/IMG_0658.JPG"),
            8: copy(data_dir, "media/burst/IMG_0664.JPG", root / "burst/IMG_0664.JPG"),
            9: copy(data_dir, "media/edited/IMG_1853.HEIC", root / "edited/IMG_1853.HEIC"),
            10: copy(data_dir, "media/edited/IMG_E1853.heic", root / "edited/IMG_E1853.heic"),
            11: copy(
                data_dir,
                "near-duplicates/imagededup/mixed_images/ukbench00120_resize.jpg",
                root / "a/ukbench00120_resize.jpg",
            ),
            12: copy(
                data_dir, "near-duplicates/imagededup/formats_images/ukbench09380.jpeg", root / "c/x.jpeg"
            ),
            13: copy(
                data_dir, "near-duplicates/imagededup/formats_images/ukbench09380.webp", root / "c/x.webp"
            ),
        }
        copy(data_dir, f"{LIVE}.AAE", root / "backup/IMG_3582.AAE")
        copy(data_dir, "media/live/IMG_O3582.AAE", root / "backup/IMG_O3582.AAE")
        (root / "b/ukbench00120.jpg.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
        self.paths = p
        extra = {
            4: {"role": "live_video"},
            6: {"role": "live_video"},
            10: {"is_edit": True},
            13: {
                "favorite": True,
                "keywords": ["Trip", "Bridge, old"],
                "albums": ["Summer 2020"],
                "description": "The old bridge",
                "taken_at": "2020-07-01T10:11:12",
                "taken_offset": "+02:00",
                "gps": True,
                "meta": {"takeout": {"latitude": -33.8568, "longitude": 151.2153, "altitude": 12.5}},
            },
        }
        self.items = {i: file_item(i, path, root, **extra.get(i, {})) for i, path in p.items()}
        it = self.items
        self.groups = [
            group("g-exact", "exact", member(it[1], True, reason="oldest"), member(it[2], reason="copy")),
            group(
                "g-live",
                "exact",
                member(it[3], True, (4,)),
                member(it[5], False, (6,), reason="same bytes"),
                why="same bytes",
            ),
            group("g-unit", "unit", member(it[3], True, (4,)), member(it[4], True)),
            group("g-burst", "burst", member(it[7], True), member(it[8])),
            group("g-edited", "edited", member(it[9], True), member(it[10])),
            group("g-similar", "similar", member(it[1], True), member(it[11])),
            group("g-same", "same", member(it[12], True), member(it[13], reason="smaller")),
        ]
