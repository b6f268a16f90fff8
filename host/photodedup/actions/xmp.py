"""Give a keeper what its removed copies knew: into an XMP sidecar, or into the file via exiftool.

The sidecar route (the default) never changes the photo: it writes ``<file>.xmp`` next to
it, or merges into the one already there without losing anything it holds (foreign
namespaces, comments, values we do not set). Only missing values are added: keywords and
albums are unions, a rating, description, capture time or location already present wins.

The file route embeds the same values with exiftool (an argument list, never a shell),
and only after a verified backup of the original is safe in the quarantine's backup area.
Both routes journal an ``intent`` (with the backup and the digests before/after) before
writing and ``done`` after, so a kill leaves a state that apply completes and undo reverts.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from blake3 import blake3

from photodedup.actions.durable import fsync_dir
from photodedup.actions.plan import file_digest

__all__ = [
    "PHOTODEDUP_NS",
    "Journal",
    "MergeOutcome",
    "apply_merge",
    "exiftool_path",
    "merge_xmp",
    "read_xmp",
    "sidecar_path",
    "undo_merge",
]

PHOTODEDUP_NS = "http://ns.photodedup/1.0/"  # albums have no standard XMP property
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "photodedup": PHOTODEDUP_NS,
}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_PACKET_END = '\n<?xpacket end="w"?>\n'
_EXIF_EXTS = {".jpg", ".jpeg", ".heic", ".heif", ".tif", ".tiff", ".png", ".webp", ".dng", ".avif"}
_EXIFTOOL_CONFIG = (
    """\
%Image::ExifTool::UserDefined = (
    'Image::ExifTool::XMP::Main' => {
        photodedup => { SubDirectory => { TagTable => 'Image::ExifTool::UserDefined::photodedup' } },
    },
);
%Image::ExifTool::UserDefined::photodedup = (
    GROUPS => { 0 => 'XMP', 1 => 'XMP-photodedup', 2 => 'Image' },
    NAMESPACE => { 'photodedup' => '"""
    + PHOTODEDUP_NS
    + """' },
    WRITABLE => 'string',
    Albums => { List => 'Bag' },
);
1;
"""
)


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """``IMG_1234.HEIC`` -> ``IMG_1234.HEIC.xmp`` (darktable/digiKam/osxphotos naming)."""
    return Path(os.fspath(path) + ".xmp")


# -- pure XMP -------------------------------------------------------------------------
def _xmp_date(gains: dict) -> str | None:
    taken = gains.get("taken_at")
    if not taken:
        return None
    try:
        d = datetime.fromisoformat(taken)
    except ValueError:
        return None
    text = d.isoformat()
    if d.tzinfo is None and gains.get("taken_offset"):
        text += gains["taken_offset"]
    return text


def _xmp_coord(value: float, pos: str, neg: str) -> str:
    """XMP GPS coordinate: ``DDD,MM.mmmmmmR``."""
    a = abs(value)
    deg = int(a)
    return f"{deg},{(a - deg) * 60:.6f}{pos if value >= 0 else neg}"


def _parse_coord(text: str | None) -> float | None:
    if not text:
        return None
    m = re.match(r"^\s*(\d+),(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?\s*([NSEW])\s*$", text)
    if not m:
        try:
            return float(text)
        except ValueError:
            return None
    v = int(m.group(1)) + float(m.group(2)) / 60 + (float(m.group(3)) / 3600 if m.group(3) else 0)
    return -v if m.group(4) in "SW" else v


def _parse_rational(text: str | None) -> float | None:
    if not text:
        return None
    try:
        if "/" in text:
            n, d = text.split("/", 1)
            return float(n) / float(d)
        return float(text)
    except (ValueError, ZeroDivisionError):
        return None


class XmpError(ValueError):
    """An existing sidecar that is not XMP we can merge into without risk."""


def _load(data: bytes) -> ET.Element:
    """Parse keeping comments and processing instructions; register the file's own prefixes."""
    try:
        for _event, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
            # Keep the file's own prefixes on output; never rebind ours (the registry is global).
            if prefix and prefix not in NS and uri not in NS.values() and not re.match(r"ns\d+$", prefix):
                ET.register_namespace(prefix, uri)
        parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
        root = ET.fromstring(data, parser=parser)
    except ET.ParseError as e:
        raise XmpError(f"not well-formed XML: {e}") from e
    if root.tag == _q("rdf", "RDF"):
        wrapper = ET.Element(_q("x", "xmpmeta"))
        wrapper.append(root)
        root = wrapper
    if root.tag not in (_q("x", "xmpmeta"), "{adobe:ns:meta/}xapmeta") or root.find(_q("rdf", "RDF")) is None:
        raise XmpError(f"no x:xmpmeta/rdf:RDF (root is {root.tag})")
    return root


def _new_root() -> ET.Element:
    root = ET.Element(_q("x", "xmpmeta"), {_q("x", "xmptk"): "photodedup"})
    rdf = ET.SubElement(root, _q("rdf", "RDF"))
    ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})
    return root


class _Doc:
    def __init__(self, root: ET.Element):
        self.root = root
        rdf = root.find(_q("rdf", "RDF"))
        assert rdf is not None
        self.descs = rdf.findall(_q("rdf", "Description"))
        if not self.descs:
            self.descs = [ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})]

    def simple(self, prefix: str, name: str) -> str | None:
        tag = _q(prefix, name)
        for d in self.descs:
            if tag in d.attrib:
                return d.attrib[tag]
            el = d.find(tag)
            if el is not None:
                return (el.text or "").strip() or el.get(_q("rdf", "resource")) or ""
        return None

    def set_simple(self, prefix: str, name: str, value: str) -> bool:
        if self.simple(prefix, name) is not None:
            return False
        ET.SubElement(self.descs[0], _q(prefix, name)).text = value
        return True

    def _container(self, prefix: str, name: str, kind: str) -> ET.Element | None:
        for d in self.descs:
            el = d.find(_q(prefix, name))
            if el is not None:
                for k in ("Bag", "Seq", "Alt"):
                    c = el.find(_q("rdf", k))
                    if c is not None:
                        return c
                return ET.SubElement(el, _q("rdf", kind)) if not (el.text or "").strip() else None
        return None

    def items(self, prefix: str, name: str) -> list[str]:
        c = self._container(prefix, name, "Bag")
        if c is None:
            for d in self.descs:  # a single value written as an attribute or plain element
                v = d.attrib.get(_q(prefix, name))
                el = d.find(_q(prefix, name))
                if v is None and el is not None and len(el) == 0:
                    v = el.text
                if v:
                    return [v]
            return []
        return [(li.text or "") for li in c.findall(_q("rdf", "li"))]

    def add_items(self, prefix: str, name: str, values: list[str]) -> list[str]:
        have = {v.casefold() for v in self.items(prefix, name)}
        new = [v for v in values if v.casefold() not in have]
        if not new:
            return []
        c = self._container(prefix, name, "Bag")
        if c is None:
            if any(d.find(_q(prefix, name)) is not None or _q(prefix, name) in d.attrib for d in self.descs):
                raise XmpError(f"{prefix}:{name} holds a single value where a list belongs")
            c = ET.SubElement(ET.SubElement(self.descs[0], _q(prefix, name)), _q("rdf", "Bag"))
        for v in new:
            ET.SubElement(c, _q("rdf", "li")).text = v
        return new

    def lang_alt(self, prefix: str, name: str) -> str | None:
        c = self._container(prefix, name, "Alt")
        if c is None:
            return self.simple(prefix, name)
        lis = c.findall(_q("rdf", "li"))
        for li in lis:
            if li.get(_XML_LANG) == "x-default":
                return li.text or ""
        return lis[0].text or "" if lis else None

    def set_lang_alt(self, prefix: str, name: str, value: str) -> bool:
        if self.lang_alt(prefix, name):
            return False
        c = self._container(prefix, name, "Alt")
        if c is None:
            c = ET.SubElement(ET.SubElement(self.descs[0], _q(prefix, name)), _q("rdf", "Alt"))
        ET.SubElement(c, _q("rdf", "li"), {_XML_LANG: "x-default"}).text = value
        return True


def merge_xmp(existing: bytes | None, gains: dict) -> bytes:
    """A sidecar holding ``existing`` plus the gains it lacks (pure: bytes in, bytes out).

    Raises XmpError when ``existing`` is not XMP: a sidecar we cannot read is never replaced.
    """
    doc = _Doc(_load(existing) if existing and existing.strip() else _new_root())
    if gains.get("keywords"):
        doc.add_items("dc", "subject", list(gains["keywords"]))
    if gains.get("albums"):
        doc.add_items("photodedup", "Albums", list(gains["albums"]))
    if gains.get("favorite"):
        doc.set_simple("xmp", "Rating", "5")
    if gains.get("description"):
        doc.set_lang_alt("dc", "description", gains["description"])
    if date := _xmp_date(gains):
        doc.set_simple("exif", "DateTimeOriginal", date)
        doc.set_simple("photoshop", "DateCreated", date)
    gps = gains.get("gps")
    if gps and doc.simple("exif", "GPSLatitude") is None and doc.simple("exif", "GPSLongitude") is None:
        doc.set_simple("exif", "GPSLatitude", _xmp_coord(gps["lat"], "N", "S"))
        doc.set_simple("exif", "GPSLongitude", _xmp_coord(gps["lon"], "E", "W"))
        if gps.get("alt") is not None and doc.simple("exif", "GPSAltitude") is None:
            doc.set_simple("exif", "GPSAltitude", f"{round(abs(gps['alt']) * 100)}/100")
            doc.set_simple("exif", "GPSAltitudeRef", "0" if gps["alt"] >= 0 else "1")
    ET.indent(doc.root, space=" ")
    body = ET.tostring(doc.root, encoding="unicode")
    return (_PACKET_BEGIN + body + _PACKET_END).encode("utf-8")


def read_xmp(data: bytes) -> dict:
    """The values photodedup reads and writes, parsed back from a sidecar."""
    doc = _Doc(_load(data))
    lat = _parse_coord(doc.simple("exif", "GPSLatitude"))
    lon = _parse_coord(doc.simple("exif", "GPSLongitude"))
    alt = _parse_rational(doc.simple("exif", "GPSAltitude"))
    if alt is not None and doc.simple("exif", "GPSAltitudeRef") == "1":
        alt = -alt
    return {
        "keywords": doc.items("dc", "subject"),
        "albums": doc.items("photodedup", "Albums"),
        "rating": doc.simple("xmp", "Rating"),
        "description": doc.lang_alt("dc", "description"),
        "date_time_original": doc.simple("exif", "DateTimeOriginal"),
        "date_created": doc.simple("photoshop", "DateCreated"),
        "gps": {"lat": lat, "lon": lon, "alt": alt} if lat is not None and lon is not None else None,
    }


# -- applying with a journal ----------------------------------------------------------
class Journal(Protocol):
    def write(self, event: dict) -> None: ...


@dataclass(slots=True)
class MergeOutcome:
    keeper: int
    target: str
    status: str  # merged | already | skipped | failed
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("merged", "already")


def _digest_or_none(path: str) -> dict | None:
    try:
        size, digest = file_digest(path)
    except FileNotFoundError:
        return None
    return {"size": size, "blake3": digest}


def _write_atomic(path: str, data: bytes, like: str | None = None) -> None:
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.photodedup-tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    if like and os.path.exists(like):
        shutil.copymode(like, tmp)
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(path) or ".")


def _backup(target: str, backup_dir: Path, expect: dict) -> str:
    """A verified copy of ``target`` in the backup area (reused when a kill left one)."""
    key = blake3(os.fsencode(target)).hexdigest()[:12]
    dest = backup_dir / key / os.path.basename(target)
    existing = _digest_or_none(str(dest))
    if existing and existing["blake3"] == expect["blake3"]:
        return str(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.partial")
    shutil.copy2(target, tmp)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    got = _digest_or_none(str(tmp))
    if not got or got["blake3"] != expect["blake3"]:
        tmp.unlink(missing_ok=True)
        raise OSError(f"backup of {target} does not match the original")
    os.replace(tmp, dest)
    fsync_dir(dest.parent)
    return str(dest)


def apply_merge(
    merge: dict,
    journal: Journal,
    backup_dir: Path,
    state: dict | None = None,
    *,
    exiftool: str | None = None,
) -> MergeOutcome:
    """Carry out one plan merge entry of target ``xmp`` or ``file``.

    ``state`` is this target's last journal event (None when never touched): ``done``
    makes this a no-op, ``intent`` resumes a merge a kill interrupted.
    """
    route = merge["target"]
    target = merge["sidecar"] if route == "xmp" else merge["path"]
    out = MergeOutcome(merge["keeper"], target, "skipped")
    if state and state.get("state") == "done":
        out.status = "already"
        return out
    try:
        if route == "xmp":
            return _merge_sidecar(merge, target, journal, backup_dir, state, out)
        if route == "file":
            return _merge_file(merge, target, journal, backup_dir, state, out, exiftool)
    except (OSError, XmpError, subprocess.SubprocessError) as e:
        out.status, out.reason = "failed", str(e)
        return out
    out.reason = f"target {route!r} is not a file route"
    return out


def _event(merge: dict, route: str, target: str, state: str, **kw: Any) -> dict:
    return {"op": "merge", "state": state, "keeper": merge["keeper"], "route": route, "target": target, **kw}


def _merge_sidecar(merge, target, journal, backup_dir, state, out) -> MergeOutcome:
    if not os.path.exists(merge["path"]):
        out.status, out.reason = "failed", f"the keeper {merge['path']} is missing"
        return out
    before = _digest_or_none(target)
    if state and state.get("state") == "intent":
        after = state.get("after") or {}
        if before and before["blake3"] == after.get("blake3"):
            journal.write(_event(merge, "xmp", target, "done", after=after))
            out.status = "already"
            return out
    current = Path(target).read_bytes() if before else None
    new = merge_xmp(current, merge["gains"])
    after = {"size": len(new), "blake3": blake3(new).hexdigest()}
    if before and before["blake3"] == after["blake3"]:
        out.status, out.reason = "already", "the sidecar already holds everything"
        return out
    backup = _backup(target, backup_dir, before) if before else None
    journal.write(
        _event(
            merge,
            "xmp",
            target,
            "intent",
            existed=before is not None,
            backup=backup,
            before=before,
            after=after,
        )
    )
    _write_atomic(target, new, like=target if before else None)
    journal.write(_event(merge, "xmp", target, "done", after=after))
    out.status = "merged"
    return out


def exiftool_path() -> str | None:
    return shutil.which("exiftool")


def _exiftool_config(backup_dir: Path) -> str:
    cfg = backup_dir / "photodedup-exiftool.config"
    if not cfg.exists() or cfg.read_text() != _EXIFTOOL_CONFIG:
        backup_dir.mkdir(parents=True, exist_ok=True)
        cfg.write_text(_EXIFTOOL_CONFIG)
    return str(cfg)


def _exiftool_read(exe: str, cfg: str, path: str) -> dict:
    tags = ["-XMP-dc:Subject", "-XMP-photodedup:Albums", "-XMP-xmp:Rating", "-XMP-dc:Description"]
    tags += ["-EXIF:DateTimeOriginal", "-XMP-exif:DateTimeOriginal", "-GPSLatitude", "-GPSLongitude"]
    p = subprocess.run(
        [exe, "-config", cfg, "-json", "-G1", "-n", *tags, path],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if p.returncode != 0:
        raise subprocess.SubprocessError(f"exiftool cannot read {path}: {p.stderr.strip()}")
    return json.loads(p.stdout)[0]


def _as_list(v: Any) -> list[str]:
    if v is None:
        return []
    return [str(x) for x in v] if isinstance(v, list) else [str(v)]


def exiftool_args(path: str, gains: dict, current: dict) -> list[str]:
    """exiftool tag arguments adding only what ``current`` (exiftool -json -G1 -n) lacks."""
    args: list[str] = []
    have = {k.casefold() for k in _as_list(current.get("XMP-dc:Subject"))}
    args += [f"-XMP-dc:Subject+={k}" for k in gains.get("keywords", []) if k.casefold() not in have]
    have = {a.casefold() for a in _as_list(current.get("XMP-photodedup:Albums"))}
    args += [f"-XMP-photodedup:Albums+={a}" for a in gains.get("albums", []) if a.casefold() not in have]
    if gains.get("favorite") and current.get("XMP-xmp:Rating") is None:
        args.append("-XMP-xmp:Rating=5")
    if gains.get("description") and not current.get("XMP-dc:Description"):
        args.append(f"-XMP-dc:Description={gains['description']}")
    exif = os.path.splitext(path)[1].lower() in _EXIF_EXTS
    date = _xmp_date(gains)
    if date and not current.get("ExifIFD:DateTimeOriginal") and not current.get("XMP-exif:DateTimeOriginal"):
        d = datetime.fromisoformat(date)
        if exif:
            args.append(f"-EXIF:DateTimeOriginal={d.strftime('%Y:%m:%d %H:%M:%S')}")
            if d.tzinfo is not None:
                args.append(f"-EXIF:OffsetTimeOriginal={d.isoformat()[19:]}")
        else:
            args.append(f"-XMP-exif:DateTimeOriginal={date}")
    gps = gains.get("gps")
    has_gps = any(k.endswith(":GPSLatitude") for k in current)
    if gps and not has_gps:
        lat, lon = float(gps["lat"]), float(gps["lon"])
        alt = gps.get("alt")
        if exif:
            args += [f"-EXIF:GPSLatitude={abs(lat)}", f"-EXIF:GPSLatitudeRef={'N' if lat >= 0 else 'S'}"]
            args += [f"-EXIF:GPSLongitude={abs(lon)}", f"-EXIF:GPSLongitudeRef={'E' if lon >= 0 else 'W'}"]
            if alt is not None:
                args += [f"-EXIF:GPSAltitude={abs(alt)}", f"-EXIF:GPSAltitudeRef#={0 if alt >= 0 else 1}"]
        else:
            args += [f"-XMP-exif:GPSLatitude={lat}", f"-XMP-exif:GPSLongitude={lon}"]
            if alt is not None:
                args += [
                    f"-XMP-exif:GPSAltitude={abs(alt)}",
                    f"-XMP-exif:GPSAltitudeRef#={0 if alt >= 0 else 1}",
                ]
    return args


def _merge_file(merge, target, journal, backup_dir, state, out, exiftool) -> MergeOutcome:
    exe = exiftool or exiftool_path()
    if not exe:
        out.status = "failed"
        out.reason = "exiftool is not installed (apt install libimage-exiftool-perl / brew install exiftool)"
        return out
    before = _digest_or_none(target)
    if before is None:
        out.status, out.reason = "failed", f"the keeper {target} is missing"
        return out
    if state and state.get("state") == "intent":
        if before["blake3"] != state["before"]["blake3"]:
            # exiftool replaces the file in one rename: it finished before the kill.
            journal.write(_event(merge, "file", target, "done", after=before))
            out.status = "already"
            return out
        stale = f"{target}_exiftool_tmp"  # exiftool's own temp file from the interrupted run
        if os.path.exists(stale):
            os.unlink(stale)
    cfg = _exiftool_config(backup_dir)
    args = exiftool_args(target, merge["gains"], _exiftool_read(exe, cfg, target))
    if not args:
        out.status, out.reason = "already", "the file already holds everything"
        return out
    backup = _backup(target, backup_dir, before)
    st = os.stat(target)
    journal.write(_event(merge, "file", target, "intent", existed=True, backup=backup, before=before))
    p = subprocess.run(
        [exe, "-config", cfg, "-overwrite_original", "-P", *args, target],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    after = _digest_or_none(target)
    if p.returncode != 0 or after is None:
        if after is None or after["blake3"] != before["blake3"]:
            _restore(target, backup, before)
        journal.write(_event(merge, "file", target, "undone", reason="exiftool failed"))
        out.status, out.reason = "failed", f"exiftool failed: {(p.stderr or p.stdout).strip()[:500]}"
        return out
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # exiftool -P keeps whole seconds only
    journal.write(_event(merge, "file", target, "done", after=after))
    out.status = "merged"
    return out


def _restore(target: str, backup: str, before: dict) -> None:
    """Put the backed-up bytes (and mtime) back at ``target`` in one rename."""
    tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.photodedup-restore")
    shutil.copy2(backup, tmp)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    got = _digest_or_none(tmp)
    if not got or got["blake3"] != before["blake3"]:
        os.unlink(tmp)
        raise OSError(f"backup {backup} does not match what {target} held")
    os.replace(tmp, target)
    fsync_dir(os.path.dirname(target) or ".")


def undo_merge(event: dict, journal: Journal) -> tuple[str, str]:
    """Revert one merge: (restored | already | conflict, detail).

    ``event`` is the intent event, with ``after`` from the done event when there was one.
    Only content that is byte for byte what photodedup wrote is reverted.
    """
    target = event["target"]
    now = _digest_or_none(target)
    before, after = event.get("before"), event.get("after")
    if before is not None and now is not None and now["blake3"] == before["blake3"]:
        journal.write(_undone(event))
        return "already", target
    if not event.get("existed"):
        if now is None:
            journal.write(_undone(event))
            return "already", target
        if after and now["blake3"] == after["blake3"]:
            os.unlink(target)  # only ever our own sidecar, byte for byte as we wrote it
            fsync_dir(os.path.dirname(target) or ".")
            journal.write(_undone(event))
            return "restored", target
        return "conflict", f"{target} changed after photodedup wrote it; left as it is"
    ours = now is not None and (
        (after and now["blake3"] == after["blake3"]) or (not after and event["route"] == "file")
    )
    if not ours:
        what = "is missing" if now is None else "changed after photodedup wrote it"
        return "conflict", f"{target} {what}; its original is kept at {event.get('backup')}"
    _restore(target, event["backup"], before)
    journal.write(_undone(event))
    return "restored", target


def _undone(event: dict) -> dict:
    return {
        "op": "merge",
        "state": "undone",
        "keeper": event["keeper"],
        "route": event["route"],
        "target": event["target"],
    }
