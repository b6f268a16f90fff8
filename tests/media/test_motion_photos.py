"""Motion photos: the video inside a Google/Samsung JPEG or HEIC is found on every real sample (README 3.7),
the negative cases stay negative, generated files cover the layouts the samples lack (a valid SEF record,
XMP written as elements), the clip is fingerprinted in the scan, `extract-video` writes it out without
touching the photo, and a motion photo matches the same still without its video."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys

import av
import pytest
from blake3 import blake3

from photodedup.fingerprint.file import fingerprint_path
from photodedup.match.engine import find_groups
from photodedup.media.motion import find_motion_video, motion_xmp
from photodedup.media.sniff import sniff_format
from photodedup.scan.engine import ScanOptions, scan
from photodedup.store.db import Store

MOTION = "media/motion"
CMD = [sys.executable, "-m", "photodedup"]

# file, (offset, end) of the embedded MP4 as README 3.7 lists it, how it is found, and whether it decodes
REAL = [
    ("pixel-motion-photo-jfif-segment-shortened.jpg", 6_377, 11_063, "xmp-container", True),
    ("pixel-motion-photo-shortened.jpg", 131_582, 140_312, "xmp-container", False),
    ("ss-motion-photo-shortened.jpg", 20_345, 22_883, "xmp-microvideo", False),
    ("sample_MP.heic", 28_869, 57_672, "xmp-container", True),
    ("motionphoto.heic", 1_455_411, 3_648_870, "heic-mpvd", True),
]
NEGATIVE = [
    "media/motion/pixel-motion-photo-video-removed-shortened.jpg",  # XMP says motion, the video is gone
    "media/motion/non-motion-photo-shortened.jpg",
    "media/motion/pixel_8.jpg",  # Ultra HDR: a Container directory with a GainMap item only
    "media/motion/normalphoto.jpg",  # a PNG named .jpg
    "media/burst/IMG_0658.JPG",
    "media/live/IMG_3582.HEIC",
    "media/heic/sample_still_photo.heic",
]


def read(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def run(*args):
    return subprocess.run([*CMD, *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize(("name", "start", "end", "how", "decodes"), REAL)
def test_real_motion_photos_are_found_where_the_readme_says(data_dir, name, start, end, how, decodes):
    data = read(data_dir / MOTION / name)
    mv = find_motion_video(data, sniff_format(data[:512]))
    assert mv is not None
    assert (mv.offset, mv.end, mv.found_by) == (start, end, how)
    assert data[mv.offset + 4 : mv.offset + 8] == b"ftyp"


@pytest.mark.parametrize("rel", NEGATIVE)
def test_negative_cases_are_not_motion_photos(data_dir, rel):
    data = read(data_dir / rel)
    assert find_motion_video(data, sniff_format(data[:512])) is None


def test_the_bogus_xmp_length_and_the_gain_map_are_read_but_not_trusted(data_dir):
    heic = read(data_dir / MOTION / "motionphoto.heic")
    xmp = motion_xmp(heic, "HEIF")
    assert xmp.motion_photo and xmp.container_offset_from_end == 80  # Item:Length="80": wrong
    assert find_motion_video(heic, "HEIF").found_by == "heic-mpvd"  # so the mpvd box decides
    gain = motion_xmp(read(data_dir / MOTION / "pixel_8.jpg"), "JPEG")
    assert gain.semantics == ("Primary", "GainMap") and not gain.motion_photo
    removed = motion_xmp(read(data_dir / MOTION / "pixel-motion-photo-video-removed-shortened.jpg"), "JPEG")
    assert removed.motion_photo and removed.container_offset_from_end == 8_730  # no ftyp there any more


# --- generated layouts ------------------------------------------------------------------------------


def _xmp_app1(packet: str) -> bytes:
    body = b"http://ns.adobe.com/xap/1.0/\x00" + packet.encode()
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def google_motion_jpeg(jpeg: bytes, mp4: bytes, as_elements: bool = False) -> bytes:
    """A Pixel-style motion photo: XMP Container directory in APP1, the MP4 appended."""
    if as_elements:  # the same properties written as child elements, with other prefixes
        item = (
            "<Ct:Item><I:Mime>video/mp4</I:Mime><I:Semantic>MotionPhoto</I:Semantic>"
            f"<I:Length>{len(mp4)}</I:Length></Ct:Item>"
        )
        desc = (
            '<rdf:Description rdf:about="" xmlns:Cam="http://ns.google.com/photos/1.0/camera/"'
            ' xmlns:Ct="http://ns.google.com/photos/1.0/container/"'
            ' xmlns:I="http://ns.google.com/photos/1.0/container/item/">'
            "<Cam:MotionPhoto>1</Cam:MotionPhoto><Ct:Directory><rdf:Seq>"
            '<rdf:li rdf:parseType="Resource"><Ct:Item><I:Semantic>Primary</I:Semantic></Ct:Item></rdf:li>'
            f'<rdf:li rdf:parseType="Resource">{item}</rdf:li></rdf:Seq></Ct:Directory>'
            "</rdf:Description>"
        )
    else:
        desc = (
            '<rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"'
            ' xmlns:Container="http://ns.google.com/photos/1.0/container/"'
            ' xmlns:Item="http://ns.google.com/photos/1.0/container/item/" GCamera:MotionPhoto="1">'
            '<Container:Directory><rdf:Seq><rdf:li rdf:parseType="Resource"><Container:Item'
            ' Item:Mime="image/jpeg" Item:Semantic="Primary" Item:Length="0" Item:Padding="0"/></rdf:li>'
            '<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4"'
            f' Item:Semantic="MotionPhoto" Item:Length="{len(mp4)}" Item:Padding="0"/></rdf:li></rdf:Seq>'
            "</Container:Directory>"
            "</rdf:Description>"
        )
    packet = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f"{desc}</rdf:RDF></x:xmpmeta>"
    )
    return jpeg[:2] + _xmp_app1(packet) + jpeg[2:] + mp4


def samsung_motion_jpeg(jpeg: bytes, mp4: bytes, micro_video_xmp: bool) -> bytes:
    """A Samsung-style motion photo: the MP4 in a SEF ``MotionPhoto_Data`` record, its directory at EOF."""
    if micro_video_xmp:
        trailer_len = 8 + 16 + len(mp4) + 24 + 8  # record + SEFH/version/count + one entry + size/SEFT
        packet = (
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"'
            f' GCamera:MicroVideo="1" GCamera:MicroVideoOffset="{trailer_len - 8 - 16}"/>'
            "</rdf:RDF></x:xmpmeta>"
        )
        jpeg = jpeg[:2] + _xmp_app1(packet) + jpeg[2:]
    name = b"MotionPhoto_Data"
    record = struct.pack("<HHI", 0, 0x0A30, len(name)) + name + mp4
    record_start = len(jpeg)
    sefh = record_start + len(record)
    directory = (
        b"SEFH"
        + struct.pack("<II", 106, 1)
        + struct.pack("<HHII", 0, 0x0A30, sefh - record_start, len(record))
    )
    return jpeg + record + directory + struct.pack("<I", len(directory)) + b"SEFT"


@pytest.fixture(scope="module")
def parts(data_dir):
    jpeg = read(data_dir / "near-duplicates/imagededup/base_images/ukbench09012.jpg")
    mp4 = read(data_dir / "media/video/sample.mp4")
    return jpeg, mp4


@pytest.mark.parametrize(
    ("make", "how"),
    [
        (lambda j, m: google_motion_jpeg(j, m), "xmp-container"),
        (lambda j, m: google_motion_jpeg(j, m, as_elements=True), "xmp-container"),
        (lambda j, m: samsung_motion_jpeg(j, m, micro_video_xmp=True), "xmp-microvideo"),
        (lambda j, m: samsung_motion_jpeg(j, m, micro_video_xmp=False), "samsung-sef"),
    ],
    ids=["google-attributes", "google-elements", "samsung-microvideo", "samsung-sef-only"],
)
def test_generated_layouts_give_back_the_exact_mp4(parts, make, how):
    jpeg, mp4 = parts
    data = make(jpeg, mp4)
    mv = find_motion_video(data, "JPEG")
    assert mv is not None and mv.found_by == how and not mv.truncated
    assert data[mv.offset : mv.end] == mp4  # the SEF trailer after it is not part of the video


def test_a_cut_copy_is_reported_as_truncated_and_a_wrong_length_finds_nothing(parts):
    jpeg, mp4 = parts
    # Cut after it was written: the XMP length now points 5000 bytes too late, where there is no ftyp.
    assert find_motion_video(google_motion_jpeg(jpeg, mp4)[:-5000], "JPEG") is None
    # Written cut (like the "shortened" samples): found, and its last box runs past the end of the file.
    cut = mp4[:-5000]
    data = google_motion_jpeg(jpeg, cut)
    mv = find_motion_video(data, "JPEG")
    assert mv is not None and mv.truncated and data[mv.offset : mv.end] == cut


# --- scan, store, matching ---------------------------------------------------------------------------


def test_the_scan_records_the_video_and_a_motion_photo_matches_its_bare_still(tmp_path, data_dir, parts):
    jpeg, mp4 = parts
    folder = tmp_path / "photos"
    folder.mkdir()
    motion = google_motion_jpeg(jpeg, mp4)
    (folder / "PXL_1.MP.jpg").write_bytes(motion)
    offset = len(motion) - len(mp4)
    (folder / "PXL_1.jpg").write_bytes(motion[:offset])  # the same file with its video cut off
    shutil.copy2(data_dir / MOTION / "sample_MP.heic", folder / "sample_MP.heic")
    shutil.copy2(data_dir / "media/heic/sample_still_photo.heic", folder / "sample_still_photo.heic")
    # The real HEIC motion photo with its video cut off (what is left before the clip).
    (folder / "sample_MP-still.heic").write_bytes(read(data_dir / MOTION / "sample_MP.heic")[:28_869])
    store = Store(tmp_path / "s.db")
    assert scan([str(folder)], store, ScanOptions(workers=1)).failed == 0
    # A byte-identical copy found later reuses the stored fingerprints by digest, the video's included.
    (tmp_path / "later").mkdir()
    shutil.copy2(data_dir / MOTION / "sample_MP.heic", tmp_path / "later" / "copy of sample_MP.heic")
    assert scan([str(tmp_path / "later")], store, ScanOptions(workers=1)).reused == 1

    rows = {os.path.basename(r["path"]): r for r in store.items()}
    m = rows["PXL_1.MP.jpg"]
    assert (m["motion_offset"], m["motion_length"]) == (offset, len(mp4))
    assert m["motion_blake3"] == blake3(mp4).hexdigest()
    assert m["motion_still_blake3"] == rows["PXL_1.jpg"]["blake3"]
    meta = json.loads(m["motion_meta"])
    assert meta["found_by"] == "xmp-container" and meta["codec"] == "h264" and meta["width"] == 1080
    assert abs(meta["duration"] - 1.07) < 0.05
    assert rows["PXL_1.jpg"]["motion_offset"] is None  # its XMP still says "motion photo": not trusted
    heic = rows["sample_MP.heic"]
    assert (heic["motion_offset"], heic["motion_length"]) == (28_869, 28_803)
    assert json.loads(heic["motion_meta"])["width"] == 80
    copy = rows["copy of sample_MP.heic"]
    assert (copy["motion_offset"], copy["motion_blake3"]) == (heic["motion_offset"], heic["motion_blake3"])

    groups = find_groups(store)
    by_path = {os.path.basename(m.path): (g, m) for g in groups for m in g.members if g.kind != "unit"}
    g, kept = by_path["PXL_1.MP.jpg"]
    assert g.kind == "same" and {os.path.basename(x.path) for x in g.members} == {"PXL_1.MP.jpg", "PXL_1.jpg"}
    assert "motion-photo video" in g.why
    # The copy that carries the video is the one kept: removing the other loses nothing.
    assert kept.keep and "whole capture" in kept.reason
    g2, still = by_path["sample_still_photo.heic"]
    assert g2.kind in ("same", "exact") and not still.keep
    g3, stripped = by_path["sample_MP-still.heic"]
    assert g3.id == g2.id and not stripped.keep and by_path["sample_MP.heic"][1].keep
    assert rows["sample_MP-still.heic"]["blake3"] == heic["motion_still_blake3"]
    assert "carries less of the capture" in still.reason
    store.close()


def test_fingerprint_of_a_damaged_still_keeps_its_video(data_dir):
    fp = fingerprint_path(str(data_dir / MOTION / "pixel-motion-photo-jfif-segment-shortened.jpg"))
    assert fp.error  # the still is cut short in this sample
    assert fp.motion is not None and (fp.motion.offset, fp.motion.length) == (6_377, 4_686)
    assert fp.motion.meta.width == 180 and fp.motion.meta.height == 120


# --- extract-video -------------------------------------------------------------------------------------


def _state(path) -> tuple[str, int]:
    return hashlib.sha256(read(path)).hexdigest(), os.stat(path).st_mtime_ns


@pytest.mark.parametrize(("name", "start", "end", "how", "decodes"), REAL)
def test_extract_video_writes_the_clip_and_never_touches_the_photo(
    tmp_path, data_dir, name, start, end, how, decodes
):
    src = tmp_path / name
    shutil.copy2(data_dir / MOTION / name, src)
    before = _state(src)
    out = tmp_path / "out"
    r = run("extract-video", src, "--out", out)
    assert r.returncode == 0, r.stderr
    dest = out / (src.stem + ".mp4")
    assert read(dest) == read(src)[start:end]
    assert os.stat(dest).st_mtime_ns == os.stat(src).st_mtime_ns
    assert _state(src) == before
    if decodes:
        with av.open(str(dest)) as c:
            frame = next(c.decode(video=0))
            assert frame.width > 0
    # A second run refuses to overwrite, and leaves the first result as it was.
    written = _state(dest)
    again = run("extract-video", src, "--out", out)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert _state(dest) == written and _state(src) == before


def test_extract_video_explains_files_without_a_video(tmp_path, data_dir):
    out = tmp_path / "out"
    removed = data_dir / MOTION / "pixel-motion-photo-video-removed-shortened.jpg"
    others = (data_dir / MOTION / "pixel_8.jpg", data_dir / MOTION / "normalphoto.jpg")
    r = run("extract-video", removed, *others, "--out", out)
    assert r.returncode == 1
    assert "says it is a motion photo, but its video is not in the file" in r.stderr
    assert "pixel_8.jpg is not a motion photo" in r.stderr
    assert "normalphoto.jpg is not a JPEG or HEIC picture" in r.stderr
    assert not out.exists() or not any(out.iterdir())
    # One good file among bad ones is still written; the exit code says some failed.
    r = run("extract-video", removed, data_dir / MOTION / "sample_MP.heic", "--out", out)
    assert r.returncode == 1 and (out / "sample_MP.mp4").stat().st_size == 28_803
