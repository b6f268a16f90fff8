"""Apple Photos source against the three real test libraries (README 2.1, 3.5, 3.6, 3.9)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from photodedup._types import AssetRecord
from photodedup.sources import applephotos
from photodedup.sources.applephotos import (
    LibraryScan,
    is_photos_library,
    library_modified_key,
    library_root,
    read_library,
)

LIBS = "photos-libraries"
COMPARE2 = "Test-13.5.1-compare-2.photoslibrary"
T261 = "Test-26.1.photoslibrary"
MEDIA = "Test-Media-Types-15.7.2.photoslibrary"
BURST = "D4E4B3D1-0E45-4987-BE12-76D604E25D2C"
IMG_1994_FP = "AT6Ji2L3VO4MblxwJL/B7PjzfzGv"


@pytest.fixture(scope="module")
def scans(data_dir: Path) -> dict[str, LibraryScan]:
    return {name: read_library(data_dir / LIBS / name) for name in (COMPARE2, T261, MEDIA)}


def asset(scan: LibraryScan, prefix: str) -> AssetRecord:
    found = [a for a in scan.assets if a.uuid.startswith(prefix)]
    assert len(found) == 1, prefix
    return found[0]


def utc(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s).astimezone(UTC) if s else None


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every file and folder under root with (mode, size, mtime_ns): any write shows."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    st = root.lstat()
    out["."] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


# -- detection -----------------------------------------------------------------------------


def test_is_photos_library(data_dir: Path, tmp_path: Path) -> None:
    lib = data_dir / LIBS / T261
    assert is_photos_library(lib)
    assert is_photos_library(str(lib / "database" / "Photos.sqlite"))
    assert not is_photos_library(lib / "originals")
    assert not is_photos_library(lib / "database")
    assert not is_photos_library(data_dir / "media")
    assert not is_photos_library(data_dir / "README.md")
    assert not is_photos_library(tmp_path / "missing.photoslibrary")
    (tmp_path / "empty.photoslibrary").mkdir()
    assert not is_photos_library(tmp_path / "empty.photoslibrary")
    other = tmp_path / "other" / "database"
    other.mkdir(parents=True)
    (other / "Photos.sqlite").write_bytes(b"")
    assert not is_photos_library(tmp_path / "other"), "a bundle needs the .photoslibrary suffix"


def test_library_root(data_dir: Path) -> None:
    lib = data_dir / LIBS / COMPARE2
    assert library_root(lib) == lib
    assert library_root(lib / "database" / "Photos.sqlite") == lib
    with pytest.raises(ValueError):
        library_root(data_dir / "README.md")


def test_not_a_library_raises(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_library(tmp_path)


# -- counts and completeness ----------------------------------------------------------------


def test_asset_counts(scans: dict[str, LibraryScan]) -> None:
    for name, n in ((COMPARE2, 5), (T261, 16), (MEDIA, 18)):
        scan = scans[name]
        assert scan.errors == [], name
        assert len(scan) == len(scan.assets) == n, name
        assert len({a.uuid for a in scan}) == n, f"{name}: a uuid appears twice"
    assert sorted(a.uuid[:8] for a in scans[T261] if a.trashed) == ["6FD38366", "71E3E212"]
    assert [a.uuid[:8] for a in scans[T261] if a.hidden] == ["A1DD1F98"]
    assert not any(a.trashed or a.hidden for a in scans[COMPARE2])
    members = sorted(a.uuid[:8] for a in scans[MEDIA] if a.burst_uuid)
    assert members == ["79D1A1A5", "7B85B835", "BB0F9F05", "D87BFE7E"]


def test_photos_version_and_key(scans: dict[str, LibraryScan], data_dir: Path) -> None:
    assert scans[COMPARE2].photos_version == 8
    assert scans[MEDIA].photos_version == 10
    for name, scan in scans.items():
        assert scan.library == str(data_dir / LIBS / name)
        assert scan.db_path == str(data_dir / LIBS / name / "database" / "Photos.sqlite")
        assert scan.modified_key == library_modified_key(data_dir / LIBS / name)


def test_same_result_from_bundle_and_sqlite_path(data_dir: Path, scans: dict[str, LibraryScan]) -> None:
    for name in (COMPARE2, T261, MEDIA):
        via_db = read_library(data_dir / LIBS / name / "database" / "Photos.sqlite")
        assert via_db.library == scans[name].library
        assert sorted(via_db.assets, key=lambda a: a.uuid) == sorted(scans[name].assets, key=lambda a: a.uuid)


def test_all_fields_well_formed(scans: dict[str, LibraryScan]) -> None:
    for scan in scans.values():
        root = Path(scan.library)
        for a in scan:
            assert a.original_on_disk == (a.path is not None)
            for p in (a.path, a.path_edited, a.path_live_video, a.path_edited_live_video, a.path_raw):
                assert p is None or (Path(p).is_file() and Path(p).is_relative_to(root)), p
            assert utc(a.date).tzinfo is not None
            assert datetime.fromisoformat(a.date).utcoffset() is not None, "date keeps its offset"
            assert a.date_added.endswith("+00:00")
            assert a.date_modified is None or a.date_modified.endswith("+00:00")
            assert a.uti and a.original_filesize and a.width and a.height
            assert isinstance(a.albums, list) and isinstance(a.keywords, list)
            assert a.burst_selected is False or a.burst_uuid
            assert a.burst_key is False or a.burst_uuid


# -- compare-2 ----------------------------------------------------------------------------


def test_compare2_exact_duplicate_pair_every_field(scans: dict[str, LibraryScan], data_dir: Path) -> None:
    scan = scans[COMPARE2]
    lib = data_dir / LIBS / COMPARE2
    a = asset(scan, "C0054772")
    expected = AssetRecord(
        uuid="C0054772-8788-499F-B94F-8AC6064B8A58",
        original_filename="IMG_1994.JPG",
        path=str(lib / "originals/C/C0054772-8788-499F-B94F-8AC6064B8A58.jpeg"),
        original_on_disk=True,
        path_edited=None,
        path_live_video=None,
        path_edited_live_video=None,
        path_raw=None,
        is_movie=False,
        live_photo=False,
        content_id=None,
        burst_uuid=None,
        burst_selected=False,
        burst_key=False,
        favorite=False,
        hidden=False,
        trashed=False,
        albums=[],
        keywords=[],
        date="2020-04-15T10:25:51-07:00",
        date_added="2024-03-03T15:49:48.896440+00:00",
        date_modified=None,
        width=4416,
        height=3312,
        uti="public.jpeg",
        original_filesize=2901554,
        fingerprint=IMG_1994_FP,
        has_adjustments=False,
        screenshot=False,
        title=None,
        description=None,
        latitude=None,
        longitude=None,
    )
    assert a == expected
    b = asset(scan, "F269CA02")
    assert b.fingerprint == a.fingerprint == IMG_1994_FP
    assert b.original_filesize == a.original_filesize == os.path.getsize(a.path) == os.path.getsize(b.path)
    assert Path(b.path).read_bytes() == Path(a.path).read_bytes()
    assert {x.uuid[:8] for x in scan if x.fingerprint == IMG_1994_FP} == {"C0054772", "F269CA02"}
    assert all(x.original_on_disk and x.fingerprint for x in scan), "complete library, with fingerprints"


def test_compare2_metadata(scans: dict[str, LibraryScan]) -> None:
    tulips = asset(scans[COMPARE2], "29E96312")
    assert tulips.title == "Tulips tied together at a flower shop"
    assert tulips.description == "Wedding tulips"
    assert "flowers" in tulips.keywords and tulips.keywords == sorted(tulips.keywords)
    assert tulips.date == "2019-07-04T16:24:01-07:00"
    wedding = asset(scans[COMPARE2], "0B5E5418")
    assert wedding.keywords == ["bride", "wedding"]
    assert wedding.original_filesize == 463959


# -- Test-26.1 ----------------------------------------------------------------------------


def test_26_trashed_reimported_edit(scans: dict[str, LibraryScan], data_dir: Path) -> None:
    scan = scans[T261]
    trashed = asset(scan, "6FD38366")
    assert trashed.trashed and not trashed.hidden
    assert trashed.original_filename == "wedding_edited.jpg"
    assert trashed.original_on_disk
    wedding = asset(scan, "E9BC5C36")
    # its original is byte-identical to E9BC5C36's render (README 3.1 #16)
    assert Path(trashed.path).read_bytes() == Path(wedding.path_edited).read_bytes()
    gone = asset(scan, "71E3E212")
    assert gone.trashed and gone.path is None and gone.original_filename == "IMG_1064.jpeg"
    assert gone.latitude == pytest.approx(38.917405) and gone.longitude == pytest.approx(-77.041764)


def test_26_edited_asset(scans: dict[str, LibraryScan], data_dir: Path) -> None:
    lib = data_dir / LIBS / T261
    a = asset(scans[T261], "E9BC5C36")
    assert a.original_filename == "wedding.jpg"
    assert a.path == str(lib / "originals/E/E9BC5C36-7CD1-40A1-A72B-8B8FAC227D51.jpeg")
    assert a.path_edited == str(lib / "resources/renders/E/E9BC5C36-7CD1-40A1-A72B-8B8FAC227D51_1_201_a.jpeg")
    assert a.has_adjustments and a.favorite and not a.trashed
    assert (a.width, a.height) == (2048, 1367), "the original's size, not the crop's"
    assert a.original_filesize == 460483 == os.path.getsize(a.path)
    assert a.albums == ["AlbumInFolder", "I have a deleted twin"]
    assert a.keywords == ["wedding"]
    assert a.description == "Bride Wedding day"
    assert a.fingerprint == "ASs96bJvsunOg9Vxo5hK7VU3HegE"
    assert a.date == "2019-04-15T14:40:24.086000-04:00"
    assert utc(a.date_modified) == datetime(2019, 7, 27, 21, 33, 28, 398138, tzinfo=UTC)
    heic = asset(scans[T261], "7783E8E6")
    assert heic.path_edited.endswith("7783E8E6-9CAC-40F3-BE22-81FB7051C266_1_201_a.heic")
    assert heic.uti == "public.heic" and heic.has_adjustments
    # edited, but the render is not in the trimmed bundle
    st_james = asset(scans[T261], "DC99FBDD")
    assert st_james.has_adjustments and st_james.path is None and st_james.path_edited is None
    assert st_james.title == "St. James's Park"
    assert st_james.latitude == pytest.approx(51.50357167) and st_james.longitude == pytest.approx(-0.1318055)


def test_26_not_on_disk_but_fingerprint_known(scans: dict[str, LibraryScan]) -> None:
    a = asset(scans[T261], "A92D9C26")
    assert a.original_filename == "IMG_1994.JPG"
    assert a.path is None and not a.original_on_disk and a.path_raw is None
    assert a.fingerprint == IMG_1994_FP, "cross-library duplicate of compare-2's IMG_1994 pair"
    assert a.original_filesize == 2901554
    assert a.albums == ["Raw"]
    on_disk = {a.uuid[:8] for a in scans[T261] if a.original_on_disk}
    assert on_disk == {"F12384F6", "D79B8D77", "1EB2B765", "6191423D", "E9BC5C36", "6FD38366", "7783E8E6"}


def test_26_hidden_and_modified_after_import(scans: dict[str, LibraryScan]) -> None:
    hidden = asset(scans[T261], "A1DD1F98")
    assert hidden.hidden and not hidden.trashed and hidden.path is None
    assert hidden.original_filename == "Pumpkins4.jpg" and hidden.title == "Pumpkin heads"
    pumpkins3 = asset(scans[T261], "1EB2B765")
    assert pumpkins3.original_filesize == 588140
    assert os.path.getsize(pumpkins3.path) == 591071, "file changed after import (README 3.9)"
    assert pumpkins3.albums == ["Pumpkin Farm"]
    raw = asset(scans[T261], "D05A5FE3")
    assert raw.uti == "com.adobe.raw-image" and raw.original_filename == "DSC03584.dng"


# -- Media-Types ----------------------------------------------------------------------------


def test_media_live_photo(scans: dict[str, LibraryScan], data_dir: Path) -> None:
    lib = data_dir / LIBS / MEDIA
    a = asset(scans[MEDIA], "B60C31AC")
    assert a.live_photo and not a.is_movie
    assert a.content_id == "ED2A2552-C906-486E-9DA5-17DABDF672A7"
    assert a.path == str(lib / "originals/B/B60C31AC-BE86-42C5-A383-A0A5710B18AE.heic")
    assert a.path_live_video == str(lib / "originals/B/B60C31AC-BE86-42C5-A383-A0A5710B18AE_3.mov")
    assert a.path_edited == str(lib / "resources/renders/B/B60C31AC-BE86-42C5-A383-A0A5710B18AE_1_201_a.heic")
    assert a.path_edited_live_video is None, "the render video is not in the trimmed bundle"
    assert a.has_adjustments and a.uti == "public.heic"
    assert a.fingerprint is None, "this schema stores no fingerprint"
    assert a.latitude == pytest.approx(34.73087833) and a.longitude == pytest.approx(-86.58705333)
    offline = asset(scans[MEDIA], "EC19EA1A")
    assert offline.live_photo and offline.content_id == "602FEBB7-6B59-4799-96E6-9C8484D873C7"
    assert offline.path is None and offline.path_live_video is None
    live = {a.uuid[:8] for a in scans[MEDIA] if a.live_photo}
    assert live == {"B60C31AC", "EC19EA1A", "D562F353", "CDFC3B62", "9CD04458"}
    assert all(a.content_id for a in scans[MEDIA] if a.live_photo)
    assert not any(a.content_id for a in scans[MEDIA] if not a.live_photo)


def test_media_burst_members(scans: dict[str, LibraryScan], data_dir: Path) -> None:
    members = {a.uuid[:8]: a for a in scans[MEDIA] if a.burst_uuid}
    assert {a.burst_uuid for a in members.values()} == {BURST}
    flags = {u: (a.burst_selected, a.burst_key, a.original_on_disk) for u, a in members.items()}
    assert flags == {
        "79D1A1A5": (True, False, True),  # user-selected (pick type 8), original on disk
        "BB0F9F05": (False, True, False),  # key / default pick
        "D87BFE7E": (False, False, False),  # not selected: db.photos() leaves these out
        "7B85B835": (False, False, False),
    }
    assert members["79D1A1A5"].original_filename == "IMG_0667.JPG"
    assert members["79D1A1A5"].path == str(
        data_dir / LIBS / MEDIA / "originals/7/79D1A1A5-B1EA-41D1-83B1-C71F001E6D49.jpeg"
    )
    assert members["D87BFE7E"].original_filename == "IMG_0664.JPG"
    assert not any(a.hidden or a.trashed for a in members.values())


def test_media_screenshot_movie_heic(scans: dict[str, LibraryScan], data_dir: Path) -> None:
    shot = asset(scans[MEDIA], "A344F711")
    assert shot.screenshot and shot.uti == "public.png" and (shot.width, shot.height) == (1136, 640)
    assert [a.uuid[:8] for a in scans[MEDIA] if a.screenshot] == ["A344F711"]
    movie = asset(scans[MEDIA], "420451DF")
    assert movie.is_movie and not movie.live_photo
    assert movie.uti == "com.apple.quicktime-movie"
    assert movie.path.endswith("originals/4/420451DF-5299-41C1-8B71-83E1598D6F5C.mov")
    assert Path(movie.path).read_bytes() == (data_dir / "media/video/IMG_3539.MOV").read_bytes()
    assert movie.date == "2016-01-18T15:20:40-07:00"
    movies = {a.uuid[:8] for a in scans[MEDIA] if a.is_movie}
    assert movies == {"420451DF", "3715655F", "E03F1E85", "542D92E9"}
    heic = asset(scans[MEDIA], "5F9BCC2D")
    assert heic.uti == "public.heic" and not heic.live_photo and heic.path.endswith(".heic")
    assert (heic.width, heic.height) == (3088, 2320), "stored size, before EXIF orientation 6"
    assert all(a.fingerprint is None for a in scans[MEDIA])


# -- never touching the library -------------------------------------------------------------


def _copy_library(data_dir: Path, name: str, dest: Path) -> Path:
    lib = dest / name
    shutil.copytree(data_dir / LIBS / name, lib)
    return lib


def test_library_untouched_even_in_wal_mode(data_dir: Path, tmp_path: Path) -> None:
    """Real libraries are WAL-mode; SQLite's mode=ro would create -wal/-shm beside them."""
    lib = _copy_library(data_dir, COMPARE2, tmp_path)
    db = lib / "database" / "Photos.sqlite"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    conn.close()
    os.utime(lib / "database", ns=(1_000_000_000, 1_000_000_000))
    before = snapshot(lib)
    assert "database/Photos.sqlite-wal" not in before
    scan = read_library(lib)
    assert len(scan) == 5 and scan.errors == []
    assert all(a.path.startswith(str(lib)) for a in scan)
    assert snapshot(lib) == before


def test_uncheckpointed_wal_is_read_and_left_alone(data_dir: Path, tmp_path: Path) -> None:
    """Photos open: recent changes sit in the -wal; we must see them and leave both files be."""
    lib = _copy_library(data_dir, T261, tmp_path)
    db = lib / "database" / "Photos.sqlite"
    key0 = library_modified_key(lib)
    writer = sqlite3.connect(db)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("UPDATE ZASSET SET ZFAVORITE = 1 WHERE ZUUID LIKE 'F12384F6%'")
        writer.commit()
        assert (lib / "database" / "Photos.sqlite-wal").stat().st_size > 0
        assert library_modified_key(lib) != key0, "the -wal counts as a change"
        before = snapshot(lib)
        scan = read_library(lib)
        assert snapshot(lib) == before
        assert asset(scan, "F12384F6").favorite
        assert len(scan) == 16
    finally:
        writer.close()


def test_read_only_location(data_dir: Path, tmp_path: Path) -> None:
    """Bundle and every folder without write bits (as a user's external drive may be).

    Running as root the bits are not enforced, so the snapshot check is what proves it then.
    """
    lib = _copy_library(data_dir, MEDIA, tmp_path)
    paths = [Path(d) for d, _, _ in os.walk(lib)]
    files = [Path(d, f) for d, _, fs in os.walk(lib) for f in fs]
    for p in files + paths:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        before = snapshot(lib)
        scan = read_library(lib)
        assert len(scan) == 18 and scan.errors == []
        assert asset(scan, "B60C31AC").path_live_video is not None
        assert snapshot(lib) == before
    finally:
        for p in paths + files:
            p.chmod(p.stat().st_mode | stat.S_IWUSR)


def test_shared_data_untouched(data_dir: Path) -> None:
    lib = data_dir / LIBS / MEDIA
    before = snapshot(lib)
    read_library(lib / "database" / "Photos.sqlite")
    assert snapshot(lib) == before


def test_modified_key(data_dir: Path, tmp_path: Path) -> None:
    lib = _copy_library(data_dir, COMPARE2, tmp_path)
    db = lib / "database" / "Photos.sqlite"
    key = library_modified_key(lib)
    assert key == library_modified_key(db)
    assert key == library_modified_key(lib)
    st = db.stat()
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert library_modified_key(lib) != key
    with pytest.raises(FileNotFoundError):
        library_modified_key(tmp_path / "nothing.photoslibrary")


# -- robustness -----------------------------------------------------------------------------


def test_failing_asset_is_reported_and_rest_read(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = applephotos._record

    def flaky(photo, extras):
        if photo.uuid.startswith("0EBA5A05"):
            raise KeyError("ZADDITIONALASSETATTRIBUTES")
        return real(photo, extras)

    monkeypatch.setattr(applephotos, "_record", flaky)
    scan = read_library(data_dir / LIBS / COMPARE2)
    assert len(scan) == 4
    assert scan.errors == [("0EBA5A05-6E6B-4EF6-B264-8F3AE6B88379", "KeyError: 'ZADDITIONALASSETATTRIBUTES'")]


def test_records_are_plain_data(scans: dict[str, LibraryScan]) -> None:
    import pickle

    a = asset(scans[MEDIA], "B60C31AC")
    assert pickle.loads(pickle.dumps(a)) == a
    assert dataclasses.asdict(a)["content_id"] == "ED2A2552-C906-486E-9DA5-17DABDF672A7"
