"""Measure how far the fast (reduced-scale) decode moves the perceptual hashes, and how fast it is.

Prints the markdown tables pasted into docs/hash-fidelity.md:

* JPEG and other formats imagededup reads: fast mode vs tests/golden/imagededup_hashes.json (the real
  imagededup). Fast mode turns images upright and imagededup does not, so the fast image is turned back to
  its stored orientation before hashing; the orientation effect itself is measured separately.
* HEIC (imagededup skips it): embedded thumbnail vs our exact full decode.
* The fast hash recipe alone (no scipy, no PyWavelets, no 256x256 resize) vs imagededup's recipe on the
  same pixels, and how often the wHash shortcut falls back to Pillow's resize.
* Speed on a 12 MP JPEG made by upscaling a photo of the data folder, and on a real 12 MP camera JPEG.

Usage: .venv/bin/python scripts/measure_hash_fidelity.py [--data DIR] [--no-bench]
BLAS runs single-threaded here (OPENBLAS_NUM_THREADS=1), as in a one-process-per-core scan.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from photodedup.fingerprint import perceptual
from photodedup.fingerprint.perceptual import hamming, hashes_from_image
from photodedup.media.decode import DecodeError, apply_orientation, decode_image

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "imagededup_hashes.json"
NAMES = ("phash", "ahash", "dhash", "whash")
UNDO = {2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}  # orientation that undoes each EXIF orientation
UPSCALE_SOURCE = "takeout/Takeout/Google Photos/Photos from 2019/Tulips.jpg"
CAMERA_12MP = "media/burst/IMG_0658.JPG"
SMALL_JPEG = "near-duplicates/imagededup/base_images/ukbench00120.jpg"


def _default_data() -> Path:
    env = os.environ.get("PHOTODEDUP_TEST_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def _stats_row(label: str, dists: dict[str, list[int]]) -> str:
    cells = []
    for name in NAMES:
        d = dists[name]
        same = 100 * sum(x == 0 for x in d) / len(d)
        cells.append(f"{statistics.fmean(d):.2f} / {max(d)} / {same:.0f} %")
    return f"| {label} | {len(dists['phash'])} | " + " | ".join(cells) + " |"


def _header(first: str) -> str:
    cols = " | ".join(f"{n} mean / max / identical" for n in NAMES)
    return f"| {first} | files | {cols} |\n|---|---:|" + "---:|" * len(NAMES)


def _distances(a, b) -> dict[str, int]:
    return {n: hamming(getattr(a, n), getattr(b, n)) for n in NAMES}


def fidelity(data: Path) -> None:
    golden = json.loads(GOLDEN.read_text())["hashes"]
    groups: dict[str, dict[str, list[int]]] = {}
    rotated: list[tuple[str, int, dict[str, int]]] = []
    per_file: list[tuple[str, dict[str, int]]] = []
    for rel, want in sorted(golden.items()):
        fast = decode_image(data / rel)
        stored = apply_orientation(fast.image, UNDO.get(fast.orientation or 1))
        got = hashes_from_image(stored)
        dist = {n: hamming(getattr(got, n), want[n]) for n in NAMES}
        kind = "JPEG, DCT-scaled" if fast.reduced else f"{fast.format}, full size"
        for group in (kind, "all golden files"):
            bucket = groups.setdefault(group, {n: [] for n in NAMES})
            for n in NAMES:
                bucket[n].append(dist[n])
        if fast.reduced:
            per_file.append((rel, dist))
        if fast.orientation not in (None, 1):
            rotated.append((rel, fast.orientation, {n: hamming(getattr(hashes_from_image(fast.image), n),
                                                                want[n]) for n in NAMES}))  # fmt: skip

    print("### Fast mode vs imagededup 0.3 (golden), bits of 64\n")
    print(_header("decode path"))
    for group in sorted(groups, key=lambda g: (g == "all golden files", g)):
        print(_stats_row(group, groups[group]))
    print("\nDCT-scaled JPEGs, per file (phash ahash dhash whash):\n")
    for rel, dist in per_file:
        if any(dist.values()):
            print(f"- `{rel}`: " + " ".join(str(dist[n]) for n in NAMES))
    print(f"- the other {sum(not any(d.values()) for _, d in per_file)} DCT-scaled files: 0 0 0 0")

    heic = {n: [] for n in NAMES}
    heic_rows = []
    for path in sorted(data.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in (".heic", ".heif"):
            continue
        try:
            fast = decode_image(path)
        except DecodeError:
            continue
        if not fast.reduced:
            continue
        exact = decode_image(path, exact=True)
        dist = _distances(hashes_from_image(fast.image), hashes_from_image(exact.image, exact=True))
        for n in NAMES:
            heic[n].append(dist[n])
        size = "x".join(map(str, fast.image.size))
        heic_rows.append(
            f"- `{path.relative_to(data)}` ({size} thumbnail): " + " ".join(str(dist[n]) for n in NAMES)
        )
    print("\n### HEIC: embedded thumbnail (fast) vs full decode (exact), bits of 64\n")
    print(_header("decode path"))
    print(_stats_row("HEIC, embedded thumbnail", heic))
    print()
    print("\n".join(heic_rows))

    print("\n### EXIF orientation: fast mode (upright) vs imagededup (stored pixels), bits of 64\n")
    print("| file | orientation | phash | ahash | dhash | whash |\n|---|---:|---:|---:|---:|---:|")
    for rel, orientation, dist in rotated:
        print(f"| `{rel}` | {orientation} | " + " | ".join(str(dist[n]) for n in NAMES) + " |")


def recipe(data: Path) -> None:
    """Fast recipe vs imagededup's recipe (exact=True) on the very same pixels: what the recipe alone adds."""
    crowded = {"n": 0}
    check = perceptual._crowded_median

    def counting(blocks):
        hit = check(blocks)
        crowded["n"] += hit
        return hit

    perceptual._crowded_median = counting
    golden = json.loads(GOLDEN.read_text())["hashes"]
    rows = {}
    for label, images in (
        ("golden files, full decode", [decode_image(data / rel, exact=True).image for rel in sorted(golden)]),
        ("golden files, fast decode", [decode_image(data / rel).image for rel in sorted(golden)]),
        (
            "HEIC thumbnails",
            [
                decode_image(p).image
                for p in sorted(data.rglob("*"))
                if p.is_file() and p.suffix.lower() in (".heic", ".heif") and _reduced(p)
            ],
        ),
        ("synthetic (see `synthetic()`)", [image for _, image in synthetic(data)]),
    ):
        crowded["n"] = 0
        dists = {n: [] for n in NAMES}
        for image in images:
            d = _distances(hashes_from_image(image), hashes_from_image(image, exact=True))
            for n in NAMES:
                dists[n].append(d[n])
        rows[label] = (dists, crowded["n"], len(images))
    perceptual._crowded_median = check
    print("\n### Fast hash recipe vs imagededup's recipe, same pixels, bits of 64\n")
    print(_header("images"))
    for label, (dists, _, _) in rows.items():
        print(_stats_row(label, dists))
    print()
    for name, image in synthetic(data):
        d = _distances(hashes_from_image(image), hashes_from_image(image, exact=True))
        if any(d.values()):
            print(
                f"- synthetic `{name}` moved: "
                + " ".join(str(d[n]) for n in NAMES)
                + " (phash ahash dhash whash)"
            )
    for label, (_, hits, total) in rows.items():
        print(f"- {label}: wHash shortcut fell back to Pillow's 256x256 resize on {hits} of {total}")


def synthetic(data: Path) -> list[tuple[str, Image.Image]]:
    """Content where the wHash shortcut's missing rounding and clipping matter most: black bars, white frames,
    blown-out and crushed photos, text pages, ramps and flat colours (all <= 1 MP: the matrix path)."""
    out: list[tuple[str, Image.Image]] = []
    for i, path in enumerate(sorted((data / "near-duplicates/imagededup/base_images").glob("*.jpg"))):
        photo = Image.open(path).convert("RGB")
        pixels = np.asarray(photo).astype(float)
        bars = Image.new("RGB", (640, 480))
        bars.paste(photo.resize((640, 300)), (0, 90))
        pillar = Image.new("RGB", (640, 480))
        pillar.paste(photo.resize((360, 480)), (140, 0))
        frame = Image.new("RGB", (640, 480), "white")
        frame.paste(photo.resize((400, 300)), (120, 90))
        blown = Image.fromarray(np.clip(pixels * 1.8, 0, 255).astype(np.uint8))
        crushed = Image.fromarray(np.clip(pixels * 1.6 - 120, 0, 255).astype(np.uint8))
        out += [(f"letterbox {i}", bars), (f"pillarbox {i}", pillar), (f"white frame {i}", frame)]
        out += [(f"blown-out {i}", blown), (f"crushed {i}", crushed)]
    rng = np.random.default_rng(7)
    for j in range(24):
        page = Image.new("RGB", (int(rng.integers(300, 900)), int(rng.integers(300, 1000))), "white")
        draw = ImageDraw.Draw(page)
        for _ in range(int(rng.integers(5, 40))):
            xy = (int(rng.integers(0, page.width // 2)), int(rng.integers(0, page.height)))
            draw.text(xy, "Lorem ipsum dolor sit amet " * 3, fill="black")
        if j % 2:
            draw.rectangle([10, 10, page.width // 3, page.height // 4], fill=(30, 60, 200))
        out.append((f"text page {j}", page))
    ramp = np.tile(np.linspace(0, 255, 500), (400, 1))
    out.append(
        ("colour ramps", Image.fromarray(np.stack([ramp, ramp * 0.5, ramp[:, ::-1]], -1).astype(np.uint8)))
    )
    out += [(f"flat {c}", Image.new("RGB", (300 + c, 200 + c), (c, c, c))) for c in (0, 1, 128, 255)]
    return out


def _reduced(path: Path) -> bool:
    try:
        return decode_image(path).reduced
    except DecodeError:
        return False


def _median_ms(fn, runs: int = 25) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def bench(data: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        upscaled = Path(tmp) / "tulips_12mp.jpg"
        with Image.open(data / UPSCALE_SOURCE) as src:
            src.convert("RGB").resize((4032, 3024), Image.Resampling.LANCZOS).save(upscaled, quality=90)
        cases = [
            ("12 MP upscaled Tulips.jpg (q90)", upscaled),
            ("12 MP camera JPEG IMG_0658.JPG", data / CAMERA_12MP),
            ("24 MP HEIC IMG_3582.HEIC (416 px thumbnail)", data / "media/live/IMG_3582.HEIC"),
            ("640x480 JPEG ukbench00120.jpg (no reduction)", data / SMALL_JPEG),
        ]
        decode_image(data / SMALL_JPEG)  # registers the HEIF opener for the floor below
        print("\n### Speed, ms per image (one core, median of 25, file bytes in memory)\n")
        print("| image | bytes | Pillow draft decode (floor) | decode_image fast | fast + 4 hashes "
              "| ratio to floor | exact + 4 hashes |\n|---|---:|---:|---:|---:|---:|---:|")  # fmt: skip
        for label, path in cases:
            raw = path.read_bytes()

            def floor(raw=raw):
                im = Image.open(io.BytesIO(raw))
                im.draft("RGB", (256, 256))
                im.load()

            t_floor = _median_ms(floor)
            t_decode = _median_ms(lambda raw=raw: decode_image(raw))
            t_fast = _median_ms(lambda raw=raw: hashes_from_image(decode_image(raw).image))
            t_exact = _median_ms(
                lambda raw=raw: hashes_from_image(decode_image(raw, exact=True).image, exact=True), runs=7
            )
            print(f"| {label} | {len(raw):,} | {t_floor:.1f} | {t_decode:.1f} | {t_fast:.1f} | "
                  f"{t_fast / t_floor:.2f} | {t_exact:.0f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=_default_data())
    parser.add_argument("--no-bench", action="store_true")
    args = parser.parse_args()
    fidelity(args.data)
    recipe(args.data)
    if not args.no_bench:
        bench(args.data)


if __name__ == "__main__":
    main()
