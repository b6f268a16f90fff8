"""Copy the keepers out, so a clean new library can be built from them.

Copies, never moves: the sources stay as they are. Files keep their folder layout under
``DEST/<source>-<hash>/`` with their Live Photo video, RAW and XMP/AAE/Takeout sidecars
(those are items or sidecars beside them); Photos assets are exported by osxphotos
(``PhotoInfo.export`` with ``live_photo=True``) from a copy of the library database, so
the library is only read. Every copied byte is verified against its source digest, and
nothing in DEST is ever overwritten: a re-run skips what is already there, identical.

"Keepers" are all items the plan does not remove, unique photos included: pass every
item to get a whole clean library, or only the groups' members for just those.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from blake3 import blake3

from photodedup.actions.plan import REMOVABLE_KINDS, file_digest, find_sidecars, source_folder_name
from photodedup.match.engine import StoreItems
from photodedup.match.model import Group, MatchItem

__all__ = ["ExportReport", "ExportedFile", "export_keepers", "keeper_ids"]

_PARTIAL = ".photodedup-partial"
_STAGE = ".photodedup-staging"


@dataclass(slots=True)
class ExportedFile:
    item: int
    source: str  # a path, or "<library>#<uuid>" for Photos assets
    dest: str
    role: str  # file | sidecar | original | live_video | raw | edited


@dataclass(slots=True)
class ExportReport:
    dest: str
    copied: list[ExportedFile] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # DEST paths already there with the same bytes
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (what, why)
    bytes_copied: int = 0

    @property
    def ok(self) -> bool:
        return not self.skipped


def keeper_ids(
    groups: list[Group],
    items: Mapping[int, MatchItem],
    *,
    plan: dict | None = None,
    include_edited: bool = False,
) -> set[int]:
    """Items to export: every file or asset that is not removed (by the plan, or by the groups).

    ``items`` holds every live item, or is a ``StoreItems`` (then the ids come from the store).
    """
    removed: set[int] = set()
    if plan is not None:
        for r in plan["removals"]:
            removed.add(r["item"])
            removed.update(c["item"] for c in r["companions"] if "item" in c)
    else:
        kinds = (*REMOVABLE_KINDS, "edited") if include_edited else REMOVABLE_KINDS
        # A unit group's "kept" parts only say it removes nothing itself (see plan.build_plan).
        kept = {m.id for g in groups if g.kind != "unit" for m in g.members if m.keep}
        kept |= {c for g in groups if g.kind != "unit" for m in g.members if m.keep for c in m.companions}
        for g in groups:
            if g.kind in kinds and any(m.keep for m in g.members):
                for m in g.members:
                    if not m.keep and m.id not in kept:
                        removed.add(m.id)
                        removed.update(c for c in m.companions if c not in kept)
    every = items.kinds() if isinstance(items, StoreItems) else ((i, it.kind) for i, it in items.items())
    return {i for i, kind in every if kind in ("file", "asset") and i not in removed}


def _each(items: Mapping[int, MatchItem], ids: list[int]) -> Iterator[MatchItem]:
    """The items of ``ids`` in order; from a ``StoreItems`` read in batches and not kept in memory."""
    if isinstance(items, StoreItems):
        yield from items.read(ids)
    else:
        yield from (items[i] for i in ids)


def export_keepers(
    groups: list[Group],
    items: Mapping[int, MatchItem],
    dest: str | os.PathLike[str],
    *,
    plan: dict | None = None,
    include_edited: bool = False,
    edited: bool = True,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> ExportReport:
    """Copy every keeper into ``dest``; with a plan, its keeper gains go into the copies' sidecars.

    ``items``: every live item, or a ``StoreItems`` (a whole library is then never held in memory).
    """
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport(str(out))
    ids = sorted(keeper_ids(groups, items, plan=plan, include_edited=include_edited))
    gains = {m["keeper"]: m["gains"] for m in (plan or {}).get("merge", [])}
    libraries: dict[str, list[int]] = {}
    seen: set[str] = set()  # a stem sidecar (IMG_1234.AAE) belongs to the still and its video
    for n, it in enumerate(_each(items, ids), 1):
        if it.kind == "asset":
            libraries.setdefault(it.source_root or "", []).append(it.id)
        else:
            _export_file(it, out, report, gains.get(it.id), seen)
        if on_progress:
            on_progress(n, len(ids), it.path or it.uuid or "")
    for library, asset_ids in libraries.items():
        _export_assets(library, list(_each(items, asset_ids)), out, report, gains, edited=edited)
    return report


# -- files ----------------------------------------------------------------------------
def _dest_for(it: MatchItem, path: str, out: Path) -> Path:
    root = it.source_root or os.path.dirname(path)
    if it.source_kind == "file" or os.path.isfile(root):
        rel = os.path.basename(path)
    else:
        rel = os.path.relpath(path, root)
        if rel.startswith(".."):
            rel = os.path.join("_outside", path.lstrip(os.sep))
    return out / source_folder_name(root) / rel


def _copy(src: str, dst: Path, expect: str | None = None) -> tuple[str, int]:
    """Copy with verification; ('copied'|'already'|'conflict'|'changed', bytes)."""
    if os.path.lexists(dst):
        if file_digest(dst)[1] == (expect or file_digest(src)[1]):
            return "already", 0
        return "conflict", 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}{_PARTIAL}")
    h = blake3()
    size = 0
    with open(src, "rb") as fi, open(tmp, "wb") as fo:
        while block := fi.read(1 << 20):
            h.update(block)
            fo.write(block)
            size += len(block)
        fo.flush()
        os.fsync(fo.fileno())
    digest = h.hexdigest()
    if file_digest(tmp)[1] != digest:
        tmp.unlink()
        raise OSError(f"the copy of {src} does not match it")
    shutil.copystat(src, tmp)
    os.replace(tmp, dst)  # dst was absent a moment ago, and DEST is ours
    return ("copied" if expect in (None, digest) else "changed"), size


def _export_file(it: MatchItem, out: Path, report: ExportReport, gains: dict | None, seen: set[str]) -> None:
    # Any file still there is copied, even one that could not be decoded: never lose a photo.
    if not it.path or not os.path.isfile(it.path):
        report.skipped.append((it.path or f"item {it.id}", f"not on disk (status {it.status})"))
        return
    files = [(it.path, "file", it.blake3)] + [
        (s, "sidecar", None) for s in find_sidecars(it.path, meta=it.meta)
    ]
    for path, role, expect in files:
        if path in seen:
            continue
        seen.add(path)
        dst = _dest_for(it, path, out)
        try:
            status, size = _copy(path, dst, expect)
        except OSError as e:
            report.skipped.append((path, f"cannot copy: {e}"))
            continue
        if status == "conflict":
            report.skipped.append((path, f"{dst} holds another file; not overwritten"))
        elif status == "already":
            report.already.append(str(dst))
        else:
            report.copied.append(ExportedFile(it.id, path, str(dst), role))
            report.bytes_copied += size
            if status == "changed":
                report.skipped.append((path, "copied, but it changed since the scan (re-scan and re-plan)"))
    if gains:
        _merge_into_copy(_dest_for(it, it.path, out), gains, report)


def _merge_into_copy(copy: Path, gains: dict, report: ExportReport) -> None:
    """Keeper gains into the exported copy's sidecar (DEST is ours: no backup needed)."""
    from photodedup.actions.xmp import XmpError, merge_xmp, sidecar_path

    side = sidecar_path(copy)
    try:
        current = side.read_bytes() if side.exists() else None
        new = merge_xmp(current, gains)
        if new != current:
            tmp = side.with_name(f".{side.name}{_PARTIAL}")
            tmp.write_bytes(new)
            os.replace(tmp, side)
    except (OSError, XmpError) as e:
        report.skipped.append((str(side), f"keeper metadata not merged: {e}"))


# -- Photos assets ----------------------------------------------------------------------
def _export_assets(
    library: str, assets: list[MatchItem], out: Path, report: ExportReport, gains: dict, *, edited: bool
) -> None:
    on_disk = [a for a in assets if a.path and os.path.isfile(a.path)]
    for a in assets:
        if a not in on_disk:
            report.skipped.append(
                (f"{library}#{a.uuid}", "original not on disk (iCloud): export it on the Mac with osxphotos")
            )
    if not on_disk:
        return
    from photodedup.sources.applephotos import library_db_path

    folder = out / source_folder_name(library)
    try:
        db_file = library_db_path(library)
    except (FileNotFoundError, ValueError) as e:
        report.skipped.extend((f"{library}#{a.uuid}", f"library unreadable: {e}") for a in on_disk)
        return
    with tempfile.TemporaryDirectory(prefix="photodedup_export_db_") as tmp:
        import osxphotos

        copy = Path(tmp) / "Photos.sqlite"
        shutil.copyfile(db_file, copy)
        if os.path.exists(f"{db_file}-wal"):
            shutil.copyfile(f"{db_file}-wal", f"{copy}-wal")
        db = osxphotos.PhotosDB(dbfile=str(copy), library_path=library, _skip_searchinfo=True)
        for a in on_disk:
            try:
                _export_asset(db, a, folder, report, gains.get(a.id), edited=edited)
            except Exception as e:  # one asset must not stop the export of the rest
                report.skipped.append((f"{library}#{a.uuid}", f"{type(e).__name__}: {e}"))
        del db


def _with_number(name: str, n: int) -> str:
    stem = name.split(".", 1)[0]
    return f"{stem} ({n}){name[len(stem) :]}"


def _export_asset(db, a: MatchItem, folder: Path, report: ExportReport, gains, *, edited: bool) -> None:
    photo = db.get_photo(a.uuid)
    if photo is None:
        report.skipped.append((f"{a.source_root}#{a.uuid}", "not in the library any more"))
        return
    roles = {}
    for role, p in (
        ("original", photo.path),
        ("live_video", photo.path_live_photo),
        ("raw", photo.path_raw),
        ("edited", photo.path_edited if edited else None),
    ):
        if p and os.path.isfile(p):
            roles[file_digest(p)[1]] = role
    folder.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=_STAGE, dir=folder))
    try:
        photo.export(str(stage), live_photo=True, raw_photo=True, sidecar_xmp=True, increment=False)
        if edited and photo.hasadjustments and photo.path_edited and os.path.isfile(photo.path_edited):
            photo.export(str(stage), edited=True, live_photo=True, sidecar_xmp=True, increment=False)
        staged = sorted(p for p in stage.iterdir() if p.is_file())
        digests = {p.name: file_digest(p)[1] for p in staged}
        media = [p for p in staged if p.suffix.lower() != ".xmp"]
        wrong = [p.name for p in media if digests[p.name] not in roles]
        if wrong or "original" not in {roles.get(digests[p.name]) for p in media}:
            what = f"{a.source_root}#{a.uuid}"
            report.skipped.append((what, f"exported bytes do not match the library's files: {wrong}"))
            return
        if gains:
            for side in (p for p in staged if p.suffix.lower() == ".xmp"):
                from photodedup.actions.xmp import merge_xmp

                side.write_bytes(merge_xmp(side.read_bytes(), gains))
                digests[side.name] = file_digest(side)[1]
        n = 0
        while True:  # one free number for all the asset's files, so they keep matching names
            names = {p.name: (_with_number(p.name, n) if n else p.name) for p in staged}
            clash = [
                p
                for p in media
                if os.path.lexists(folder / names[p.name])
                and file_digest(folder / names[p.name])[1] != digests[p.name]
            ]
            if not clash:
                break
            n += 1
        for p in staged:
            target = folder / names[p.name]
            if os.path.lexists(target):
                report.already.append(str(target))
                continue
            os.rename(p, target)
            role = "sidecar" if p.suffix.lower() == ".xmp" else roles[digests[p.name]]
            report.copied.append(ExportedFile(a.id, f"{a.source_root}#{a.uuid}", str(target), role))
            report.bytes_copied += target.stat().st_size
    finally:
        shutil.rmtree(stage, ignore_errors=True)  # only our staging copies are left in it
