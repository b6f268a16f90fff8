"""The tag-specific EXIF reader gives what Pillow's ``get_ifd`` gives: on every file of the data set, and on
damaged copies of their EXIF."""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, TiffImagePlugin, TiffTags

from photodedup.media import exif as ex

pillow_heif.register_heif_opener()

WANTED = {ex._EXIF_IFD: ex._EXIF_WANTED, ex._GPS_IFD: ex._GPS_WANTED}


def _normal(value: object) -> object:
    """Pillow's IFDRational and our float are the same number: compare them as floats (nan as a string)."""
    if isinstance(value, tuple):
        return tuple(_normal(v) for v in value)
    if isinstance(value, TiffImagePlugin.IFDRational | float):
        number = float(value)
        return "nan" if number != number else number
    return value


def _pillow(exif: Image.Exif) -> tuple[dict, dict]:
    """The old reader: Pillow's get_ifd, keeping the tags image_meta reads."""
    return tuple(
        {tag: _normal(v) for tag, v in ex._ifd(exif, ifd).items() if tag in WANTED[ifd]}
        for ifd in (ex._EXIF_IFD, ex._GPS_IFD)
    )


def _fast(exif: Image.Exif) -> tuple[dict, dict]:
    assert ex._tiff_blob(exif) is not None, "the fast reader was not used"
    return tuple({tag: _normal(v) for tag, v in ifd.items()} for ifd in ex._sub_ifds(exif))


def _exifs(data_dir: Path):
    """(relative path, EXIF blob as Pillow loaded it, file format) for every data file that has one."""
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                with Image.open(path) as im:
                    exif = im.getexif()  # PNG's getexif loads the chunks after the pixels itself
                    fmt = im.format
            except Exception:
                continue
        if len(exif) or exif._loaded_exif:
            yield str(path.relative_to(data_dir)), exif._loaded_exif, fmt, exif


def _loaded(blob: bytes) -> Image.Exif:
    exif = Image.Exif()
    exif.load(blob)
    return exif


def test_same_values_and_meta_on_every_data_file(data_dir: Path) -> None:
    seen = with_sub_ifd = 0
    for rel, blob, fmt, exif in _exifs(data_dir):
        if blob is None:  # EXIF of a TIFF file: its IFDs are read from the file, by Pillow
            assert fmt == "TIFF", rel
            assert ex._tiff_blob(exif) is None
            continue
        seen += 1
        old, new = _pillow(_loaded(blob)), _fast(_loaded(blob))
        assert new == old, rel
        with_sub_ifd += bool(old[0] or old[1])
        pillow_read = _loaded(blob)
        old_meta = ex._meta(
            pillow_read, ex._ifd(pillow_read, ex._EXIF_IFD), ex._ifd(pillow_read, ex._GPS_IFD)
        )
        assert ex.image_meta(_loaded(blob)) == old_meta, rel
        assert ex.image_meta(exif) == old_meta, rel  # the Exif as the decoder hands it over
    assert seen >= 70 and with_sub_ifd >= 50, (seen, with_sub_ifd)  # the data set has 83 such files


def _mutations(blob: bytes, rng: random.Random, n: int):
    start = (6 if blob.startswith(b"Exif\0\0") else 0) + 8  # keep the TIFF header
    for _ in range(n):
        buf = bytearray(blob)
        for _ in range(rng.randrange(1, 10)):
            buf[rng.randrange(start, len(buf))] = rng.randrange(256)
        if rng.random() < 0.3:
            buf = buf[: rng.randrange(8, len(buf) + 1)]
        yield bytes(buf)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about each corrupt tag
def test_same_values_on_damaged_exif(data_dir: Path) -> None:
    """Random bytes changed in real EXIF blobs (counts, types, offsets, values, cut-off ends)."""
    rng = random.Random(2026)
    blobs = {}
    for rel, blob, _fmt, _exif in _exifs(data_dir):
        if blob and (
            rel.endswith((".HEIC", ".heic")) or "burst" in rel or "motion" in rel or "Pumkins" in rel
        ):
            blobs.setdefault(blob[:64], (rel, blob))
    assert len(blobs) >= 6
    compared = 0
    for rel, blob in blobs.values():
        for damaged in _mutations(blob, rng, 80):
            try:
                old = _pillow(_loaded(damaged))
            except Exception:
                continue  # Pillow's own loader refused the blob: the decoder would hand over no EXIF
            assert _fast(_loaded(damaged)) == old, rel
            compared += 1
    assert compared >= 1000


def test_tables_agree_with_this_pillow() -> None:
    dispatch = TiffImagePlugin.ImageFileDirectory_v2._load_dispatch
    assert {t: size for t, (size, _) in dispatch.items()} == {t: size for t, (size, _) in ex._TYPES.items()}
    assert {t for t in ex._GPS_WANTED if TiffTags.lookup(t, ex._GPS_IFD).length == 1} == ex._GPS_SINGLE
    assert all(TiffTags.lookup(t, ex._EXIF_IFD).length != 1 for t in ex._EXIF_WANTED)
    assert all(not TiffTags.lookup(t, g).enum for g, tags in WANTED.items() for t in tags)


def test_pillow_reader_still_serves_exif_built_in_memory() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x8769] = {0x9003: "2019:01:02 03:04:05"}
    assert ex._tiff_blob(exif) is None
    loaded = _loaded(exif.tobytes())
    assert ex._tiff_blob(loaded) is not None
    assert ex.image_meta(loaded).taken_at == "2019-01-02T03:04:05"


# --- hand-made IFDs for the rules random damage rarely hits ------------------------------------------


def _blob(
    sub: list[tuple[int, int, int, bytes | int]], pointer_type: int = 4, sub_tag: int = 0x8769
) -> bytes:
    """Big-endian TIFF: IFD0 with one pointer (``sub_tag``) to an IFD of ``sub`` entries (tag, type,
    count, value bytes, or an int: a raw offset for out-of-line data); values follow the IFD."""
    ifd_at = 8 + 2 + 12 + 4
    data_at = ifd_at + 2 + 12 * len(sub) + 4
    pointer = ifd_at.to_bytes(2 if pointer_type == 3 else 4, "big").ljust(4, b"\0")
    head = b"MM\0\x2a" + (8).to_bytes(4, "big") + (1).to_bytes(2, "big")
    head += sub_tag.to_bytes(2, "big") + pointer_type.to_bytes(2, "big") + (1).to_bytes(4, "big") + pointer
    head += b"\0\0\0\0"
    table, values = len(sub).to_bytes(2, "big"), b""
    for tag, typ, count, value in sub:
        if isinstance(value, int):
            field = value.to_bytes(4, "big")
        elif len(value) <= 4:
            field = value.ljust(4, b"\0")
        else:
            field = (data_at + len(values)).to_bytes(4, "big")
            values += value
        table += tag.to_bytes(2, "big") + typ.to_bytes(2, "big") + count.to_bytes(4, "big") + field
    return head + table + b"\0\0\0\0" + values


DATE = b"2020:01:02 03:04:05\0"
OTHER = b"2021:06:07 08:09:10\0"


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    ("name", "blob"),
    [
        ("duplicate tag: the first wins", _blob([(0x9003, 2, 20, DATE), (0x9003, 2, 20, OTHER)])),
        ("unknown type, then the tag again", _blob([(0x9003, 99, 20, OTHER), (0x9003, 2, 20, DATE)])),
        ("empty value, then the tag again", _blob([(0x9003, 2, 0, b""), (0x9003, 2, 20, DATE)])),
        (
            "value past the end ends the IFD",
            _blob([(0x9004, 2, 20, DATE), (0x9003, 2, 20, 10_000), (0x9011, 2, 7, b"+01:00\0")]),
        ),
        ("running total past the blob: skipped", _blob([(0x9999, 7, 400, 8), (0x9011, 2, 4, b"+01\0")])),
        ("entry table cut off", _blob([(0x9011, 2, 4, b"+01\0"), (0x9012, 2, 4, b"+02\0")])[:-10]),
        ("short pointer", _blob([(0x9003, 2, 20, DATE)], pointer_type=3)),
        ("ASCII pointer", _blob([(0x9003, 2, 20, DATE)], pointer_type=2)),
        ("rational pointer", _blob([(0x9003, 2, 20, DATE)], pointer_type=5)),
        ("date as UNDEFINED bytes", _blob([(0x9003, 7, 20, DATE)])),
        ("date as SHORTs", _blob([(0x9003, 3, 2, b"\0\1\0\2")])),
        ("latin-1 text, no NUL", _blob([(0x9011, 2, 4, b"\xe9+01")])),
        (
            "GPS: two altitudes and refs, zero denominators",
            _blob(
                [
                    (1, 2, 2, b"N\0"),
                    (2, 5, 3, b"\0\0\0\x01\0\0\0\0" + b"\0\0\0\x02\0\0\0\x01" + b"\0\0\0\x03\0\0\0\x01"),
                    (4, 10, 2, b"\xff\xff\xff\xfe\0\0\0\x01" + b"\0\0\0\x05\0\0\0\x02"),
                    (5, 3, 2, b"\0\x01\0\x00"),
                    (6, 5, 2, b"\0\0\0\x07\0\0\0\x02" + b"\0\0\0\x09\0\0\0\x00"),
                ],
                sub_tag=0x8825,
            ),
        ),
    ],
)
def test_same_values_on_made_ifds(name: str, blob: bytes) -> None:
    assert _fast(_loaded(blob)) == _pillow(_loaded(blob)), name
