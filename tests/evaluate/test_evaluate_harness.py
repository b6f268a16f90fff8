"""The evaluation harness: generator, known truth, metrics and the runner (with a stand-in matcher)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from photodedup.evaluate import generated, known, run
from photodedup.evaluate.generated import BURST_FRAMES, KINDS, build_generated_set, variant_kinds
from photodedup.evaluate.metrics import GroundTruth, TruthPair, score
from photodedup.match.model import Group, Member

JPEG_SOURCE = "near-duplicates/imagededup/base_images/ukbench09268.jpg"  # has EXIF Orientation 6
HEIC_SOURCE = "media/heic/IMG_0102.HEIC"
SUBSET = [JPEG_SOURCE, HEIC_SOURCE]


# -- a tiny stand-in for photodedup.match.engine.find_groups (this file only) -----------------------------
def standin_find_groups(store, *, preset: str = "default", threshold: int | None = None) -> list[Group]:
    """Exact by digest, 'same' by pHash ≤ 4, burst ids and Live content ids: enough to drive the harness."""
    rows = list(store.items("status IN ('ok', 'not_on_disk') AND kind != 'sidecar'"))
    parent = {r["id"]: r["id"] for r in rows}

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    def union(a, b):
        parent[max(find(a), find(b))] = min(find(a), find(b))

    first: dict[str, int] = {}
    for r in rows:
        if r["blake3"]:
            union(first.setdefault(r["blake3"], r["id"]), r["id"])
    hashed = [r for r in rows if r["phash"] and r["media_type"] == "image" and not r["burst_id"]]
    for i, a in enumerate(hashed):
        for b in hashed[i + 1 :]:
            if bin(int(a["phash"], 16) ^ int(b["phash"], 16)).count("1") <= 4:
                union(a["id"], b["id"])
    clusters: dict[int, list[dict]] = {}
    for r in rows:
        clusters.setdefault(find(r["id"]), []).append(r)
    groups = []
    for ms in clusters.values():
        if len(ms) > 1:
            kind = "exact" if len({m["blake3"] for m in ms}) == 1 else "same"
            keeper = max(ms, key=lambda m: (m["size"] or 0, -m["id"]))
            members = [Member(m["id"], m["path"], "folder", m is keeper, uuid=m["uuid"]) for m in ms]
            groups.append(Group(f"{kind}{ms[0]['id']}", kind, members))
    for column, kind in (("burst_id", "burst"), ("content_id", "unit")):
        by: dict[str, list[dict]] = {}
        for r in rows:
            if r[column]:
                by.setdefault(r[column], []).append(r)
        for key, ms in by.items():
            if len(ms) > 1 and (kind == "burst" or len({m["media_type"] for m in ms}) == 2):
                members = [Member(m["id"], m["path"], "folder", True, uuid=m["uuid"]) for m in ms]
                groups.append(Group(f"{kind}{key}", kind, members))
    return groups


# -- generator ------------------------------------------------------------------------------------------
def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shown(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def _mean_diff(a: Image.Image, b: Image.Image) -> float:
    if a.size != b.size:
        b = b.resize(a.size, Image.Resampling.BILINEAR)
    return float(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).mean())


@pytest.fixture(scope="module")
def gen(data_dir, tmp_path_factory):
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = tmp_path_factory.mktemp("gen")
    return out, build_generated_set(data_dir, out / "a", seed=7, sources=SUBSET)


def test_generator_is_deterministic_and_cached(gen, data_dir):
    out, truth = gen
    again = build_generated_set(data_dir, out / "b", seed=7, sources=SUBSET)
    assert again.pairs == truth.pairs and again.items == truth.items
    for ref in truth.refs:
        assert _sha(Path(truth.root, ref)) == _sha(Path(again.root, ref)), ref
    # A second call reuses the cached set: no file is rewritten.
    stamp = {ref: os.stat(Path(truth.root, ref)).st_mtime_ns for ref in truth.refs}
    cached = build_generated_set(data_dir, out / "a", seed=7, sources=SUBSET)
    assert cached.pairs == truth.pairs
    assert stamp == {ref: os.stat(Path(truth.root, ref)).st_mtime_ns for ref in truth.refs}
    # Another seed: other random choices (names, crop boxes, border widths).
    other = build_generated_set(data_dir, out / "c", seed=8, sources=SUBSET)
    assert other.items != truth.items


def test_generator_writes_the_documented_variants(gen, data_dir):
    _, truth = gen
    assert sorted(os.listdir(truth.root)) == sorted(truth.refs)
    assert all(re.fullmatch(r"g\d{3}\.\w+", ref) for ref in truth.refs), "names must not leak the answer"
    kinds_of: dict[str, list[str]] = {}
    for info in truth.items.values():
        kinds_of.setdefault(info["source"], []).append(info["kind"])
    for source in SUBSET:
        assert sorted(kinds_of[source]) == sorted(["original", *variant_kinds(source)])
    assert "HEIC to JPEG" in variant_kinds(HEIC_SOURCE) and "JPEG to HEIC" in variant_kinds(JPEG_SOURCE)
    assert sorted(kinds_of[f] for f in BURST_FRAMES) == [["burst"]] * 3
    # Truth: one pair per variant (original, variant), burst frames pairwise, relations from KINDS.
    original = {info["source"]: ref for ref, info in truth.items.items() if info["kind"] == "original"}
    for p in truth.pairs:
        info = truth.items[p.b]
        assert p.kind == info["kind"] and p.relation == KINDS[p.kind][0]
        if p.kind != "burst":
            assert p.a == original[info["source"]]
    assert sum(p.kind == "burst" for p in truth.pairs) == 3
    assert truth.complete and truth.check() == []


def test_generated_files_decode_and_match_their_truth(gen, data_dir):
    _, truth = gen
    for ref, info in truth.items.items():
        path, src = Path(truth.root, ref), data_dir / info["source"]
        kind = info["kind"]
        if kind in ("original", "burst"):
            assert path.read_bytes() == src.read_bytes(), ref
            continue
        shown, source = _shown(path), _shown(src)
        w, h = source.size
        with Image.open(path) as im:
            fmt, orientation, exif = im.format, im.getexif().get(0x0112), im.info.get("exif")
        assert fmt == ("HEIF" if path.suffix == ".heic" else "JPEG"), (ref, kind)
        if kind == "rotated 90° (pixels)":
            assert shown.size == (h, w)
            assert min(_mean_diff(source, shown.rotate(a, expand=True)) for a in (90, -90)) < 6, ref
        elif kind == "crop":
            assert 0.95 * w <= shown.width <= 0.98 * w + 1 and 0.95 * h <= shown.height <= 0.98 * h + 1
        elif kind == "border":
            assert shown.width > w and shown.height > h and shown.width - w == shown.height - h
        else:
            assert _mean_diff(source, shown) < 10, (ref, kind)
            if kind == "resize half":
                assert shown.size == (w // 2, h // 2)
            elif kind == "resize 16 MP":
                assert abs(shown.width * shown.height - 16_000_000) < 0.01 * 16_000_000
            elif kind.endswith("HEIC"):
                assert shown.width * shown.height <= 1_000_000
            else:
                assert shown.size == (w, h), (ref, kind)
        if kind == "rotated 90° (EXIF tag)":
            assert orientation in (6, 8)
        elif kind == "EXIF stripped":
            assert not exif
        else:
            assert orientation in (None, 1), (ref, kind)


def test_exif_strip_keeps_the_compressed_image(data_dir):
    raw = (data_dir / "near-duplicates/imagededup/base_images/ukbench00120.jpg").read_bytes()
    stripped = generated.strip_jpeg_metadata(raw)
    assert len(stripped) < len(raw) and b"Exif\x00\x00" not in stripped
    assert raw.endswith(stripped[stripped.index(b"\xff\xda") :])


# -- metrics on hand-made groups ---------------------------------------------------------------------------
def _truth() -> GroundTruth:
    return GroundTruth(
        name="t",
        root="/set",
        pairs=[
            TruthPair("o1", "a1", "q60", "same"),
            TruthPair("o2", "a2", "q60", "same"),
            TruthPair("o1", "c1", "crop", "near"),
            TruthPair("b1", "b2", "burst", "burst"),
            TruthPair("s", "m", "Live", "live"),
            TruthPair("o3", "e", "edit", "edited"),
        ],
        refs=["o1", "a1", "c1", "o2", "a2", "o3", "e", "b1", "b2", "s", "m"],
        complete=True,
    )


def _g(kind: str, *members: tuple[str, bool], companions: dict[str, list[int]] | None = None) -> Group:
    ms = [
        Member(i, f"/set/{ref}", "folder", keep, companions=(companions or {}).get(ref, []))
        for i, (ref, keep) in enumerate(members)
    ]
    return Group(kind + "".join(r for r, _ in members), kind, ms)  # type: ignore[arg-type]


def test_metrics_give_exact_figures_and_count_violations():
    groups = [
        _g("same", ("o1", True), ("a1", False), ("c1", False)),  # 3 right pairs
        _g("same", ("o2", True), ("o3", False)),  # two different photos
        _g("burst", ("b1", True), ("b2", False)),  # removal inside a burst
        _g("same", ("s", False), ("m", True)),  # a Live half as a duplicate of the other: split too
        _g("edited", ("o3", True), ("e", True)),  # fine: both kept
    ]
    r = score(groups, _truth())
    rows = {row["kind"]: row for row in r["kinds"]}
    q60 = rows["q60"]
    assert (q60["pairs"], q60["found"], q60["recall"]) == (2, 1, 0.5)
    assert (q60["predicted"], q60["correct"], q60["precision"], q60["false"]) == (2, 2, 1.0, 0)
    assert q60["missed"] == [["a2", "o2"]]
    assert (rows["crop"]["recall"], rows["crop"]["precision"]) == (1.0, 1.0)
    assert r["target"] == {
        "pairs": 2,
        "found": 1,
        "recall": 0.5,
        "predicted": 2,
        "correct": 2,
        "precision": 1.0,
    }
    assert r["overall"] == {"predicted": 5, "correct": 3, "precision": 0.6}
    # 11 files: 55 pairs, 4 inside clusters, 3 listed negatives -> 48 "different photos" pairs.
    assert rows["different photos"]["pairs"] == 48 and rows["different photos"]["false"] == 1
    assert rows["burst"]["false"] == 1 and rows["edit"]["false"] == 0 and rows["edit"]["grouped"] == 1
    assert r["violations"] == {
        "burst_removal": 1,
        "live_split": 1,
        "live_duplicate": 1,
        "edited_removal": 0,
        "different_removal": 1,
    }
    assert r["violation_examples"]["burst_removal"] == [["b1", "b2"]]


def test_live_pair_moving_together_is_no_violation():
    refs = {0: "s", 1: "o1", 7: "m"}
    # The still goes as a duplicate with its video as companion: nothing split.
    groups = [_g("same", ("s", False), ("o1", True), companions={"s": [7]})]
    r = score(groups, _truth(), refs)
    assert r["violations"]["live_split"] == 0 and r["violations"]["live_duplicate"] == 0
    assert r["live_together"] == {"pairs": 1, "together": 1}
    # Without the companion the video stays behind: split.
    groups[0].members[0].companions = []
    r = score(groups, _truth(), refs)
    assert r["violations"]["live_split"] == 1 and r["live_together"]["together"] == 0
    # A unit group keeps them together; no removal, no violation.
    r = score([_g("unit", ("s", True), ("m", True))], _truth())
    assert r["live_together"]["together"] == 1 and not any(r["violations"].values())


def test_open_truth_reports_unlisted_removals_apart():
    t = _truth()
    t.complete = False
    r = score([_g("exact", ("o2", True), ("o3", False))], t)
    assert r["violations"]["unlisted_removal"] == 1 and r["violations"]["different_removal"] == 0
    assert r["kinds"][-1]["kind"] == "unlisted pairs"


def test_imagededup_pairs_become_two_member_groups():
    dups = {"o1": ["a1", "b1"], "a1": ["o1"], "b1": ["o1", "b2"], "b2": ["b1"]}
    groups = run.imagededup_groups(dups, "/set")
    assert len(groups) == 3 and all(len(g.members) == 2 for g in groups)
    r = score(groups, _truth())
    assert r["overall"]["predicted"] == 3 and r["violations"]["burst_removal"] == 1


def test_truth_round_trips_through_json(tmp_path):
    t = _truth()
    t.save(tmp_path / "t.json")
    assert GroundTruth.load(tmp_path / "t.json") == t


# -- known truth ----------------------------------------------------------------------------------------
def test_known_paths_exist_and_agree(data_dir):
    truth = known.known_truth(data_dir)
    refs = truth.all_refs()
    paths = [r for r in refs if not r.startswith("uuid:")]
    assert [r for r in paths if not (data_dir / r).is_file()] == []
    uuid = re.compile(r"uuid:[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")
    assert all(uuid.fullmatch(r) for r in refs if r.startswith("uuid:"))
    assert truth.check() == []
    by_kind: dict[str, int] = {}
    for p in truth.pairs:
        by_kind[p.kind] = by_kind.get(p.kind, 0) + 1
    # README 3.1: 18 media groups of 41 files (+ the two JSON files); 17 here, the undecodable pair apart.
    assert len(known.EXACT_GROUPS) == 17 and by_kind["exact"] == sum(len(g) - 1 for g in known.EXACT_GROUPS)
    assert by_kind["burst"] == 6 and by_kind["Live Photo"] == 2 and by_kind["different UKBench photos"] == 45
    # Byte-identical groups really are byte-identical, and different groups differ.
    digests = [{_sha(data_dir / r) for r in g} for g in known.EXACT_GROUPS]
    assert all(len(d) == 1 for d in digests) and len({d.pop() for d in digests}) == 17


# -- the runner -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def evaluated(data_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    return run.evaluate(
        data_dir,
        work,
        with_imagededup=False,
        matcher=standin_find_groups,
        generated_sources=SUBSET,
        workers=2,
    )


def test_evaluate_scores_both_sets(evaluated):
    assert [s["name"] for s in evaluated["sets"]] == ["known", "generated"]
    known_set, gen_set = evaluated["sets"]
    rows = {r["kind"]: r for r in known_set["photodedup"]["score"]["kinds"]}
    assert rows["exact"]["recall"] == 1.0  # digests alone find every byte-identical group
    assert rows["Photos fingerprint"]["found"] == 0  # the stand-in ignores Apple fingerprints
    assert known_set["photodedup"]["score"]["live_together"] == {"pairs": 2, "together": 2}
    g = gen_set["photodedup"]["score"]
    assert {r["kind"] for r in g["kinds"]} >= {"q60", "EXIF stripped", "burst", "different photos"}
    assert g["violations"]["burst_removal"] == 0  # burst frames are a burst group, all kept
    assert "imagededup_note" in gen_set and any(c["set"] == "generated" for c in evaluated["checks"])
    json.dumps(evaluated)  # plain data


def test_report_has_a_table_per_set_and_says_imagededup_was_left_out(evaluated):
    text = run.format_report(evaluated)
    assert text.count("| change | relation | pairs | photodedup P | photodedup R | photodedup false |") == 2
    assert "imagededup P" not in text and "imagededup not run" in text
    assert "| q60 | same |" in text and "### Acceptance" in text


def test_imagededup_column_when_its_venv_exists(gen, data_dir, tmp_path):
    venv = run.default_imagededup_venv()
    if not (venv / "bin" / "python").exists():
        pytest.skip(f"no imagededup venv at {venv}")
    _, truth = gen
    dups = run.run_imagededup(truth.root, venv)
    r = score(run.imagededup_groups(dups, truth.root), truth)
    # It pairs the JPEG copies with each other, but never with a HEIC (skipped) or across EXIF rotation.
    assert r["overall"]["correct"] >= 10
    assert r["violations"]["burst_removal"] >= 1  # burst frames are pHash 4–8 apart: within its 10
    assert all(not ref.endswith(".heic") for pair in dups.items() for ref in [pair[0], *pair[1]])
    with pytest.raises(run.ImagededupUnavailable):
        run.run_imagededup(truth.root, tmp_path / "no-venv")
