"""Google Takeout source: the real sample (README 2.4, 3.4, 3.9) and synthetic exports for
the naming rules the sample lacks (51-char cuts, ``(N)`` media, Live videos, localised edits)."""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import pytest

from photodedup._types import TakeoutSidecar
from photodedup.sources.takeout import (
    TakeoutScan,
    find_photos_dirs,
    is_takeout,
    parse_sidecar,
    read_takeout,
)

GP = "takeout/Takeout/Google Photos"

SAMPLE_PAIRS = {
    # media -> (sidecar, how, album, edited)
    "Photos from 2016/IMG_3984.jpeg": ("Photos from 2016/IMG_3984.jpeg.json", "exact", None, False),
    "Photos from 2016/IMG_3984-edited.jpeg": ("Photos from 2016/IMG_3984.jpeg.json", "edited", None, True),
    "Photos from 2018/Pumkins1.jpg": ("Photos from 2018/Pumkins1.jpg.json", "exact", None, False),
    "Photos from 2018/Pumpkins3.jpg": ("Photos from 2018/Pumpkins3.jpg.json", "exact", None, False),
    "Photos from 2019/Tulips.jpg": ("Photos from 2019/Tulips.jpg.json", "exact", None, False),
    "Photos from 2019/wedding.jpg": ("Photos from 2019/wedding.jpg.json", "exact", None, False),
    "Photos from 2020/Jellyfish.mov": ("Photos from 2020/Jellyfish.mov.json", "exact", None, False),
    "Pumpkin Farm/Pumkins1.jpg": ("Pumpkin Farm/Pumkins1.jpg.json", "exact", "Pumpkin Farm", False),
    "Pumpkin Farm/Pumpkins3.jpg": ("Pumpkin Farm/Pumpkins3.jpg.json", "exact", "Pumpkin Farm", False),
}

SAMPLE_ORPHANS = {
    "Adelaide/IMG_4547.jpg.json",
    "Photos from 2016/IMG_1523_no_location.jpg.json",
    "Photos from 2017/IMG_1760.jpg.json",
    "Photos from 2017/IMG_4547.jpg.json",
    *(
        f"Photos from 2018/{n}.json"
        for n in (
            "IMG_1523.jpg",
            "IMG_1760_Seattle.jpg",
            "IMG_3439.jpg",
            "Pumkins2.jpg",
            "St James Park_edited.jpg",
        )
    ),
    *(
        f"Photos from 2020/{n}.json"
        for n in (
            "DSC03584.dng",
            "IMG_1693.tif",
            "IMG_1994.JPG",
            "IMG_1994.cr2",
            "IMG_1997.JPG",
            "IMG_1997.cr2",
            "IMG_3092.heic",
        )
    ),
    "Photos from 2021/IMG_4179.jpeg.json",
    "Photos from 2021/IMG_4179.jpeg(1).json",
    "Pumpkin Farm/Pumkins2.jpg.json",
    "Same Name/IMG_3984.jpeg.json",
    "Same Name/IMG_4179.jpeg.json",
}


def rel(gp: Path, p: str | None) -> str | None:
    return None if p is None else str(Path(p).relative_to(gp))


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames, "."]:
            st = Path(dirpath, name).lstat()
            out[str(Path(dirpath, name).relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def sample(data_dir: Path) -> TakeoutScan:
    return read_takeout(data_dir / "takeout")


# -- detection -----------------------------------------------------------------------------


def test_is_takeout(data_dir: Path, tmp_path: Path) -> None:
    assert is_takeout(data_dir / "takeout")  # holds Takeout/Google Photos
    assert is_takeout(data_dir / "takeout/Takeout")
    assert is_takeout(data_dir / GP)
    assert not is_takeout(data_dir), "an export somewhere below is not the export itself"
    assert not is_takeout(data_dir / GP / "Pumpkin Farm")
    assert not is_takeout(data_dir / "media")
    assert not is_takeout(data_dir / GP / "Photos from 2016/IMG_3984.jpeg")
    assert not is_takeout(tmp_path / "missing")
    (tmp_path / "Google Photos").mkdir()
    assert not is_takeout(tmp_path / "Google Photos"), "a Google Photos folder outside a Takeout"
    (tmp_path / "x/Takeout 2/Google Fotos").mkdir(parents=True)
    (tmp_path / "x/Takeout/Google Photos").mkdir(parents=True)
    assert find_photos_dirs(tmp_path / "x") == [
        tmp_path / "x/Takeout/Google Photos",
        tmp_path / "x/Takeout 2/Google Fotos",
    ]


# -- the real sample -------------------------------------------------------------------------


def test_sample_every_media_paired(sample: TakeoutScan, data_dir: Path) -> None:
    gp = data_dir / GP
    assert sample.photos_dirs == [str(gp)]
    got = {
        rel(gp, m.path): (rel(gp, m.sidecar.sidecar_path), m.match, m.album, m.is_edited_variant)
        for m in sample.media
    }
    assert got == SAMPLE_PAIRS
    for m in sample.media:
        assert m.sidecar.media_path == m.path
        assert m.sidecar.album == m.album
        assert m.sidecar.is_edited_variant == m.is_edited_variant
        assert m.live_still_path is None
    assert sample.pairs == [(m.path, m.sidecar) for m in sample.media]
    assert sample.errors == [] and sample.other_files == []


def test_sample_img_3984(sample: TakeoutScan, data_dir: Path) -> None:
    gp = data_dir / GP
    sc = sample.sidecar_for(gp / "Photos from 2016/IMG_3984.jpeg")
    assert sc == TakeoutSidecar(
        sidecar_path=str(gp / "Photos from 2016/IMG_3984.jpeg.json"),
        media_path=str(gp / "Photos from 2016/IMG_3984.jpeg"),
        title="IMG_3984.jpeg",
        photo_taken_time=1459209908,
        creation_time=1669355681,
        latitude=None,  # geoData and geoDataExif are 0.0/0.0
        longitude=None,
        altitude=None,
        description="Flowering Tree",
        favorited=False,
        album=None,
        is_edited_variant=False,
    )
    edited = sample.sidecar_for(gp / "Photos from 2016/IMG_3984-edited.jpeg")
    assert edited.is_edited_variant and edited.photo_taken_time == 1459209908
    assert edited.sidecar_path == sc.sidecar_path and edited.media_path.endswith("IMG_3984-edited.jpeg")
    assert edited is not sc, "each media gets its own copy"


def test_sample_album_copies(sample: TakeoutScan, data_dir: Path) -> None:
    gp = data_dir / GP
    year = sample.sidecar_for(gp / "Photos from 2018/Pumkins1.jpg")
    album = sample.sidecar_for(gp / "Pumpkin Farm/Pumkins1.jpg")
    assert year.album is None and album.album == "Pumpkin Farm"
    assert (year.title, year.photo_taken_time) == ("Pumkins1.jpg", 1538174149)
    assert (album.title, album.photo_taken_time) == ("Pumkins1.jpg", 1538174149)
    assert year.creation_time != album.creation_time
    assert (year.latitude, year.longitude) == (album.latitude, album.longitude)
    assert year.latitude == pytest.approx(41.2565369)
    movie = sample.sidecar_for(gp / "Photos from 2020/Jellyfish.mov")
    assert (movie.latitude, movie.longitude, movie.altitude) == (34.0533, pytest.approx(-118.2423), 0.0)
    assert movie.description is None, "empty description"
    assert [(a.folder, a.title) for a in sample.albums] == [
        ("Adelaide", "Adelaide"),
        ("Pumpkin Farm", "Pumpkin Farm"),
        ("Same Name", "Same Name"),
    ]
    assert all(a.metadata_path.endswith("metadata.json") and len(a.paths) == 1 for a in sample.albums)


def test_sample_orphans_and_other_json(sample: TakeoutScan, data_dir: Path) -> None:
    gp = data_dir / GP
    assert {rel(gp, s.sidecar_path) for s in sample.orphan_sidecars} == SAMPLE_ORPHANS
    assert sample.orphans is sample.orphan_sidecars
    assert all(s.media_path is None for s in sample.orphan_sidecars)
    by_name = {rel(gp, s.sidecar_path): s for s in sample.orphan_sidecars}
    # Takeout's collision rule: IMG_4179(1).jpeg's sidecar is IMG_4179.jpeg(1).json
    first = by_name["Photos from 2021/IMG_4179.jpeg.json"]
    second = by_name["Photos from 2021/IMG_4179.jpeg(1).json"]
    assert first.title == second.title == "IMG_4179.jpeg"
    assert first.photo_taken_time == second.photo_taken_time == 1617923095
    assert first.favorited and not second.favorited
    assert by_name["Pumpkin Farm/Pumkins2.jpg.json"].album == "Pumpkin Farm"
    assert by_name["Pumpkin Farm/Pumkins2.jpg.json"].favorited
    assert by_name["Photos from 2020/IMG_1994.JPG.json"].title == "IMG_1994.JPG"
    assert by_name["Photos from 2018/St James Park_edited.jpg.json"].title == "St James Park_edited.jpg"
    assert {rel(gp, p) for p in sample.other_json} == {
        "print-subscriptions.json",
        "shared_album_comments.json",
        "user-generated-memory-titles.json",
    }
    assert 9 + 21 + 3 + 3 + 2 == 38  # media, orphans, other, album metadata; 2 sidecars shared


def test_sample_same_from_any_level(sample: TakeoutScan, data_dir: Path) -> None:
    for root in (data_dir / "takeout/Takeout", data_dir / GP):
        other = read_takeout(root)
        assert other.media == sample.media and other.orphan_sidecars == sample.orphan_sidecars


def test_sample_untouched(data_dir: Path) -> None:
    before = snapshot(data_dir / "takeout")
    read_takeout(data_dir / "takeout")
    assert snapshot(data_dir / "takeout") == before


# -- synthetic exports -----------------------------------------------------------------------


def sidecar_json(title: str, taken: int, **extra) -> dict:
    data = {
        "title": title,
        "description": "",
        "imageViews": "1",
        "creationTime": {"timestamp": str(taken + 1000), "formatted": "…"},
        "photoTakenTime": {"timestamp": str(taken), "formatted": "…"},
        "geoData": {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0},
        "url": "https://photos.google.com/photo/x",
    }
    data.update(extra)
    return data


def build(root: Path, files: dict[str, dict | bytes | str]) -> Path:
    """Lay out ROOT/Takeout/Google Photos/<rel> = JSON (dict), raw text (str) or media bytes."""
    gp = root / "Takeout" / "Google Photos"
    for relpath, content in files.items():
        p = gp / relpath
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict):
            p.write_text(json.dumps(content), encoding="utf-8")
        elif isinstance(content, str):
            p.write_text(content, encoding="utf-8")
        else:
            p.write_bytes(content)
    return gp


def cut51(name: str) -> str:
    """How Takeout names the sidecar of NAME: whole file name at most 51 chars, .json kept."""
    full = f"{name}.supplemental-metadata"
    return (full[:46] if len(full) + 5 > 51 else full) + ".json"


def pairing(scan: TakeoutScan, gp: Path) -> dict[str, tuple[str | None, str | None]]:
    return {
        rel(gp, m.path): (rel(gp, m.sidecar.sidecar_path) if m.sidecar else None, m.match) for m in scan.media
    }


def test_supplemental_metadata_and_51_char_cuts(tmp_path: Path) -> None:
    y = "Photos from 2024"
    names = {
        27: "IMG_20240101_120000_HDR.jpg",
        39: "PXL_20240101_120000123.PORTRAIT_ABC.jpg",
        44: "PXL_20240101_120000123.PORTRAIT_ABCDEFGH.jpg",
        51: "Screenshot_2024-01-01-12-00-00-123_com.examplea.jpg",
    }
    assert {len(n) for n in names.values()} == set(names)
    assert cut51(names[27]).endswith(".jpg.supplemental-metad.json")
    assert cut51(names[39]).endswith(".jpg.supple.json")
    assert cut51(names[44]).endswith(".jpg.s.json")
    assert cut51(names[51]) == names[51][:46] + ".json"  # the media name itself is cut
    old_style = "A_really_long_original_file_name_from_camera_xy.jpeg"  # NAME.ext.json, cut too
    mid_ext = "B_really_long_original_file_name_from_camera.jpeg"  # cut inside the extension
    assert mid_ext[:46].endswith(".j")
    files: dict = {f"{y}/{n}": b"jpg" for n in [*names.values(), old_style, mid_ext]}
    for i, n in enumerate(names.values()):
        files[f"{y}/{cut51(n)}"] = sidecar_json(n, 1_700_000_000 + i)
    files[f"{y}/{old_style[:46]}.json"] = sidecar_json(old_style, 1_600_000_000)
    files[f"{y}/{mid_ext[:46]}.json"] = sidecar_json(mid_ext, 1_600_000_001)
    files[f"{y}/short.jpg"] = b"jpg"
    files[f"{y}/short.jpg.supplemental-metadata.json"] = sidecar_json("short.jpg", 1_500_000_000)
    files[f"{y}/IMG_5555.jpg"] = b"jpg"
    files[f"{y}/IMG_5555.json"] = sidecar_json("IMG_5555.jpg", 1_400_000_000)  # extension dropped
    files[f"{y}/IMG_0001.JPG"] = b"jpg"
    files[f"{y}/IMG_0001.jpg.json"] = sidecar_json("IMG_0001.JPG", 1_300_000_000)  # case differs
    gp = build(tmp_path, files)
    scan = read_takeout(tmp_path)
    got = pairing(scan, gp)
    assert got == {
        f"{y}/{names[27]}": (f"{y}/{cut51(names[27])}", "supplemental"),
        f"{y}/{names[39]}": (f"{y}/{cut51(names[39])}", "supplemental"),
        f"{y}/{names[44]}": (f"{y}/{cut51(names[44])}", "supplemental"),
        f"{y}/{names[51]}": (f"{y}/{cut51(names[51])}", "truncated"),
        f"{y}/{old_style}": (f"{y}/{old_style[:46]}.json", "truncated"),
        f"{y}/{mid_ext}": (f"{y}/{mid_ext[:46]}.json", "truncated"),
        f"{y}/short.jpg": (f"{y}/short.jpg.supplemental-metadata.json", "supplemental"),
        f"{y}/IMG_5555.jpg": (f"{y}/IMG_5555.json", "no-extension"),
        f"{y}/IMG_0001.JPG": (f"{y}/IMG_0001.jpg.json", "exact"),
    }
    assert scan.orphan_sidecars == []
    assert scan.sidecar_for(gp / y / names[51]).photo_taken_time == 1_700_000_003
    assert all(m.album is None for m in scan.media), "a year folder is not an album"


def test_ambiguous_cut_falls_back_to_title(tmp_path: Path) -> None:
    a = "Screenshot_2024-01-01-12-00-00-123_com.example1.jpg"
    b = "Screenshot_2024-01-01-12-00-00-123_com.example2.jpg"
    assert a[:46] == b[:46]
    gp = build(
        tmp_path,
        {
            f"Photos from 2024/{a}": b"1",
            f"Photos from 2024/{b}": b"2",
            # both would be cut to the same name: Takeout adds a counter to the second
            f"Photos from 2024/{a[:46]}.json": sidecar_json(a, 1),
            f"Photos from 2024/{b[:46]}(1).json": sidecar_json(b, 2),
            "Photos from 2024/odd name.jpg": b"3",
            "Photos from 2024/unrelated.json": sidecar_json("odd name.jpg", 3),
        },
    )
    scan = read_takeout(gp)
    assert {rel(gp, m.path): m.sidecar.photo_taken_time for m in scan.media} == {
        f"Photos from 2024/{a}": 1,
        f"Photos from 2024/{b}": 2,
        "Photos from 2024/odd name.jpg": 3,
    }
    assert {m.match for m in scan.media} == {"title"}
    assert scan.orphan_sidecars == []


def test_counter_rule_with_media_present(tmp_path: Path) -> None:
    y = "Photos from 2021"
    gp = build(
        tmp_path,
        {
            f"{y}/IMG_4179.jpeg": b"a",
            f"{y}/IMG_4179(1).jpeg": b"b",
            f"{y}/IMG_4179(2).jpeg": b"c",
            f"{y}/IMG_4179.jpeg.json": sidecar_json("IMG_4179.jpeg", 100),
            f"{y}/IMG_4179.jpeg(1).json": sidecar_json("IMG_4179.jpeg", 101),
            f"{y}/IMG_4179.jpeg.supplemental-metadata(2).json": sidecar_json("IMG_4179.jpeg", 102),
            f"{y}/IMG_4179(1)-edited.jpeg": b"d",
            f"{y}/Scan(1).jpg": b"e",  # a name with parentheses of its own
            f"{y}/Scan(1).jpg.json": sidecar_json("Scan(1).jpg", 103),
        },
    )
    scan = read_takeout(tmp_path / "Takeout")
    got = {rel(gp, m.path): (m.sidecar.photo_taken_time, m.match, m.is_edited_variant) for m in scan.media}
    assert got == {
        f"{y}/IMG_4179.jpeg": (100, "exact", False),
        f"{y}/IMG_4179(1).jpeg": (101, "counter", False),
        f"{y}/IMG_4179(2).jpeg": (102, "supplemental", False),
        f"{y}/IMG_4179(1)-edited.jpeg": (101, "edited", True),
        f"{y}/Scan(1).jpg": (103, "exact", False),
    }
    assert scan.orphan_sidecars == []


def test_live_photo_and_motion_photo_videos(tmp_path: Path) -> None:
    y = "Photos from 2023"
    gp = build(
        tmp_path,
        {
            f"{y}/IMG_1234.HEIC": b"heic",
            f"{y}/IMG_1234.MP4": b"mp4",
            f"{y}/IMG_1234.HEIC.json": sidecar_json("IMG_1234.HEIC", 10),
            f"{y}/IMG_2000.JPG": b"jpg",
            f"{y}/IMG_2000.MOV": b"mov",
            f"{y}/IMG_2000.json": sidecar_json("IMG_2000.JPG", 20),  # the still's, extension dropped
            f"{y}/PXL_20230615_123456789.MP.jpg": b"jpg",
            f"{y}/PXL_20230615_123456789.MP": b"mp4",
            f"{y}/PXL_20230615_123456789.MP.jpg.json": sidecar_json("PXL_20230615_123456789.MP.jpg", 30),
            f"{y}/VID_0001.mp4": b"mp4",  # a plain video with its own sidecar
            f"{y}/VID_0001.mp4.json": sidecar_json("VID_0001.mp4", 40),
            f"{y}/IMG_3000.HEIC": b"heic",  # live still whose video has its own sidecar
            f"{y}/IMG_3000.MOV": b"mov",
            f"{y}/IMG_3000.HEIC.json": sidecar_json("IMG_3000.HEIC", 50),
            f"{y}/IMG_3000.MOV.json": sidecar_json("IMG_3000.MOV", 51),
        },
    )
    scan = read_takeout(tmp_path)
    got = {
        rel(gp, m.path): (m.sidecar.photo_taken_time, m.match, rel(gp, m.live_still_path)) for m in scan.media
    }
    assert got == {
        f"{y}/IMG_1234.HEIC": (10, "exact", None),
        f"{y}/IMG_1234.MP4": (10, "live-video", f"{y}/IMG_1234.HEIC"),
        f"{y}/IMG_2000.JPG": (20, "no-extension", None),
        f"{y}/IMG_2000.MOV": (20, "live-video", f"{y}/IMG_2000.JPG"),
        f"{y}/PXL_20230615_123456789.MP.jpg": (30, "exact", None),
        f"{y}/PXL_20230615_123456789.MP": (30, "live-video", f"{y}/PXL_20230615_123456789.MP.jpg"),
        f"{y}/VID_0001.mp4": (40, "exact", None),
        f"{y}/IMG_3000.HEIC": (50, "exact", None),
        f"{y}/IMG_3000.MOV": (51, "exact", f"{y}/IMG_3000.HEIC"),
    }
    video = scan.sidecar_for(gp / y / "IMG_1234.MP4")
    assert video.media_path == str(gp / y / "IMG_1234.MP4") and not video.is_edited_variant
    assert scan.orphan_sidecars == []


def test_localised_edited_suffixes(tmp_path: Path) -> None:
    y = "Fotos von 2022"  # a German export
    nfd = unicodedata.normalize("NFD", "photo-modifié.jpg")  # as macOS may store it
    gp = build(
        tmp_path,
        {
            f"{y}/Foto.jpg": b"o",
            f"{y}/Foto-bearbeitet.jpg": b"e",
            f"{y}/Foto.jpg.supplemental-metadata.json": sidecar_json("Foto.jpg", 1),
            f"{y}/{nfd}": b"e",  # original not in the export, its sidecar is
            f"{y}/photo.jpg.json": sidecar_json("photo.jpg", 2),
            f"{y}/IMG_9-editado.JPG": b"e",
            f"{y}/IMG_9.JPG.json": sidecar_json("IMG_9.JPG", 3),
            f"{y}/IMG_8-modificato.jpg": b"e",
            f"{y}/IMG_8-edited.jpg": b"e",
            f"{y}/IMG_8.jpg": b"o",
            f"{y}/IMG_8.jpg.json": sidecar_json("IMG_8.jpg", 4),
        },
    )
    scan = read_takeout(tmp_path)
    got = {
        unicodedata.normalize("NFC", Path(m.path).name): (
            m.sidecar.photo_taken_time,
            m.match,
            m.is_edited_variant,
        )
        for m in scan.media
    }
    assert got == {
        "Foto.jpg": (1, "supplemental", False),
        "Foto-bearbeitet.jpg": (1, "edited", True),
        "photo-modifié.jpg": (2, "edited", True),
        "IMG_9-editado.JPG": (3, "edited", True),
        "IMG_8.jpg": (4, "exact", False),
        "IMG_8-edited.jpg": (4, "edited", True),
        "IMG_8-modificato.jpg": (4, "edited", True),
    }
    assert all(m.sidecar.is_edited_variant == m.is_edited_variant for m in scan.media)
    assert scan.orphan_sidecars == [], "an edit claims its absent original's sidecar"
    assert all(Path(m.path).exists() for m in scan.media), "paths keep the on-disk spelling"
    assert str(gp / y / nfd) in {m.path for m in scan.media}


def test_albums_other_files_and_bad_json(tmp_path: Path) -> None:
    gp = build(
        tmp_path,
        {
            "Photos from 2020/a.jpg": b"a",
            "Photos from 2020/a.jpg.json": sidecar_json(
                "a.jpg",
                5,
                favorited=True,
                description="hello",
                geoDataExif={"latitude": 48.85, "longitude": 2.35, "altitude": 35.0},
            ),
            "Summer 2020/a.jpg": b"a",  # album copy, name looks like a year folder but is not one
            "Summer 2020/a.jpg.json": sidecar_json("a.jpg", 5),
            "Summer 2020/metadata.json": {"title": "Summer 2020!", "description": "trip"},
            "Photos from 2019/Metadaten.json": sidecar_json("Metadaten", 6),  # not album metadata
            "Untitled(1)/b.png": b"b",
            "Untitled(1)/b.png.json": "{ not json",
            "Photos from 2020/notes.txt": "x",
            "Photos from 2020/.DS_Store": "x",
            "archive_browser.html": "<html>",
            "print-subscriptions.json": {},
        },
    )
    scan = read_takeout(tmp_path)
    a = scan.sidecar_for(gp / "Photos from 2020/a.jpg")
    assert a.favorited and a.description == "hello" and a.album is None
    assert (a.latitude, a.longitude, a.altitude) == (48.85, 2.35, 35.0), "geoDataExif when geoData is 0/0"
    assert scan.sidecar_for(gp / "Summer 2020/a.jpg").album == "Summer 2020"
    b = next(m for m in scan.media if m.path.endswith("b.png"))
    assert b.sidecar is None and b.album == "Untitled(1)"
    assert [rel(gp, p) for p, _ in scan.errors] == ["Untitled(1)/b.png.json"]
    assert [(x.folder, x.title, x.description) for x in scan.albums] == [
        ("Summer 2020", "Summer 2020!", "trip"),
        ("Untitled(1)", None, None),
    ]
    assert [rel(gp, p) for p in scan.other_files] == ["Photos from 2020/notes.txt", "archive_browser.html"]
    assert [rel(gp, p) for p in scan.other_json] == ["print-subscriptions.json"]
    assert [rel(gp, s.sidecar_path) for s in scan.orphan_sidecars] == ["Photos from 2019/Metadaten.json"]


def test_split_export_parts_are_merged(tmp_path: Path) -> None:
    """Google may put a sidecar and its media into different parts of a split export."""
    y = "Photos from 2020"
    gp1 = build(tmp_path / "takeout-001", {f"{y}/x.jpg": b"x", f"{y}/y.jpg.json": sidecar_json("y.jpg", 8)})
    gp2 = build(tmp_path / "takeout-002", {f"{y}/x.jpg.json": sidecar_json("x.jpg", 7), f"{y}/y.jpg": b"y"})
    alone = read_takeout(tmp_path / "takeout-001")
    assert [m.sidecar for m in alone.media] == [None]
    assert len(alone.orphan_sidecars) == 1
    both = read_takeout([tmp_path / "takeout-001", tmp_path / "takeout-002"])
    assert both.photos_dirs == [str(gp1), str(gp2)]
    got = {m.path: (m.sidecar.photo_taken_time, m.sidecar.sidecar_path) for m in both.media}
    assert got == {
        str(gp1 / y / "x.jpg"): (7, str(gp2 / y / "x.jpg.json")),
        str(gp2 / y / "y.jpg"): (8, str(gp1 / y / "y.jpg.json")),
    }
    assert both.orphan_sidecars == []


def test_parse_sidecar_edge_values(tmp_path: Path) -> None:
    sc = parse_sidecar(
        tmp_path / "x.json",
        {
            "title": "x.jpg",
            "photoTakenTime": {"timestamp": "not a number"},
            "creationTime": {"timestamp": "12"},
            "geoData": {"latitude": 0.0, "longitude": 0.0},
            "geoDataExif": {"latitude": 0.0, "longitude": 0.0},
            "favorited": "yes",
        },
    )
    assert sc.photo_taken_time is None and sc.creation_time == 12
    assert (sc.latitude, sc.longitude, sc.altitude) == (None, None, None)
    assert sc.favorited is False and sc.media_path is None and sc.album is None


def test_read_takeout_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_takeout(tmp_path / "nope")
    with pytest.raises(ValueError):
        read_takeout([])
