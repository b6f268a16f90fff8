"""Which member of a group to keep, and why, in words.

The keeper is chosen by ordered rules. Each rule ranks two members; the first rule that tells
them apart decides, and the last rule (``tie_break``, lowest id) always does, so the choice is
the same whatever order the members come in. Every member gets a reason: the keeper says what
it is and which rules made it win; every other member names the rule that made it lose.

Rules (default order; see docs/keeper.md for why this order):

``not_trashed``
    A copy in the Photos trash loses to any live copy; a hidden one loses to a visible one.
``on_disk``
    The original file on disk beats an iCloud-only placeholder (``status == "not_on_disk"``).
``not_cloud_copy``
    An original beats a compressed cloud copy: ``MatchItem.cloud_copy``, or a Google Takeout item
    with fewer pixels (or the same pixels and fewer bytes) than a non-Takeout member of the same
    kind (both originals, or both edits).
``original_over_edit``
    The original beats an edited version; reversed with ``prefer_edits``.
``whole_capture``
    A copy that carries more of its capture wins: a Live Photo still with its video, a JPEG with its RAW,
    a motion photo with its embedded video, over the same picture alone (so removing the copy loses
    nothing that the keeper does not have).
``most_pixels``
    More pixels win (width × height as displayed).
``richest_metadata``
    More of: capture time, GPS, camera (make/model).
``favorite_or_albums``
    A favourite wins, then the member in more albums.
``oldest_capture``
    The earliest capture time wins (UTC when the offset is known); no capture time ranks last.
``oldest_import``
    The earliest library import (``date_added``) wins; no import date ranks last.
``camera_format``
    For equal pixels, the format listed first in ``prefer_formats`` (the camera's own HEIC over a
    JPEG conversion). More pixels always beat a preferred format, wherever the rule is placed.
``plain_name``
    A file name without a copy marker ("copy of X", "X copy 2", "X - Copy", "X (1)") beats one with it.
``tie_break``
    The lowest id (scanned first). Always applied last, even when not listed.

Config (TOML, ``[keeper]`` table)::

    [keeper]
    rules = ["not_trashed", "on_disk", ...]   # the whole order; rules left out are not applied
    prefer_edits = false
    prefer_formats = ["HEIF", "DNG", "TIFF", "JPEG", "PNG"]

The file is ``$PHOTODEDUP_CONFIG`` or ``platformdirs.user_config_dir("photodedup")/config.toml``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from photodedup.match.model import Group, MatchItem
from photodedup.match.units import RAW_EXTENSIONS

__all__ = [
    "DEFAULT_FORMATS",
    "DEFAULT_RULES",
    "RULES",
    "KeeperConfig",
    "apply_keeper",
    "choose_keeper",
    "default_config_path",
    "load_config",
]

DEFAULT_RULES: tuple[str, ...] = (
    "not_trashed",
    "on_disk",
    "not_cloud_copy",
    "original_over_edit",
    "whole_capture",
    "most_pixels",
    "richest_metadata",
    "favorite_or_albums",
    "oldest_capture",
    "oldest_import",
    "camera_format",
    "plain_name",
    "tie_break",
)

# Format names as the store records them (Pillow's names; camera RAW by its own name, media/raw.py).
# Camera output first: HEIF/AVIF from phones, then RAW, then JPEG (iPhone JPEGs with a gain map read
# as "MPO"); conversions (PNG, WebP, GIF, BMP) last. Formats not listed rank after all listed ones.
DEFAULT_FORMATS: tuple[str, ...] = (
    "HEIF",
    "AVIF",
    "DNG",
    "CR3",
    "CR2",
    "CRW",
    "RAF",
    "ORF",
    "RW2",
    "MRW",
    "X3F",
    "NEF",
    "NRW",
    "ARW",
    "PEF",
    "SRW",
    "RAW",
    "TIFF",
    "JXL",
    "MPO",
    "JPEG",
    "PNG",
    "WEBP",
    "GIF",
    "BMP",
)

_FORMAT_ALIASES = {"HEIC": "HEIF", "JPG": "JPEG", "TIF": "TIFF", "JPEGXL": "JXL", "JPEG XL": "JXL"}
_CONFIG_KEYS = ("rules", "prefer_edits", "prefer_formats")


def _format_name(name: str) -> str:
    name = name.strip().upper().lstrip(".")
    return _FORMAT_ALIASES.get(name, name)


@dataclass(slots=True)
class KeeperConfig:
    """The keeper rules in order, plus the two preferences they read.

    Validated on construction, so a bad config fails before any group is decided.
    """

    rules: list[str] = field(default_factory=lambda: list(DEFAULT_RULES))
    prefer_edits: bool = False
    prefer_formats: list[str] = field(default_factory=lambda: list(DEFAULT_FORMATS))
    path: Path | None = field(default=None, compare=False)  # where it was loaded from, if anywhere

    def __post_init__(self) -> None:
        if isinstance(self.rules, str) or not all(isinstance(r, str) for r in self.rules):
            raise ValueError("keeper rules must be a list of rule names")
        unknown = [r for r in self.rules if r not in RULES]
        if unknown:
            raise ValueError(
                f"unknown keeper rule(s): {', '.join(unknown)}; known rules: {', '.join(DEFAULT_RULES)}"
            )
        repeated = sorted({r for r in self.rules if self.rules.count(r) > 1})
        if repeated:
            raise ValueError(f"keeper rule(s) listed more than once: {', '.join(repeated)}")
        if "tie_break" in self.rules and self.rules[-1] != "tie_break":
            raise ValueError("keeper rule tie_break must come last: no rule after it can decide anything")
        if not isinstance(self.prefer_edits, bool):
            raise ValueError("keeper prefer_edits must be true or false")
        if isinstance(self.prefer_formats, str) or not all(isinstance(f, str) for f in self.prefer_formats):
            raise ValueError("keeper prefer_formats must be a list of format names")
        self.rules = list(self.rules)
        self.prefer_formats = [_format_name(f) for f in self.prefer_formats]

    @property
    def order(self) -> list[str]:
        """The rules as applied: the configured ones, then ``tie_break`` if it was left out."""
        return self.rules if self.rules[-1:] == ["tie_break"] else [*self.rules, "tie_break"]

    def format_rank(self, fmt: str | None) -> int:
        name = _format_name(fmt) if fmt else None
        try:
            return self.prefer_formats.index(name)
        except ValueError:
            return len(self.prefer_formats)


def default_config_path() -> Path:
    """``$PHOTODEDUP_CONFIG`` if set, else ``config.toml`` in the platform's config folder."""
    env = os.environ.get("PHOTODEDUP_CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("photodedup")) / "config.toml"


def load_config(path: str | os.PathLike[str] | None = None) -> KeeperConfig:
    """Read the ``[keeper]`` table of a TOML config; defaults for whatever it leaves out.

    With no path, the default location is used and a missing file means the defaults. A path
    the user named (argument or ``$PHOTODEDUP_CONFIG``) that does not exist is an error: a typo
    should not silently fall back to rules the user did not choose. Other tables in the file
    belong to other parts of photodedup and are ignored; unknown keys in ``[keeper]`` are errors.
    """
    named = path is not None or bool(os.environ.get("PHOTODEDUP_CONFIG"))
    file = Path(path).expanduser() if path is not None else default_config_path()
    if not file.is_file():
        if named:
            raise FileNotFoundError(f"config file not found: {file}")
        return KeeperConfig()
    try:
        with open(file, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{file}: not valid TOML: {e}") from e
    table = data.get("keeper", {})
    if not isinstance(table, dict):
        raise ValueError(f"{file}: [keeper] must be a table")
    unknown = sorted(set(table) - set(_CONFIG_KEYS))
    if unknown:
        raise ValueError(
            f"{file}: unknown key(s) in [keeper]: {', '.join(unknown)}; known keys: {', '.join(_CONFIG_KEYS)}"
        )
    try:
        return KeeperConfig(**table, path=file)
    except ValueError as e:
        raise ValueError(f"{file}: {e}") from e


# -- rules --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Context:
    config: KeeperConfig
    cloud: dict[int, str]  # id -> why it counts as a cloud copy
    parts: dict[int, list[str]] = field(default_factory=dict)  # id -> what else of its capture it carries


@dataclass(frozen=True, slots=True)
class _Rule:
    """``key`` ranks (lower wins); ``lose`` says why ``a`` lost to keeper ``k``; ``win`` why ``k`` won."""

    key: Callable[[MatchItem, _Context], object]
    lose: Callable[[MatchItem, MatchItem, _Context], str]
    win: Callable[[MatchItem, _Context], str]


def _dims(m: MatchItem) -> str:
    return f"{m.width}×{m.height}" if m.width and m.height else "unknown size"


def _meta_fields(m: MatchItem) -> list[str]:
    out = []
    if m.taken_at:
        out.append("capture time")
    if m.gps:
        out.append("GPS")
    if m.make or m.model:
        out.append("camera")
    return out


def _words(parts: list[str], last: str = "and") -> str:
    if not parts:
        return "none"
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} {last} {parts[-1]}"


def _capture_key(m: MatchItem) -> str | None:
    """Capture time to the second, in UTC when the offset is known (else wall-clock as written)."""
    if not m.taken_at:
        return None
    try:
        t = datetime.fromisoformat(m.taken_at)
    except ValueError:
        return m.taken_at[:19]
    if t.tzinfo is None and m.taken_offset:
        try:
            sign = -1 if m.taken_offset.startswith("-") else 1
            hours, minutes = m.taken_offset.lstrip("+-").split(":")
            t = t.replace(tzinfo=UTC) - sign * timedelta(hours=int(hours), minutes=int(minutes))
        except ValueError:
            pass
    if t.tzinfo is not None:
        t = t.astimezone(UTC).replace(tzinfo=None)
    return t.isoformat(timespec="seconds")


def _trash_rank(m: MatchItem) -> int:
    return 2 if m.trashed else 1 if m.hidden else 0


def _lose_trash(a: MatchItem, k: MatchItem, c: _Context) -> str:
    if a.trashed:
        return "in the Photos trash: the kept copy is not"
    return "hidden in Photos: the kept copy is visible"


def _lose_on_disk(a: MatchItem, k: MatchItem, c: _Context) -> str:
    if a.status == "not_on_disk":
        return "an iCloud-only placeholder: the kept copy has the original file"
    return f"no file on disk ({a.status}): the kept copy has one"


def _cloud_rank(m: MatchItem, c: _Context) -> int:
    return 1 if m.cloud_copy or m.id in c.cloud else 0


def _lose_cloud(a: MatchItem, k: MatchItem, c: _Context) -> str:
    if a.cloud_copy:
        return "a compressed cloud copy: the kept copy is the original"
    return f"{c.cloud[a.id]}: taken for a compressed cloud copy"


def _edit_rank(m: MatchItem, c: _Context) -> int:
    return int(m.is_edit != c.config.prefer_edits)


def _lose_edit(a: MatchItem, k: MatchItem, c: _Context) -> str:
    if c.config.prefer_edits:
        return "the original: you prefer edits, and the kept copy is the edited version"
    return "an edited version: the kept copy is the original"


def _lose_meta(a: MatchItem, k: MatchItem, c: _Context) -> str:
    return f"less metadata ({_words(_meta_fields(a))} vs {_words(_meta_fields(k))} on the kept copy)"


def _parts_of(m: MatchItem, c: _Context | None) -> list[str]:
    parts = list(c.parts.get(m.id, ())) if c is not None else []
    if m.motion_blake3:
        parts.append("its motion-photo video")
    return parts


def _lose_capture_parts(a: MatchItem, k: MatchItem, c: _Context) -> str:
    if a.media_type == "video" and k.media_type == "image" and k.motion_blake3:
        return "the video alone: the kept motion photo holds this video and its still"
    mine = _words(_parts_of(a, c)) if _parts_of(a, c) else "nothing"
    return f"carries less of the capture ({mine} vs {_words(_parts_of(k, c))} with the kept copy)"


def _win_capture_parts(k: MatchItem, c: _Context | None) -> str:
    parts = _parts_of(k, c)
    return f"it carries the whole capture ({_words(parts)})" if parts else "it carries the whole capture"


def _fav_key(m: MatchItem) -> tuple[int, int]:
    return (0 if m.favorite else 1, -len(m.albums))


def _lose_fav(a: MatchItem, k: MatchItem, c: _Context) -> str:
    if k.favorite and not a.favorite:
        return "not a favourite: the kept copy is"
    return f"in fewer albums ({len(a.albums)} vs {len(k.albums)})"


def _win_fav(k: MatchItem, c: _Context) -> str:
    return "it is a favourite" if k.favorite else f"it is in the most albums ({len(k.albums)})"


def _lose_capture(a: MatchItem, k: MatchItem, c: _Context) -> str:
    if not a.taken_at:
        return f"no capture time: the kept copy has one ({k.taken_at})"
    return f"captured later ({_capture_key(a)} vs {_capture_key(k)})"


def _lose_import(a: MatchItem, k: MatchItem, c: _Context) -> str:
    if not a.date_added:
        return f"no import date: the kept copy was imported {k.date_added}"
    return f"imported later ({a.date_added} vs {k.date_added})"


# What file managers, browsers and people add to a duplicated file's name (English; Finder, Explorer,
# downloads): "copy of IMG.jpg", "IMG copy.jpg", "IMG copy 2.jpg", "IMG - Copy.jpg", "IMG (1).jpg".
_COPY_NAME = re.compile(r"^copy of |(?: copy(?: \d+)?| - copy(?: \(\d+\))?| ?\(\d+\))$", re.IGNORECASE)


def _copy_marked(m: MatchItem) -> bool:
    """Whether the file name says it is a copy; library assets go by their original file name."""
    name = m.name
    return bool(name) and bool(_COPY_NAME.search(os.path.splitext(name)[0]))


def _lose_format(a: MatchItem, k: MatchItem, c: _Context) -> str:
    if a.pixels != k.pixels:
        return f"fewer pixels than the kept copy ({_dims(a)} vs {_dims(k)})"
    return f"the same pixels in a less preferred format ({a.format or 'unknown'} vs {k.format})"


RULES: dict[str, _Rule] = {
    "not_trashed": _Rule(
        key=lambda m, c: _trash_rank(m),
        lose=_lose_trash,
        win=lambda k, c: "it is not in the trash" if k.hidden else "it is not in the trash or hidden",
    ),
    "on_disk": _Rule(
        key=lambda m, c: 0 if m.on_disk else 1,
        lose=_lose_on_disk,
        win=lambda k, c: "its original file is on disk",
    ),
    "not_cloud_copy": _Rule(
        key=_cloud_rank,
        lose=_lose_cloud,
        win=lambda k, c: "it is not a cloud copy",
    ),
    "original_over_edit": _Rule(
        key=_edit_rank,
        lose=_lose_edit,
        win=lambda k, c: "it is the edited version, as you prefer" if k.is_edit else "it is the original",
    ),
    "whole_capture": _Rule(
        key=lambda m, c: -len(_parts_of(m, c)),
        lose=_lose_capture_parts,
        win=_win_capture_parts,
    ),
    "most_pixels": _Rule(
        key=lambda m, c: -m.pixels,
        lose=lambda a, k, c: f"fewer pixels than the kept copy ({_dims(a)} vs {_dims(k)})",
        win=lambda k, c: "it has the most pixels",
    ),
    "richest_metadata": _Rule(
        key=lambda m, c: -len(_meta_fields(m)),
        lose=_lose_meta,
        win=lambda k, c: "it has the richest metadata",
    ),
    "favorite_or_albums": _Rule(
        key=lambda m, c: _fav_key(m),
        lose=_lose_fav,
        win=_win_fav,
    ),
    "oldest_capture": _Rule(
        key=lambda m, c: (_capture_key(m) is None, _capture_key(m) or ""),
        lose=_lose_capture,
        win=lambda k, c: "it was captured first",
    ),
    "oldest_import": _Rule(
        key=lambda m, c: (m.date_added is None, m.date_added or ""),
        lose=_lose_import,
        win=lambda k, c: "it was imported first",
    ),
    # More pixels first even here, so the rule only ever ranks formats among equal pixel counts.
    "camera_format": _Rule(
        key=lambda m, c: (-m.pixels, c.config.format_rank(m.format)),
        lose=_lose_format,
        win=lambda k, c: f"it is in the camera's own format ({k.format})",
    ),
    "plain_name": _Rule(
        key=lambda m, c: _copy_marked(m),
        lose=lambda a, k, c: "its name marks it as a copy",
        win=lambda k, c: "its name is not marked as a copy",
    ),
    "tie_break": _Rule(
        key=lambda m, c: m.id,
        lose=lambda a, k, c: (
            f"equal to the kept copy by every rule: the lower id is kept (#{k.id} vs #{a.id})"
        ),
        win=lambda k, c: "it has the lowest id among equals",
    ),
}


def _cloud_copies(members: Iterable[MatchItem]) -> dict[int, str]:
    """Takeout items that another (non-Takeout) member of the same kind shows to be compressed.

    Takeout's "storage saver" re-encodes uploads; when the same photo is also here as a file or a
    library original with more pixels, or the same pixels and more bytes, the Takeout one is the copy.
    """
    members = sorted(members, key=lambda m: m.id)  # the evidence named must not depend on input order
    out: dict[int, str] = {}
    for t in members:
        if t.source_kind != "takeout" or t.cloud_copy:
            continue
        for o in members:
            if o.source_kind == "takeout" or o.cloud_copy or o.is_edit != t.is_edit:
                continue
            if o.pixels and t.pixels and o.pixels > t.pixels:
                out[t.id] = f"a Takeout copy with fewer pixels than #{o.id} ({_dims(t)} vs {_dims(o)})"
                break
            if o.pixels and o.pixels == t.pixels and o.size and t.size and o.size > t.size:
                out[t.id] = f"a Takeout copy with fewer bytes than #{o.id} ({t.size:,} vs {o.size:,} B)"
                break
    return out


_SOURCE_WORDS = {"photos_library": " in a Photos library", "takeout": " from Google Takeout"}


def _describe(m: MatchItem) -> str:
    """What a member is, in a few words: version, where it is, size, format, metadata, flags."""
    if m.on_disk:
        what = "the edited version on disk" if m.is_edit else "the original file on disk"
    elif m.status == "not_on_disk":
        what = f"the {'edited version' if m.is_edit else 'original'}, an iCloud-only placeholder"
    else:
        what = f"the {'edited version' if m.is_edit else 'original'} ({m.status})"
    source = _SOURCE_WORDS.get(m.source_kind, "")
    if m.cloud_copy:
        source += " (compressed cloud copy)"
    size = _dims(m) + (f" {m.format}" if m.format else "")
    fields = _meta_fields(m)
    meta = f"with {_words(fields)}" if fields else "without capture time, GPS or camera"
    flags = []
    if m.favorite:
        flags.append("favourite")
    if m.albums:
        flags.append(f"in {len(m.albums)} album{'s' if len(m.albums) > 1 else ''}")
    if m.trashed:
        flags.append("in the trash")
    elif m.hidden:
        flags.append("hidden")
    return f"{what}{source}, {size}, {meta}" + (f"; {', '.join(flags)}" if flags else "")


def choose_keeper(
    members: list[MatchItem],
    config: KeeperConfig | None = None,
    override: int | None = None,
    parts: dict[int, list[str]] | None = None,
) -> tuple[int, dict[int, str]]:
    """The keeper's id and, for every member, the reason in words.

    The members are ranked by the configured rules as one lexicographic key, so the result does
    not depend on their order. ``override`` (a member id a person chose) wins outright. ``parts``
    names what else of its capture a member carries (its Live video, its RAW), from its unit.
    """
    config = config or KeeperConfig()
    if not members:
        raise ValueError("choose_keeper needs at least one member")
    ids = [m.id for m in members]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate member ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    if override is not None and override not in ids:
        raise ValueError(f"override #{override} is not a member of this group ({', '.join(map(str, ids))})")

    ctx = _Context(config=config, cloud=_cloud_copies(members), parts=parts or {})
    rules = [(name, RULES[name]) for name in config.order]
    keys = {m.id: tuple(rule.key(m, ctx) for _, rule in rules) for m in members}
    ranked = sorted(members, key=lambda m: keys[m.id])
    best = ranked[0]

    def deciding(a: MatchItem, k: MatchItem) -> int:
        return next(i for i in range(len(rules)) if keys[a.id][i] != keys[k.id][i])

    reasons: dict[int, str] = {}
    if override is None or override == best.id:
        keeper = best
        decided = sorted({deciding(a, keeper) for a in ranked[1:]})
        why = [rules[i][1].win(keeper, ctx) for i in decided]
        head = "kept (chosen by you)" if override is not None else "kept"
        tail = f" — {'; '.join(why)}" if why else " — the only copy" if len(members) == 1 else ""
        reasons[keeper.id] = f"{head}: {_describe(keeper)}{tail}"
        for a in ranked[1:]:
            rule = rules[deciding(a, keeper)][1]
            reasons[a.id] = rule.lose(a, keeper, ctx)
    else:
        keeper = next(m for m in members if m.id == override)
        reasons[keeper.id] = f"kept (chosen by you): {_describe(keeper)}"
        for a in ranked:
            if a.id == keeper.id:
                continue
            text = f"you chose to keep #{keeper.id}{f' ({keeper.name})' if keeper.name else ''} instead"
            if a.id == best.id:
                text += "; by the rules this one would have been kept"
            reasons[a.id] = text
    return keeper.id, {m.id: reasons[m.id] for m in members}


def apply_keeper(
    group: Group, items: dict[int, MatchItem], config: KeeperConfig | None = None, override: int | None = None
) -> Group:
    """A copy of ``group`` with ``keep`` and ``reason`` set on every member (the input is not changed)."""
    missing = [m.id for m in group.members if m.id not in items]
    if missing:
        raise KeyError(f"group {group.id}: no MatchItem for member id(s) {missing}")
    parts = {m.id: [_part_name(items.get(c)) for c in m.companions] for m in group.members if m.companions}
    keeper, reasons = choose_keeper([items[m.id] for m in group.members], config, override, parts)
    members = [dataclasses.replace(m, keep=m.id == keeper, reason=reasons[m.id]) for m in group.members]
    return dataclasses.replace(group, members=members)


def _part_name(part: MatchItem | None) -> str:
    if part is None:
        return "a part of its capture"
    if part.media_type == "video":
        return "its Live Photo video"
    if part.role == "raw" or os.path.splitext(part.path or "")[1].lower() in RAW_EXTENSIONS:
        return "its RAW"
    return f"its {part.role or 'companion'} {part.format or 'file'}".replace("_", " ")
