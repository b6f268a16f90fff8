"""Read a Google Takeout (Google Photos) export: media files paired with their JSON sidecars.

Takeout names sidecars loosely, so pairing goes from the most to the least certain rule,
per folder (the same relative folder of every archive part, because a split export may put
a sidecar and its media into different parts):

1. ``NAME.ext.json`` / ``NAME.ext.supplemental-metadata.json`` (or any prefix of
   ``supplemental-metadata``, as left by the 51-character cut), with the ``(N)`` collision
   counter moved after the extension: media ``IMG(1).jpg`` <-> ``IMG.jpg(1).json``;
2. ``NAME.json`` (extension dropped);
3. a Live Photo / motion photo video (``IMG.MP4`` beside ``IMG.HEIC``, ``PXL_…MP`` beside
   ``PXL_…MP.jpg``) without a sidecar of its own shares the still's;
4. names cut to 51 characters (sidecar name a prefix of ``NAME.ext.supplemental-metadata``);
5. ``-edited`` copies (and localised suffixes) share the original's sidecar;
6. the sidecar's ``title`` (original file name), for whatever is left.

Nothing is written. A sidecar that no media claims is an orphan (its media is not in the
export, or lives in another folder): it is still useful metadata for matching by title/date.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photodedup._types import TakeoutSidecar

__all__ = [
    "EDITED_SUFFIXES",
    "TakeoutAlbum",
    "TakeoutMedia",
    "TakeoutScan",
    "find_photos_dirs",
    "is_takeout",
    "parse_sidecar",
    "read_takeout",
]

# Names of the "Google Photos" folder in localised exports.
PHOTOS_DIR_NAMES = frozenset(
    {"google photos", "google fotos", "google foto", "google foto's", "google фото", "google zdjęcia"}
)
# "Takeout", and the "Takeout 2" / "Takeout (1)" / "Takeout-3" that unpacking split archives yields.
_TAKEOUT_RE = re.compile(r"^takeout(?:[ _-]*\(?\d+\)?)?$", re.IGNORECASE)
# Year folders are not albums ("Photos from 2016" and localised forms).
_YEAR_DIR_RE = re.compile(
    r"^(?:photos from|fotos von|photos de|fotos de|foto del|foto's uit|foto från|fotos fra|"
    r"billeder fra|zdjęcia z|фото за|kuvat vuodelta)\s+\d{4}$",
    re.IGNORECASE,
)
# Album metadata file names (English and localised exports).
ALBUM_METADATA_NAMES = frozenset(
    {"metadata.json", "metadaten.json", "métadonnées.json", "metadatos.json", "metadati.json"}
    | {"metadane.json"}
)
# Suffix Google adds to the edited copy of a photo, by export language.
EDITED_SUFFIXES = (
    "-edited",
    "-bearbeitet",
    "-modifié",
    "-editado",
    "-modificato",
    "-bewerkt",
    "-edytowane",
    "-redigeret",
    "-redigert",
    "-redigerad",
    "-muokattu",
    "-upraveno",
    "-编辑",
    "-編集済み",
)
_SUPPLEMENTAL = "supplemental-metadata"
_SIDECAR_NAME_LIMIT = 51  # Takeout cuts sidecar file names to 51 chars, ".json" included

_IMAGE_EXTS_TEXT = """
.jpg .jpeg .jpe .jfif .png .gif .bmp .webp .heic .heif .hif .avif .tif .tiff .ico .mpo
.dng .cr2 .cr3 .crw .nef .nrw .arw .srf .sr2 .orf .rw2 .raf .pef .srw .x3f .3fr .erf .kdc .mrw .raw .rwl .iiq
"""
_VIDEO_EXTS_TEXT = """
.mp .mp4 .m4v .mov .qt .3gp .3g2 .avi .mkv .webm .wmv .asf .mpg .mpeg .mpe .m2ts .mts .ts .vob .flv
.divx .mod .tod
"""
IMAGE_EXTS = frozenset(_IMAGE_EXTS_TEXT.split())
VIDEO_EXTS = frozenset(_VIDEO_EXTS_TEXT.split())
_IGNORED_FILES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})


@dataclass(slots=True)
class TakeoutMedia:
    """One media file and the sidecar that describes it (None when none was found).

    ``sidecar`` is this file's own copy of the data (``media_path`` = ``path``), so an
    original, its ``-edited`` copy and its Live video each get their own instance.
    ``match`` says which rule paired them: exact, supplemental, counter, no-extension,
    live-video, truncated, edited, title (or None).
    """

    path: str
    sidecar: TakeoutSidecar | None
    match: str | None
    album: str | None  # album folder name, None for year folders and the top level
    is_edited_variant: bool = False
    live_still_path: str | None = None  # set for the video half of a Live/motion photo


@dataclass(slots=True)
class TakeoutAlbum:
    """An album folder and what its metadata.json says (title may differ from the folder name)."""

    folder: str  # folder name, as used for TakeoutSidecar.album
    paths: list[str]  # the album folder in each archive part
    metadata_path: str | None
    title: str | None = None
    description: str | None = None


@dataclass(slots=True)
class TakeoutScan:
    """Everything :func:`read_takeout` found; paths are absolute strings, sorted."""

    root: str  # the (first) path given
    photos_dirs: list[str]  # the "Google Photos" folders read (several for split exports)
    media: list[TakeoutMedia] = field(default_factory=list)
    orphan_sidecars: list[TakeoutSidecar] = field(default_factory=list)  # media_path None
    albums: list[TakeoutAlbum] = field(default_factory=list)
    other_json: list[str] = field(default_factory=list)  # print-subscriptions.json, …
    other_files: list[str] = field(default_factory=list)  # neither media nor JSON (html, …)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, message)

    @property
    def pairs(self) -> list[tuple[str, TakeoutSidecar | None]]:
        """(media path, sidecar or None) for every media file."""
        return [(m.path, m.sidecar) for m in self.media]

    @property
    def orphans(self) -> list[TakeoutSidecar]:
        """Alias of ``orphan_sidecars``."""
        return self.orphan_sidecars

    def sidecar_for(self, path: str | os.PathLike[str]) -> TakeoutSidecar | None:
        p = str(Path(path).absolute())
        return next((m.sidecar for m in self.media if m.path == p), None)


# --------------------------------------------------------------------------- finding roots


def _is_photos_dir_name(name: str) -> bool:
    return _nfc(name).casefold() in PHOTOS_DIR_NAMES


def _photos_children(d: Path) -> list[Path]:
    try:
        return sorted(c for c in d.iterdir() if c.is_dir() and _is_photos_dir_name(c.name))
    except OSError:
        return []


def _takeout_children(d: Path) -> list[Path]:
    try:
        return sorted(c for c in d.iterdir() if c.is_dir() and _TAKEOUT_RE.match(c.name))
    except OSError:
        return []


def find_photos_dirs(path: str | os.PathLike[str]) -> list[Path]:
    """The ``Google Photos`` folders of a Takeout-shaped path (empty when none).

    Accepts the ``Google Photos`` folder of a ``Takeout`` folder, the ``Takeout`` folder,
    or a folder holding ``Takeout/Google Photos`` (also ``Takeout 2/…`` as unpacking split
    archives side by side yields). Deeper layouts are not guessed: a scan root that merely
    contains an export somewhere must not be taken for the export itself.
    """
    p = Path(path).absolute()
    if not p.is_dir():
        return []
    if _is_photos_dir_name(p.name) and _TAKEOUT_RE.match(p.parent.name):
        return [p]
    if _TAKEOUT_RE.match(p.name) and (found := _photos_children(p)):
        return found
    return [g for t in _takeout_children(p) for g in _photos_children(t)]


def is_takeout(path: str | os.PathLike[str]) -> bool:
    """True for a Takeout folder, its Google Photos folder, or a folder holding Takeout/Google Photos."""
    return bool(find_photos_dirs(path))


# --------------------------------------------------------------------------- sidecar parsing


def _nfc(s: str) -> str:
    # macOS may hand back decomposed names (e + U+0301); Takeout titles are composed.
    return unicodedata.normalize("NFC", s)


def _int_ts(node: Any) -> int | None:
    if isinstance(node, dict):
        node = node.get("timestamp")
    try:
        return int(str(node).strip()) if node not in (None, "") else None
    except ValueError:
        return None


def _float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _geo(data: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
    """geoData, else geoDataExif; 0.0/0.0 is Google's 'no location'."""
    for key in ("geoData", "geoDataExif"):
        g = data.get(key)
        if not isinstance(g, dict):
            continue
        lat, lon = _float(g.get("latitude")), _float(g.get("longitude"))
        if lat is None or lon is None or (lat == 0.0 and lon == 0.0):
            continue
        return lat, lon, _float(g.get("altitude"))
    return None, None, None


def _looks_like_sidecar(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("title"), str)
        and ("photoTakenTime" in data or "creationTime" in data)
    )


def parse_sidecar(
    sidecar_path: str | os.PathLike[str],
    data: dict[str, Any],
    media_path: str | None = None,
    album: str | None = None,
) -> TakeoutSidecar:
    """Keep the useful parts of a sidecar's JSON."""
    lat, lon, alt = _geo(data)
    title = data.get("title")
    desc = data.get("description")
    return TakeoutSidecar(
        sidecar_path=str(sidecar_path),
        media_path=media_path,
        title=_nfc(title) if isinstance(title, str) and title else None,
        photo_taken_time=_int_ts(data.get("photoTakenTime")),
        creation_time=_int_ts(data.get("creationTime")),
        latitude=lat,
        longitude=lon,
        altitude=alt,
        description=desc if isinstance(desc, str) and desc else None,
        favorited=data.get("favorited") is True,
        album=album,
    )


# --------------------------------------------------------------------------- name rules

_COUNTER_RE = re.compile(r"^(?P<base>.*?)\((?P<n>\d+)\)(?P<rest>\.[^.()]*)?$")


def _sidecar_key(filename: str) -> tuple[str, int]:
    """``IMG.jpg(1).json`` -> ("IMG.jpg", 1); ``IMG.jpg.supplemental-metadata(2).json`` ->
    ("IMG.jpg.supplemental-metadata", 2). The supplemental part is kept (matched later)."""
    stem = filename[: -len(".json")] if filename.lower().endswith(".json") else filename
    m = _COUNTER_RE.match(stem)
    if m and (not m["rest"] or _is_supplemental_tail(m["rest"][1:])):
        return m["base"] + (m["rest"] or ""), int(m["n"])
    return stem, 0


def _is_supplemental_tail(tail: str) -> bool:
    """'' or any prefix of 'supplemental-metadata' (what the 51-char cut leaves)."""
    return _SUPPLEMENTAL.startswith(tail.casefold())


def _split_counter(name: str) -> tuple[str, int]:
    """``IMG(1).jpg`` -> ("IMG.jpg", 1)."""
    stem, ext = os.path.splitext(name)
    m = re.match(r"^(.*)\((\d+)\)$", stem)
    return (m[1] + ext, int(m[2])) if m else (name, 0)


def _edited_original(name: str) -> str | None:
    """``IMG-edited.jpg`` -> ``IMG.jpg`` (also localised suffixes, ``IMG-edited(1).jpg``)."""
    stem, ext = os.path.splitext(name)
    m = re.match(r"^(.*?)(\(\d+\))?$", stem)
    core, counter = (m[1], m[2] or "") if m else (stem, "")
    low = core.casefold()
    for suffix in EDITED_SUFFIXES:
        if low.endswith(suffix) and len(core) > len(suffix):
            return core[: -len(suffix)] + counter + ext
    return None


def _targets(name: str) -> list[tuple[str, int]]:
    """(sidecar base, counter) pairs a media name may be described by."""
    out = [(name, 0)]
    base, n = _split_counter(name)
    if n:
        out.append((base, n))
    return out


@dataclass(slots=True)
class _Side:
    path: Path
    key: str  # filename minus .json and counter, NFC
    counter: int
    data: dict[str, Any]
    title: str | None
    claimed: bool = False


@dataclass(slots=True)
class _Media:
    path: Path
    name: str  # NFC
    side: _Side | None = None
    match: str | None = None
    edited: bool = False
    live_still: Path | None = None


def _match_exact(name: str, sides: list[_Side], fold: bool) -> tuple[_Side, str] | None:
    """Rule 1 (exact / supplemental / counter), then case-insensitively."""
    norm = str.casefold if fold else str
    for target, n in _targets(name):
        t = norm(target)
        for s in sides:
            if s.counter != n:
                continue
            k = norm(s.key)
            if k == t:
                return s, "counter" if n else "exact"
            if k.startswith(t + ".") and _is_supplemental_tail(k[len(t) + 1 :]):
                return s, "supplemental"
    return None


def _match_no_ext(name: str, sides: list[_Side]) -> tuple[_Side, str] | None:
    for target, n in _targets(name):
        stem = os.path.splitext(target)[0].casefold()
        if not stem or stem == target.casefold():
            continue
        for s in sides:
            if s.counter == n and s.key.casefold() == stem:
                return s, "no-extension"
    return None


def _match_named(name: str, sides: list[_Side]) -> tuple[_Side, str] | None:
    return _match_exact(name, sides, False) or _match_exact(name, sides, True) or _match_no_ext(name, sides)


def _truncation_candidates(name: str, sides: list[_Side]) -> list[_Side]:
    """Unclaimed sidecars whose (cut) name is a proper prefix of NAME.ext.supplemental-metadata."""
    out = []
    for target, n in _targets(name):
        full = f"{target}.{_SUPPLEMENTAL}".casefold()
        for s in sides:
            if s.claimed or s.counter != n or len(s.path.name) < _SIDECAR_NAME_LIMIT - 5:
                continue
            k = s.key.casefold().rstrip(".")
            if len(k) >= 8 and full.startswith(k) and len(k) < len(full):
                out.append(s)
    return out


def _title_candidates(name: str, sides: list[_Side]) -> list[_Side]:
    """Unclaimed sidecars whose title is the media name (or the name Takeout cut short)."""
    base, _n = _split_counter(name)
    wanted = {name.casefold(), base.casefold()}
    exact = [s for s in sides if not s.claimed and s.title and s.title.casefold() in wanted]
    if exact:
        return exact
    stem, ext = os.path.splitext(base)
    if len(name) < 30 or not ext:
        return []
    return [
        s
        for s in sides
        if not s.claimed
        and s.title
        and os.path.splitext(s.title)[1].casefold() == ext.casefold()
        and s.title.casefold().startswith(stem.casefold())
    ]


def _is_video(name: str) -> bool:
    return os.path.splitext(name)[1].casefold() in VIDEO_EXTS


def _is_media_name(name: str) -> bool:
    ext = os.path.splitext(name)[1].casefold()
    return ext in IMAGE_EXTS or ext in VIDEO_EXTS


def _pair_folder(medias: list[_Media], sides: list[_Side]) -> None:
    """Apply the rules of the module docstring, most certain first, to one folder."""

    def claim(m: _Media, hit: tuple[_Side, str] | None) -> bool:
        if hit is None:
            return False
        m.side, m.match = hit
        hit[0].claimed = True
        return True

    stills: dict[str, _Media] = {}
    for m in medias:
        if not _is_video(m.name) and os.path.splitext(m.name)[1]:
            stills.setdefault(os.path.splitext(m.name)[0].casefold(), m)

    def live_still(m: _Media) -> _Media | None:
        """The still beside a video: IMG.HEIC for IMG.MP4, PXL_x.MP.jpg for PXL_x.MP."""
        if not _is_video(m.name) and os.path.splitext(m.name)[1]:
            return None
        s = stills.get(os.path.splitext(m.name)[0].casefold()) or stills.get(m.name.casefold())
        return s if s is not m else None

    # Rules 1-2 (no-extension not for a video beside its still: "IMG.json" is the still's).
    for m in medias:
        hit = _match_exact(m.name, sides, False) or _match_exact(m.name, sides, True)
        if hit is None and live_still(m) is None:
            hit = _match_no_ext(m.name, sides)
        claim(m, hit)

    # Rule 4: names cut to 51 characters, only when one media and one sidecar fit each other.
    cut: dict[int, list[_Side]] = {}
    wanted_by: dict[int, int] = defaultdict(int)
    for i, m in enumerate(medias):
        if m.side is None and _edited_original(m.name) is None and live_still(m) is None:
            cut[i] = _truncation_candidates(m.name, sides)
            for s in cut[i]:
                wanted_by[id(s)] += 1
    for i, cands in cut.items():
        if len(cands) == 1 and wanted_by[id(cands[0])] == 1:
            claim(medias[i], (cands[0], "truncated"))

    # Rule 5: edited copies share the original's sidecar (the original may be absent).
    for m in medias:
        if m.side is None and (orig := _edited_original(m.name)) is not None:
            original = next((o for o in medias if o.name.casefold() == orig.casefold()), None)
            if original is not None and original.side is not None:
                hit = (original.side, "edited")
            else:
                hit = _match_named(orig, sides)
                hit = (hit[0], "edited") if hit else None
            if claim(m, hit):
                m.edited = True

    # Rule 3: Live / motion photo videos share their still's sidecar.
    for m in medias:
        still = live_still(m)
        if still is not None:
            m.live_still = still.path
            if m.side is None and still.side is not None:
                m.side, m.match = still.side, "live-video"

    # Rule 6: titles, for what is left (unique title, or Takeout's counter order).
    for m in medias:
        if m.side is not None:
            continue
        name = _edited_original(m.name) or m.name
        cands = _title_candidates(name, sides)
        if len(cands) > 1:
            _b, n = _split_counter(name)
            cands = [s for s in cands if s.counter == n] or cands
        if len(cands) == 1 and claim(m, (cands[0], "title")):
            m.edited = name != m.name


# --------------------------------------------------------------------------- reading


def _album_of(rel_dir: str, album_dirs: set[str]) -> str | None:
    if rel_dir in ("", "."):
        return None
    top = Path(rel_dir).parts[0]
    if top in album_dirs or not _YEAR_DIR_RE.match(top):
        return top
    return None


def read_takeout(root: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> TakeoutScan:
    """Scan a Takeout and pair every media file with its sidecar.

    ``root`` is anything :func:`find_photos_dirs` accepts (any other folder is read as a
    Google Photos folder itself), or a list of them: the parts of a split export
    (``takeout-…-001``, ``-002``, …), whose folders are merged before pairing because
    Google may put a sidecar and its media into different parts.
    """
    roots = [root] if isinstance(root, (str, os.PathLike)) else list(root)
    if not roots:
        raise ValueError("no Takeout folder given")
    root_paths = [Path(r).absolute() for r in roots]
    photos_dirs: list[Path] = []
    for rp in root_paths:
        if not rp.is_dir():
            raise FileNotFoundError(f"not a folder: {rp}")
        photos_dirs.extend(find_photos_dirs(rp) or [rp])
    scan = TakeoutScan(root=str(root_paths[0]), photos_dirs=[str(p) for p in photos_dirs])

    by_dir_media: dict[str, list[_Media]] = defaultdict(list)
    by_dir_sides: dict[str, list[_Side]] = defaultdict(list)
    album_meta: dict[str, tuple[Path, dict[str, Any]]] = {}
    album_paths: dict[str, list[str]] = defaultdict(list)
    candidate_json: list[tuple[str, Path]] = []

    def walk_error(e: OSError) -> None:
        scan.errors.append((str(e.filename), f"cannot list folder: {e.strerror or e}"))

    for gp in photos_dirs:
        for dirpath, dirnames, filenames in os.walk(gp, onerror=walk_error):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel = _nfc(os.path.relpath(dirpath, gp))
            if rel != ".":
                top = Path(rel).parts[0]
                if len(Path(rel).parts) == 1:
                    album_paths[top].append(dirpath)
            for fn in sorted(filenames):
                p = Path(dirpath, fn)
                name = _nfc(fn)
                low = name.casefold()
                if name.startswith(".") or low in _IGNORED_FILES:
                    continue
                if low.endswith(".json"):
                    if low in ALBUM_METADATA_NAMES and rel != ".":
                        try:
                            data = json.loads(p.read_text(encoding="utf-8"))
                        except (OSError, ValueError) as e:
                            scan.errors.append((str(p), f"unreadable JSON: {e}"))
                            continue
                        if not _looks_like_sidecar(data):
                            album_meta[Path(rel).parts[0]] = (p, data if isinstance(data, dict) else {})
                            continue
                    candidate_json.append((rel, p))
                elif _is_media_name(name) or (not os.path.splitext(name)[1] and name.endswith("MP")):
                    by_dir_media[rel].append(_Media(path=p, name=name))
                else:
                    scan.other_files.append(str(p))

    for rel, p in candidate_json:
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            scan.errors.append((str(p), f"unreadable JSON: {e}"))
            continue
        if not _looks_like_sidecar(data):
            scan.other_json.append(str(p))
            continue
        key, counter = _sidecar_key(_nfc(p.name))
        title = data.get("title")
        by_dir_sides[rel].append(
            _Side(path=p, key=key, counter=counter, data=data, title=_nfc(title) if title else None)
        )

    album_dirs = set(album_meta)
    for rel in sorted(set(by_dir_media) | set(by_dir_sides)):
        medias, sides = by_dir_media.get(rel, []), by_dir_sides.get(rel, [])
        _pair_folder(medias, sides)
        album = _album_of(rel, album_dirs)
        for m in medias:
            sc = None
            if m.side is not None:
                sc = parse_sidecar(m.side.path, m.side.data, media_path=str(m.path), album=album)
                sc.is_edited_variant = m.edited
            scan.media.append(
                TakeoutMedia(
                    path=str(m.path),
                    sidecar=sc,
                    match=m.match,
                    album=album,
                    is_edited_variant=m.edited,
                    live_still_path=str(m.live_still) if m.live_still else None,
                )
            )
        for s in sides:
            if not s.claimed:
                scan.orphan_sidecars.append(parse_sidecar(s.path, s.data, album=album))

    for folder in sorted(set(album_paths) | set(album_meta)):
        if folder not in album_meta and _album_of(folder, album_dirs) is None:
            continue
        meta_path, data = album_meta.get(folder, (None, {}))
        info = data.get("albumData", data) if isinstance(data, dict) else {}
        scan.albums.append(
            TakeoutAlbum(
                folder=folder,
                paths=sorted(album_paths.get(folder, [])),
                metadata_path=str(meta_path) if meta_path else None,
                title=info.get("title") or None,
                description=info.get("description") or None,
            )
        )

    scan.media.sort(key=lambda m: m.path)
    scan.orphan_sidecars.sort(key=lambda s: s.sidecar_path)
    scan.other_json.sort()
    scan.other_files.sort()
    return scan
