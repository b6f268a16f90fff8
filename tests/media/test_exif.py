"""EXIF -> ImageMeta on the real stills of the data set (README 3.4-3.6), and on garbage."""

from __future__ import annotations

import io
import random
import struct
import time
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, TiffImagePlugin

from photodedup._types import ImageMeta
from photodedup.media.exif import apple_makernote, image_meta

pillow_heif.register_heif_opener()

TAKEOUT = "takeout/Takeout/Google Photos"
LIB_MT = "photos-libraries/Test-Media-Types-15.7.2.photoslibrary"
BURST = "D4E4B3D1-0E45-4987-BE12-76D604E25D2C"
LIVE_B = f"{LIB_MT}/originals/B/B60C31AC-BE86-42C5-A383-A0A5710B18AE.heic"
RENDER_B = f"{LIB_MT}/resources/renders/B/B60C31AC-BE86-42C5-A383-A0A5710B18AE_1_201_a.heic"


def _meta(data_dir: Path, rel: str) -> ImageMeta:
    with Image.open(data_dir / rel) as im:
        return image_meta(im.getexif())


def _exif_roundtrip(exif: Image.Exif) -> Image.Exif:
    """Serialise and re-read, the way a decoder hands EXIF over."""
    loaded = Image.Exif()
    loaded.load(exif.tobytes())
    return loaded


# --- Apple ids (README 3.5, 3.6) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "content_id"),
    [
        ("media/live/IMG_3582.HEIC", "602FEBB7-6B59-4799-96E6-9C8484D873C7"),
        ("media/live/IMG_3582_edited.heic", "87D06EAA-DAEF-4498-ABC5-27FE5C8CE710"),
        ("media/edited/IMG_1853.HEIC", "DC121C25-1A7C-4FEC-BB42-99FB89A4719D"),
        ("media/edited/IMG_E1853.heic", "DDFE07E3-65A7-4329-896F-41C370FF4FCD"),
        (LIVE_B, "ED2A2552-C906-486E-9DA5-17DABDF672A7"),
        (RENDER_B, "95914300-265B-4CD4-BCA3-2731F76C74DA"),  # edit render: new id
        ("media/heic/IMG_0102.HEIC", None),  # carries LivePhotoVideoIndex but is not Live
        ("media/heic/sample_still_photo.heic", None),
        (f"{TAKEOUT}/Photos from 2016/IMG_3984.jpeg", None),  # Apple note, no id
    ],
)
def test_live_photo_content_id(data_dir: Path, rel: str, content_id: str | None) -> None:
    meta = _meta(data_dir, rel)
    assert meta.content_id == content_id
    assert meta.burst_id is None


@pytest.mark.parametrize(
    "rel",
    [
        "media/burst/IMG_0658.JPG",
        "media/burst/IMG_0664.JPG",
        f"{LIB_MT}/originals/7/79D1A1A5-B1EA-41D1-83B1-C71F001E6D49.jpeg",
    ],
)
def test_burst_uuid(data_dir: Path, rel: str) -> None:
    meta = _meta(data_dir, rel)
    assert meta.burst_id == BURST
    assert meta.content_id is None
    assert (meta.make, meta.model) == ("Apple", "iPhone 6s")
    assert meta.taken_at in ("2016-10-09T14:44:17", "2016-10-09T14:44:18")


# --- time, camera, GPS, orientation -------------------------------------------------------------


def test_edited_heic_capture_time_offset_and_gps(data_dir: Path) -> None:
    original = _meta(data_dir, "media/edited/IMG_1853.HEIC")
    edited = _meta(data_dir, "media/edited/IMG_E1853.heic")
    assert original.taken_at == edited.taken_at == "2023-03-23T10:19:38"
    assert original.taken_offset == "-07:00"
    assert (original.make, original.model) == ("Apple", "iPhone SE (2nd generation)")
    # N 32°50'38.3", W 116°31'45.36", 1121.8 m above sea level
    assert original.gps_lat == pytest.approx(32 + 50 / 60 + 38.3 / 3600, abs=1e-6)
    assert original.gps_lon == pytest.approx(-(116 + 31 / 60 + 45.36 / 3600), abs=1e-6)
    assert original.gps_alt == pytest.approx(1121.82, abs=0.01)
    assert original.orientation == 1


def test_takeout_jpeg_exif_time_has_no_offset(data_dir: Path) -> None:
    meta = _meta(data_dir, f"{TAKEOUT}/Photos from 2016/IMG_3984.jpeg")
    assert meta.taken_at == "2016-03-28T17:05:08"
    assert meta.taken_offset is None
    assert (meta.make, meta.model) == ("Apple", "iPhone 5")
    assert meta.gps_lat is None and meta.gps_lon is None and meta.gps_alt is None


def test_live_still_time_camera_gps(data_dir: Path) -> None:
    meta = _meta(data_dir, "media/live/IMG_3582.HEIC")
    assert meta.taken_at == "2025-05-26T09:27:06"
    assert meta.taken_offset == "-05:00"
    assert (meta.make, meta.model) == ("Apple", "iPhone 15 Pro")
    assert meta.gps_lat == pytest.approx(34.66477, abs=1e-5)
    assert meta.gps_lon == pytest.approx(-86.47038, abs=1e-5)
    assert meta.gps_alt == pytest.approx(197.09, abs=0.01)


@pytest.mark.parametrize(
    ("rel", "make", "model", "taken_at", "lat", "lon"),
    [
        # east longitude, AltitudeRef stored as int 0
        ("media/motion/motionphoto.heic", "samsung", "SM-S901U1", "2023-03-08T12:31:05", 12.96038, 77.70553),
        # west longitude just below 1 degree
        (
            "media/motion/pixel-motion-photo-jfif-segment-shortened.jpg",
            "Google",
            "Pixel 3a",
            "2021-03-15T11:56:23",
            51.54352,
            -0.13113,
        ),
        # GPS IFD holds only a 0/0/0 longitude and no latitude: no position
        (
            "media/motion/ss-motion-photo-shortened.jpg",
            "samsung",
            "SM-G988U",
            "2020-12-17T10:03:14",
            None,
            None,
        ),
        # DateTimeOriginal wins over a later DateTime
        (
            f"{TAKEOUT}/Photos from 2018/Pumkins1.jpg",
            "Canon",
            "Canon EOS 5D Mark IV",
            "2018-09-28T15:35:49",
            None,
            None,
        ),
        ("media/heic/sample_still_photo.heic", None, None, "2020-10-21T12:26:18", None, None),
    ],
)
def test_camera_time_gps(
    data_dir: Path, rel: str, make: str | None, model: str | None, taken_at: str, lat, lon
) -> None:
    meta = _meta(data_dir, rel)
    assert (meta.make, meta.model, meta.taken_at) == (make, model, taken_at)
    if lat is None:
        assert meta.gps_lat is None and meta.gps_lon is None and meta.gps_alt is None
    else:
        assert meta.gps_lat == pytest.approx(lat, abs=1e-5)
        assert meta.gps_lon == pytest.approx(lon, abs=1e-5)


def test_orientation_from_exif(data_dir: Path) -> None:
    assert _meta(data_dir, "media/motion/pixel-motion-photo-shortened.jpg").orientation == 6
    assert _meta(data_dir, "media/burst/IMG_0658.JPG").orientation == 1


@pytest.mark.parametrize("rel", ["media/screenshot/IMG_2908.PNG", "media/motion/normalphoto.jpg"])
def test_no_exif_gives_empty_meta(data_dir: Path, rel: str) -> None:
    assert _meta(data_dir, rel) == ImageMeta()


def test_none_gives_empty_meta() -> None:
    assert image_meta(None) == ImageMeta()


def test_hidden_offsets_still_find_makernote(data_dir: Path) -> None:
    with Image.open(data_dir / "media/live/IMG_3582.HEIC") as im:
        exif = im.getexif()
        exif.hide_offsets()
        assert image_meta(exif).content_id == "602FEBB7-6B59-4799-96E6-9C8484D873C7"


# --- fallbacks and normalisation on constructed EXIF -------------------------------------------


def test_date_falls_back_to_digitized_then_datetime() -> None:
    exif = Image.Exif()
    exif[0x0132] = "2019:01:02 03:04:05"
    exif[0x8769] = {0x9004: "2018:07:08 09:10:11", 0x9012: "+09:00", 0x9010: "+01:00"}
    meta = image_meta(_exif_roundtrip(exif))
    assert (meta.taken_at, meta.taken_offset) == ("2018-07-08T09:10:11", "+09:00")

    exif = Image.Exif()
    exif[0x0132] = "2019:01:02 03:04:05"
    exif[0x8769] = {0x9003: "0000:00:00 00:00:00", 0x9010: "+01:00"}
    meta = image_meta(_exif_roundtrip(exif))
    assert (meta.taken_at, meta.taken_offset) == ("2019-01-02T03:04:05", "+01:00")


def test_make_model_are_stripped() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Apple\x00\x00  "
    exif[0x0110] = "  iPhone 8 \x00"
    meta = image_meta(_exif_roundtrip(exif))
    assert (meta.make, meta.model) == ("Apple", "iPhone 8")


def test_gps_south_west_and_below_sea_level() -> None:
    rat = TiffImagePlugin.IFDRational
    exif = Image.Exif()
    exif[0x8825] = {
        1: "S",
        2: (rat(33, 1), rat(52, 1), rat(1234, 100)),
        3: "W",
        4: (rat(151, 1), rat(12, 1), rat(0, 1)),
        5: b"\x01",
        6: rat(105, 10),
    }
    meta = image_meta(_exif_roundtrip(exif))
    assert meta.gps_lat == pytest.approx(-(33 + 52 / 60 + 12.34 / 3600), abs=1e-6)
    assert meta.gps_lon == pytest.approx(-(151 + 12 / 60), abs=1e-6)
    assert meta.gps_alt == pytest.approx(-10.5)


# --- MakerNote parser ---------------------------------------------------------------------------


def _apple_note(entries: list[tuple[int, int, bytes]], endian: str = ">") -> bytes:
    """Build an Apple MakerNote: header, IFD at 14, values after the IFD (offsets from note start)."""
    order = b"MM" if endian == ">" else b"II"
    head = b"Apple iOS\x00" + struct.pack(endian + "H", 1) + order
    ifd_size = 2 + 12 * len(entries) + 4
    data_at = len(head) + ifd_size
    ifd, blob = struct.pack(endian + "H", len(entries)), b""
    for tag, typ, value in entries:
        if len(value) <= 4:
            ifd += struct.pack(endian + "HHI", tag, typ, len(value)) + value.ljust(4, b"\x00")
        else:
            ifd += struct.pack(endian + "HHII", tag, typ, len(value), data_at + len(blob))
            blob += value
    return head + ifd + b"\x00\x00\x00\x00" + blob


def test_makernote_parser_both_byte_orders() -> None:
    cid = b"602febb7-6b59-4799-96e6-9c8484d873c7\x00"
    burst = b"D4E4B3D1-0E45-4987-BE12-76D604E25D2C\x00"
    for endian in (">", "<"):
        note = _apple_note([(0x0001, 9, b"\x00\x00\x00\x0e"), (0x000B, 2, burst), (0x0011, 2, cid)], endian)
        assert apple_makernote(note) == {
            0x000B: "D4E4B3D1-0E45-4987-BE12-76D604E25D2C",
            0x0011: "602FEBB7-6B59-4799-96E6-9C8484D873C7",  # upper-cased to match the MOV side
        }


def test_makernote_in_a_written_jpeg_roundtrips() -> None:
    note = _apple_note([(0x0011, 2, b"ABCDEF01-2345-6789-ABCD-EF0123456789\x00")])
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0x8769] = {0x927C: note, 0x9003: "2024:02:29 23:59:59"}
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="JPEG", exif=exif.tobytes())
    with Image.open(buf) as im:
        meta = image_meta(im.getexif())
    assert meta.content_id == "ABCDEF01-2345-6789-ABCD-EF0123456789"
    assert meta.taken_at == "2024-02-29T23:59:59"


@pytest.mark.parametrize(
    "note",
    [
        b"",
        b"Apple iOS\x00",
        b"Apple iOS\x00\x00\x01MM",
        b"Apple iOS\x00\x00\x01MM\xff\xff",  # 65535 entries, none present
        b"Apple iOS\x00\x00\x01XX\x00\x01" + b"\x00" * 16,  # bad byte order
        _apple_note([(0x0011, 2, b"X" * 40)])[:-20],  # value runs past the end
        # one ASCII entry with a huge count and offset
        b"Apple iOS\x00\x00\x01MM\x00\x01\x00\x11\x00\x02" + b"\xff" * 8,
        _apple_note([(0x0011, 2, b"not a uuid at all!!\x00")]),
        _apple_note([(0x0011, 2, b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8")]),
        _apple_note([(0x0011, 3, b"\x00\x01\x00\x02\x00\x03")]),  # wrong type
        b"\x0e\x00\x01\x00\x03\x00.\x00\x00\x00\\\x04\x00\x00",  # Canon note
    ],
)
def test_makernote_garbage_gives_nothing(note: bytes) -> None:
    assert apple_makernote(note) == {}


@pytest.mark.parametrize("value", [None, 17, "Apple iOS", 3.5, (1, 2), [b"Apple iOS\x00"]])
def test_makernote_wrong_python_type(value: object) -> None:
    assert apple_makernote(value) == {}


def test_makernote_fuzz_never_raises() -> None:
    rng = random.Random(1234)
    real = _apple_note([(0x000B, 2, b"D4E4B3D1-0E45-4987-BE12-76D604E25D2C\x00")])
    for _ in range(2000):
        if rng.random() < 0.5:
            note = b"Apple iOS\x00" + rng.randbytes(rng.randrange(0, 200))
        else:  # flip bytes of a valid note
            buf = bytearray(real)
            for _ in range(rng.randrange(1, 8)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
            note = bytes(buf[: rng.randrange(len(buf) + 1)])
        result = apple_makernote(note)
        assert set(result) <= {0x000B, 0x0011}


# --- garbage EXIF never raises ------------------------------------------------------------------


def test_junk_makernote_and_junk_fields_in_exif() -> None:
    rat = TiffImagePlugin.IFDRational
    exif = Image.Exif()
    exif[0x010F] = "\x00\x00"
    exif[0x0112] = 42
    exif[0x0132] = "    :  :     :  :  "
    exif[0x8769] = {
        0x927C: b"Apple iOS\x00\x00\x01MM\xff\xff" + random.Random(7).randbytes(300),
        0x9003: "2016:13:40 25:61:61",
        0x9011: "garbage",
    }
    exif[0x8825] = {
        1: "Q",
        2: (rat(1, 0), rat(0, 0), rat(5, 1)),  # division by zero
        3: "E",
        4: (rat(500, 1), rat(0, 1), rat(0, 1)),  # 500 degrees
    }
    meta = image_meta(_exif_roundtrip(exif))
    assert meta == ImageMeta()


def test_unset_exif_object_pointers() -> None:
    """An Exif built in memory (no file behind it) with pointer tags holding dicts or junk."""
    exif = Image.Exif()
    exif[0x8769] = 12345678
    exif[0x8825] = "junk"
    exif[0x010F] = b"Canon\x00"
    meta = image_meta(exif)
    assert meta.make == "Canon"
    assert meta.content_id is None


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about each corrupt tag
def test_exif_blob_fuzz_never_raises() -> None:
    rng = random.Random(99)
    good = Image.Exif()
    good[0x010F] = "Apple"
    good[0x8769] = {0x927C: _apple_note([(0x0011, 2, b"ABCDEF01-2345-6789-ABCD-EF0123456789\x00")])}
    good[0x8825] = {1: "N", 2: (1.0, 2.0, 3.0)}
    blob = bytearray(good.tobytes())
    for _ in range(300):
        buf = bytearray(blob)
        for _ in range(rng.randrange(1, 12)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        exif = Image.Exif()
        try:
            exif.load(bytes(buf))
        except Exception:
            continue  # Pillow's own loader refused it; nothing reaches image_meta
        assert isinstance(image_meta(exif), ImageMeta)


class _Hostile:
    """Every access fails, as a badly broken Exif might."""

    def get(self, tag: int) -> object:
        raise RuntimeError("boom")

    def get_ifd(self, tag: int) -> dict:
        raise struct.error("boom")


def test_hostile_exif_object() -> None:
    assert image_meta(_Hostile()) == ImageMeta()


# --- cost ---------------------------------------------------------------------------------------


def test_makernote_parse_is_sub_millisecond(data_dir: Path) -> None:
    with Image.open(data_dir / "media/live/IMG_3582.HEIC") as im:
        note = im.getexif().get_ifd(0x8769)[0x927C]
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        apple_makernote(note)
    per_call = (time.perf_counter() - start) / runs
    assert per_call < 1e-3, f"{per_call * 1e3:.3f} ms per MakerNote"
