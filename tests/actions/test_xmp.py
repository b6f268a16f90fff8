"""XMP sidecars: what we write parses back, merging keeps the rest; the exiftool route backs up first."""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from actions_testkit import Scene, copy, snapshot

from photodedup.actions import xmp
from photodedup.actions.plan import build_plan
from photodedup.actions.quarantine import apply_plan, undo
from photodedup.actions.xmp import PHOTODEDUP_NS, XmpError, apply_merge, merge_xmp, read_xmp, undo_merge

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "pd": PHOTODEDUP_NS,
    "darktable": "http://darktable.sf.net/",
}
GAINS = {
    "keywords": ["Trip", "Bridge, old", "{title}?"],
    "albums": ["Summer 2020"],
    "favorite": True,
    "description": "The old bridge\nat dawn",
    "taken_at": "2020-07-01T10:11:12",
    "taken_offset": "+02:00",
    "gps": {"lat": -33.8568, "lon": 151.2153, "alt": -12.5},
}
DARKTABLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
   xmp:Rating="3"
   exif:DateTimeOriginal="2019:05:04 03:02:01"
   darktable:xmp_version="5"
   darktable:auto_presets_applied="1">
   <!-- kept by darktable -->
   <dc:subject>
    <rdf:Bag>
     <rdf:li>trip</rdf:li>
     <rdf:li>darktable|format|heic</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1" darktable:params="0000"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def desc(data: bytes) -> ET.Element:
    root = ET.fromstring(data)
    d = root.find("rdf:RDF/rdf:Description", NS)
    assert d is not None
    return d


def test_new_sidecar_parses_back_with_plain_elementtree():
    data = merge_xmp(None, GAINS)
    assert data.startswith(b"<?xpacket begin=") and data.rstrip().endswith(b'<?xpacket end="w"?>')
    d = desc(data)
    assert [li.text for li in d.findall("dc:subject/rdf:Bag/rdf:li", NS)] == GAINS["keywords"]
    assert [li.text for li in d.findall("pd:Albums/rdf:Bag/rdf:li", NS)] == ["Summer 2020"]
    assert d.find("xmp:Rating", NS).text == "5"
    li = d.find("dc:description/rdf:Alt/rdf:li", NS)
    assert li.text == GAINS["description"]
    assert li.get("{http://www.w3.org/XML/1998/namespace}lang") == "x-default"
    assert d.find("exif:DateTimeOriginal", NS).text == "2020-07-01T10:11:12+02:00"
    assert d.find("photoshop:DateCreated", NS).text == "2020-07-01T10:11:12+02:00"
    assert d.find("exif:GPSLatitude", NS).text.endswith("S")
    assert d.find("exif:GPSLongitude", NS).text.endswith("E")
    back = read_xmp(data)
    assert back["keywords"] == GAINS["keywords"] and back["albums"] == ["Summer 2020"]
    assert back["rating"] == "5" and back["description"] == GAINS["description"]
    assert back["gps"] == pytest.approx({"lat": -33.8568, "lon": 151.2153, "alt": -12.5}, abs=1e-6)


def test_merge_keeps_foreign_content_and_existing_values():
    data = merge_xmp(DARKTABLE, GAINS)
    text = data.decode()
    assert "darktable:history" in text and "xmlns:darktable" in text, "foreign prefix kept"
    assert "<!-- kept by darktable -->" in text
    d = desc(data)
    assert d.get("{http://darktable.sf.net/}xmp_version") == "5"
    ops = d.findall("darktable:history/rdf:Seq/rdf:li", NS)
    assert [
        (o.get("{http://darktable.sf.net/}operation"), o.get("{http://darktable.sf.net/}params")) for o in ops
    ] == [("exposure", "0000")]
    back = read_xmp(data)
    assert back["keywords"] == ["trip", "darktable|format|heic", "Bridge, old", "{title}?"], "union, no dups"
    assert back["rating"] == "3", "the user's rating wins"
    assert back["date_time_original"] == "2019:05:04 03:02:01", "an existing date wins"
    assert back["description"] == GAINS["description"] and back["gps"] is not None
    assert merge_xmp(data, GAINS) == data, "merging again changes nothing"


def test_bare_rdf_and_garbage():
    bare = b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description/></rdf:RDF>'
    assert read_xmp(merge_xmp(bare, {"keywords": ["a"]}))["keywords"] == ["a"]
    for junk in (b"not xml", b"<html><body/></html>"):
        with pytest.raises(XmpError):
            merge_xmp(junk, GAINS)


def test_a_foreign_file_cannot_rebind_our_prefixes():
    odd = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
    <rdf:Description xmlns:exif="urn:not-exif" exif:Odd="1"/></rdf:RDF></x:xmpmeta>"""
    merged = merge_xmp(odd, {"keywords": ["a"]})
    assert desc(merged).get("{urn:not-exif}Odd") == "1"
    assert b'xmlns:exif="http://ns.adobe.com/exif/1.0/"' in merge_xmp(None, GAINS), "our exif prefix intact"


class ListJournal(list):
    def write(self, event: dict) -> None:
        self.append(event)


def sidecar_merge(path: Path) -> dict:
    return {"keeper": 1, "target": "xmp", "path": str(path), "sidecar": str(path) + ".xmp", "gains": GAINS}


def test_sidecar_route_backs_up_and_undo_restores(tmp_path, data_dir):
    photo = copy(data_dir, "media/burst/IMG_0658.JPG", tmp_path / "p/IMG_0658.JPG")
    side = Path(str(photo) + ".xmp")
    side.write_bytes(DARKTABLE)
    before = snapshot(tmp_path / "p")
    j = ListJournal()
    out = apply_merge(sidecar_merge(photo), j, tmp_path / "backup")
    assert out.status == "merged"
    assert [e["state"] for e in j] == ["intent", "done"]
    backup = Path(j[0]["backup"])
    assert backup.read_bytes() == DARKTABLE and photo.read_bytes() == before["IMG_0658.JPG"][0]
    assert read_xmp(side.read_bytes())["albums"] == ["Summer 2020"]
    status, _ = undo_merge({**j[0], "after": j[1]["after"]}, j)
    assert status == "restored" and snapshot(tmp_path / "p") == before


def test_sidecar_route_resumes_after_a_kill(tmp_path, data_dir):
    photo = copy(data_dir, "media/burst/IMG_0658.JPG", tmp_path / "IMG_0658.JPG")
    merge = sidecar_merge(photo)
    j = ListJournal()
    real = xmp._write_atomic
    xmp._write_atomic = lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            apply_merge(merge, j, tmp_path / "b")
    finally:
        xmp._write_atomic = real
    assert [e["state"] for e in j] == ["intent"] and not Path(merge["sidecar"]).exists()
    assert apply_merge(merge, j, tmp_path / "b", {**j[0]}).status == "merged"
    assert apply_merge(merge, j, tmp_path / "b", {**j[-1], "state": "done"}).status == "already"
    status, _ = undo_merge({**j[-2], "after": j[-1]["after"]}, j)
    assert status == "restored" and not Path(merge["sidecar"]).exists(), "our new sidecar removed"


def test_undo_leaves_a_sidecar_the_user_changed(tmp_path, data_dir):
    photo = copy(data_dir, "media/burst/IMG_0658.JPG", tmp_path / "IMG_0658.JPG")
    j = ListJournal()
    apply_merge(sidecar_merge(photo), j, tmp_path / "b")
    Path(str(photo) + ".xmp").write_bytes(merge_xmp(None, {"keywords": ["mine"]}))
    status, detail = undo_merge({**j[0], "after": j[1]["after"]}, j)
    assert status == "conflict" and "changed" in detail
    assert read_xmp(Path(str(photo) + ".xmp").read_bytes())["keywords"] == ["mine"]


def test_file_route_without_exiftool_says_so(tmp_path, data_dir, monkeypatch):
    photo = copy(data_dir, "media/burst/IMG_0658.JPG", tmp_path / "IMG_0658.JPG")
    monkeypatch.setattr(xmp.shutil, "which", lambda name: None)
    out = apply_merge(
        {"keeper": 1, "target": "file", "path": str(photo), "gains": GAINS}, ListJournal(), tmp_path
    )
    assert out.status == "failed" and "exiftool is not installed" in out.reason


# scripts/setup --dev installs exiftool; in CI a missing one must fail, not skip.
needs_exiftool = pytest.mark.skipif(
    shutil.which("exiftool") is None and not os.environ.get("CI"), reason="exiftool not installed"
)


def exif_json(path: Path) -> dict:
    import json
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as f:
        f.write(xmp._EXIFTOOL_CONFIG)
    cfg = Path(f.name)
    out = subprocess.run(
        ["exiftool", "-config", str(cfg), "-json", "-G1", "-n", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    cfg.unlink()
    return json.loads(out.stdout)[0]


@needs_exiftool
def test_file_route_embeds_with_a_verified_backup_and_undo_restores(tmp_path, data_dir):
    # no EXIF date and no GPS in this one
    photo = copy(
        data_dir, "near-duplicates/imagededup/mixed_images/ukbench00120_hflip.jpg", tmp_path / "p/a.jpg"
    )
    before = snapshot(tmp_path / "p")
    j = ListJournal()
    merge = {"keeper": 1, "target": "file", "path": str(photo), "gains": GAINS}
    out = apply_merge(merge, j, tmp_path / "backup")
    assert out.status == "merged", out.reason
    intent = j[0]
    assert intent["state"] == "intent" and Path(intent["backup"]).read_bytes() == before["a.jpg"][0]
    tags = exif_json(photo)
    assert tags["XMP-dc:Subject"] == GAINS["keywords"]
    assert tags["XMP-photodedup:Albums"] == "Summer 2020"
    assert tags["XMP-xmp:Rating"] == 5 and tags["XMP-dc:Description"] == GAINS["description"]
    assert tags["ExifIFD:DateTimeOriginal"] == "2020:07:01 10:11:12"
    assert tags["ExifIFD:OffsetTimeOriginal"] == "+02:00"
    assert tags["GPS:GPSLatitudeRef"] == "S" and tags["GPS:GPSLatitude"] == pytest.approx(33.8568)
    assert tags["GPS:GPSAltitudeRef"] == 1
    assert photo.stat().st_mtime_ns == before["a.jpg"][1], "exiftool -P keeps the mtime"
    assert apply_merge(merge, j, tmp_path / "backup").status == "already", "nothing left to add"
    status, _ = undo_merge({**intent, "after": j[1]["after"]}, j)
    assert status == "restored"
    assert snapshot(tmp_path / "p") == before


@needs_exiftool
def test_file_route_keeps_values_the_file_has(tmp_path, data_dir):
    photo = copy(data_dir, "near-duplicates/imagededup/base_images/ukbench00120.jpg", tmp_path / "a.jpg")
    out = apply_merge(
        {"keeper": 1, "target": "file", "path": str(photo), "gains": GAINS}, ListJournal(), tmp_path
    )
    assert out.status == "merged"
    assert exif_json(photo)["ExifIFD:DateTimeOriginal"] == "2005:07:29 14:34:56"


@needs_exiftool
def test_apply_with_merge_into_file_then_undo(data_dir, tmp_path):
    scene = Scene(data_dir, tmp_path)
    before = snapshot(scene.root)
    plan = build_plan(scene.groups, scene.items, merge_into="file")
    q = tmp_path / "q"
    report = apply_plan(plan, q)
    assert report.ok, report
    keeper = scene.paths[12]
    assert keeper.read_bytes() != before["c/x.jpeg"][0]
    assert exif_json(keeper)["XMP-dc:Subject"] == ["Trip", "Bridge, old"]
    assert list((q / "backup").rglob("x.jpeg")), "the original is backed up in the quarantine"
    assert undo(q).ok
    assert snapshot(scene.root) == before
