"""A generated evaluation set: real photos from the test data, changed the ways copies change in life.

Every source photo is copied as it is, then re-written with one change per file (re-encodes, resizes,
format changes, stripped EXIF, rotations, small crops, borders). Different sources are negatives of each
other (Pumkins1/2/3 are three photos of one session: hard negatives), and the three frames of the
burst in the data are copied as they are: a burst must never be proposed for removal.

Files get opaque, shuffled names (``g017.jpg``), so no name heuristic can find the answer; the truth
(``truth.json``) says which source and change each file is. The set is cached under ``out_dir`` by
generator version, seed and source list, because writing it (16 MP JPEGs, HEIC encodes) takes longer
than scanning it.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import random
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from photodedup.evaluate.metrics import GroundTruth, TruthPair

__all__ = ["BURST_FRAMES", "KINDS", "SOURCES", "VERSION", "build_generated_set", "variant_kinds"]

VERSION = "1"  # bump whenever the files or the truth would change

_UK = "near-duplicates/imagededup/base_images"
_TK = "takeout/Takeout/Google Photos"
# ~20 distinct photos: UKBench 640×480, 2–15 MP camera JPEGs, iPhone HEICs. Left out: the degenerate
# motion-photo decodes, Live/edited pairs (their own relations) and anything byte-identical to a source.
SOURCES: tuple[str, ...] = (
    *(f"{_UK}/ukbench{n}.jpg" for n in ("00120", "01380", "08976", "08996", "09012")),
    *(f"{_UK}/ukbench{n}.jpg" for n in ("09040", "09060", "09268", "09348", "09380")),
    "photos-libraries/Test-13.5.1-compare-2.photoslibrary/originals/C/C0054772-8788-499F-B94F-8AC6064B8A58.jpeg",
    f"{_TK}/Photos from 2016/IMG_3984.jpeg",
    f"{_TK}/Photos from 2019/Tulips.jpg",
    f"{_TK}/Photos from 2019/wedding.jpg",
    f"{_TK}/Photos from 2018/Pumkins1.jpg",
    "photos-libraries/Test-26.1.photoslibrary/originals/D/D79B8D77-BFFC-460B-9312-034F2877D35B.jpeg",
    f"{_TK}/Photos from 2018/Pumpkins3.jpg",
    "media/heic/IMG_0102.HEIC",
    "photos-libraries/Test-26.1.photoslibrary/originals/7/7783E8E6-9CAC-40F3-BE22-81FB7051C266.heic",
    "media/edited/IMG_1853.HEIC",
)
BURST_FRAMES: tuple[str, ...] = (
    "media/burst/IMG_0658.JPG",
    "media/burst/IMG_0664.JPG",
    "photos-libraries/Test-Media-Types-15.7.2.photoslibrary/originals/7/79D1A1A5-B1EA-41D1-83B1-C71F001E6D49.jpeg",
)

# kind -> (relation, description). "same" kinds are the accuracy target; a crop is "near" (optional).
KINDS: dict[str, tuple[str, str]] = {
    "q60": ("same", "JPEG re-encode, quality 60"),
    "q75": ("same", "JPEG re-encode, quality 75"),
    "q85": ("same", "JPEG re-encode, quality 85"),
    "q95": ("same", "JPEG re-encode, quality 95"),
    "resize 16 MP": ("same", "resized to ~16 megapixels (up or down), JPEG q90"),
    "resize half": ("same", "resized to half width and height, JPEG q90"),
    "JPEG to HEIC": ("same", "HEIC of a JPEG source (≤ 1 MP)"),
    "HEIC to JPEG": ("same", "JPEG q90 of a HEIC source, full size"),
    "HEIC to JPEG to HEIC": ("same", "HEIC source → JPEG q90 → HEIC (≤ 1 MP)"),
    "EXIF stripped": ("same", "EXIF/XMP removed (JPEG: same compressed data; HEIC source: JPEG q90)"),
    "rotated 90° (pixels)": ("same", "pixels turned 90°, no Orientation tag: displays turned"),
    "rotated 90° (EXIF tag)": ("same", "pixels turned 90° and an Orientation tag turning them back"),
    "border": ("same", "a plain frame of 2–5 % of the short side"),
    "crop": ("near", "2–5 % cut off each dimension"),
    "burst": ("burst", "frames of one burst, copied as they are"),
}
_HEIC_MAX_PIXELS = 1_000_000  # x265 is slow; small HEICs keep the set quick to (re)build
_HEIC_PARAMS = {"quality": 70, "enc_params": {"preset": "ultrafast"}}
_ORIENTATION = 0x0112


@dataclass(frozen=True, slots=True)
class _Plan:
    source: str  # ref of the source in the data folder
    kind: str  # "original" or a key of KINDS
    ext: str


def variant_kinds(source: str) -> list[str]:
    """The changes made to one source; the format change depends on whether it is a HEIC."""
    heic = _is_heic(source)
    fmt = ["HEIC to JPEG", "HEIC to JPEG to HEIC"] if heic else ["JPEG to HEIC"]
    return [
        *("q60", "q75", "q85", "q95", "resize 16 MP", "resize half"),
        *fmt,
        *("EXIF stripped", "rotated 90° (pixels)", "rotated 90° (EXIF tag)", "crop", "border"),
    ]


def _is_heic(ref: str) -> bool:
    return ref.lower().endswith((".heic", ".heif"))


def _ext(kind: str, source: str) -> str:
    if kind == "original" or kind == "burst":
        return os.path.splitext(source)[1]
    return ".heic" if kind in ("JPEG to HEIC", "HEIC to JPEG to HEIC") else ".jpg"


def _cache_key(seed: int, sources: Sequence[str]) -> str:
    digest = hashlib.sha1("\n".join([*sources, "|", *BURST_FRAMES]).encode()).hexdigest()[:8]
    return f"generated-v{VERSION}-seed{seed}-{digest}"


def build_generated_set(
    src_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    seed: int = 0,
    sources: Sequence[str] | None = None,
) -> GroundTruth:
    """Write (or reuse) the generated set under ``out_dir``; its truth's ``root`` is the folder to scan.

    ``sources`` picks a subset of ``SOURCES`` (the tests use two); the burst frames are always added.
    The same seed gives the same files, names and truth.
    """
    src = Path(src_dir)
    sources = list(SOURCES if sources is None else sources)
    dest = Path(out_dir) / _cache_key(seed, sources)
    truth_file = dest / "truth.json"
    if truth_file.exists():
        truth = GroundTruth.load(truth_file)
        truth.root = str(dest / "photos")
        if all((dest / "photos" / r).exists() for r in truth.refs):
            return truth

    import pillow_heif

    pillow_heif.register_heif_opener()
    plans = [_Plan(s, "original", _ext("original", s)) for s in sources]
    plans += [_Plan(s, k, _ext(k, s)) for s in sources for k in variant_kinds(s)]
    plans += [_Plan(f, "burst", _ext("burst", f)) for f in BURST_FRAMES]
    order = list(range(len(plans)))
    random.Random(f"names:{seed}").shuffle(order)
    names = {i: f"g{n:03d}{plans[i].ext.lower()}" for n, i in enumerate(order)}

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".generating-", dir=out_dir))
    try:
        photos = tmp / "photos"
        photos.mkdir()
        by_source: dict[str, list[int]] = {}
        for i, p in enumerate(plans):
            by_source.setdefault(p.source, []).append(i)
        for source, idx in by_source.items():
            _write_source(src / source, source, [(plans[i].kind, photos / names[i]) for i in idx], seed)

        pairs: list[TruthPair] = []
        original = {plans[i].source: names[i] for i in range(len(plans)) if plans[i].kind == "original"}
        for i, p in enumerate(plans):
            if p.kind not in ("original", "burst"):
                pairs.append(TruthPair(original[p.source], names[i], p.kind, KINDS[p.kind][0]))
        frames = [names[i] for i, p in enumerate(plans) if p.kind == "burst"]
        pairs += [TruthPair(a, b, "burst", "burst") for j, a in enumerate(frames) for b in frames[j + 1 :]]
        truth = GroundTruth(
            name="generated",
            root=str(dest / "photos"),
            pairs=pairs,
            refs=sorted(names.values()),
            complete=True,
            descriptions={k: d for k, (_, d) in KINDS.items()},
            items={names[i]: {"source": p.source, "kind": p.kind} for i, p in enumerate(plans)},
        )
        truth.save(tmp / "truth.json")
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return truth


# -- writing one source's files ---------------------------------------------------------------------------
def _write_source(path: Path, ref: str, outputs: list[tuple[str, Path]], seed: int) -> None:
    rng = random.Random(f"{seed}:{ref}")  # per source: adding a source leaves the others' files alone
    raw = path.read_bytes()
    with Image.open(path) as im:
        im.load()
        exif = im.getexif()
        icc = im.info.get("icc_profile")
        oriented = exif.get(_ORIENTATION, 1) not in (None, 1)
        shown = ImageOps.exif_transpose(im).convert("RGB")
    if _ORIENTATION in exif:
        exif[_ORIENTATION] = 1  # variants are stored as displayed
    exif_bytes = exif.tobytes() if len(exif) else None
    keep = {"exif": exif_bytes, "icc_profile": icc}

    for kind, out in outputs:
        if kind in ("original", "burst"):
            out.write_bytes(raw)
        elif kind in ("q60", "q75", "q85", "q95"):
            _jpeg(shown, out, int(kind[1:]), **keep)
        elif kind == "resize 16 MP":
            scale = math.sqrt(16_000_000 / (shown.width * shown.height))
            _jpeg(_resized(shown, scale), out, 90, **keep)
        elif kind == "resize half":
            _jpeg(
                shown.resize((shown.width // 2, shown.height // 2), Image.Resampling.LANCZOS), out, 90, **keep
            )
        elif kind == "HEIC to JPEG":
            _jpeg(shown, out, 90, **keep)
        elif kind == "JPEG to HEIC":
            _heic(shown, out, **keep)
        elif kind == "HEIC to JPEG to HEIC":
            buf = io.BytesIO()
            shown.save(buf, "JPEG", quality=90)
            with Image.open(buf) as again:
                _heic(again.convert("RGB"), out, **keep)
        elif kind == "EXIF stripped":
            if raw[:2] == b"\xff\xd8" and not oriented:
                out.write_bytes(strip_jpeg_metadata(raw))
            else:
                _jpeg(shown, out, 90, icc_profile=icc)
        elif kind == "rotated 90° (pixels)":
            _jpeg(shown.rotate(rng.choice((90, -90)), expand=True), out, 90, **keep)
        elif kind == "rotated 90° (EXIF tag)":
            # Orientation 6 = turn 90° clockwise to display, so store the picture turned counter-clockwise.
            angle, tag = rng.choice(((90, 6), (-90, 8)))
            tagged = Image.Exif()
            tagged.load(exif_bytes or b"")
            tagged[_ORIENTATION] = tag
            _jpeg(shown.rotate(angle, expand=True), out, 90, exif=tagged.tobytes(), icc_profile=icc)
        elif kind == "crop":
            _jpeg(shown.crop(_crop_box(shown.size, rng)), out, 90, **keep)
        elif kind == "border":
            width = max(1, round(min(shown.size) * rng.uniform(0.02, 0.05)))
            colour = rng.choice(((255, 255, 255), (0, 0, 0)))
            _jpeg(ImageOps.expand(shown, border=width, fill=colour), out, 90, **keep)
        else:
            raise ValueError(f"unknown change {kind!r}")


def _resized(im: Image.Image, scale: float) -> Image.Image:
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    return im.resize(size, Image.Resampling.LANCZOS)


def _crop_box(size: tuple[int, int], rng: random.Random) -> tuple[int, int, int, int]:
    w, h = size
    cut_w, cut_h = round(w * rng.uniform(0.02, 0.05)), round(h * rng.uniform(0.02, 0.05))
    left, top = round(cut_w * rng.random()), round(cut_h * rng.random())
    return left, top, w - (cut_w - left), h - (cut_h - top)


def _jpeg(im: Image.Image, out: Path, quality: int, exif: bytes | None = None, icc_profile=None) -> None:
    kw = {k: v for k, v in (("exif", exif), ("icc_profile", icc_profile)) if v}
    im.save(out, "JPEG", quality=quality, **kw)


def _heic(im: Image.Image, out: Path, exif: bytes | None = None, icc_profile=None) -> None:
    if im.width * im.height > _HEIC_MAX_PIXELS:
        scale = math.sqrt(_HEIC_MAX_PIXELS / (im.width * im.height))
        im = im.resize((int(im.width * scale), int(im.height * scale)), Image.Resampling.LANCZOS)
    kw = {k: v for k, v in (("exif", exif), ("icc_profile", icc_profile)) if v}
    im.save(out, "HEIF", **_HEIC_PARAMS, **kw)


def strip_jpeg_metadata(data: bytes) -> bytes:
    """The same JPEG without its APP1 (EXIF, XMP) and APP13 (IPTC) segments: pixels untouched.

    What ``exiftool -all=`` or a "remove location" sharing option does; a re-encode would change the
    pixels and test something else.
    """
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    out = bytearray(data[:2])
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            break
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker not in (0xE1, 0xED):
            out += data[i : i + 2 + length]
        i += 2 + length
    out += data[i:]
    return bytes(out)
