"""`photodedup evaluate`: scan, match and score two sets, optionally beside imagededup.

Each set is scanned into a fresh temporary store (a store left over from earlier runs would carry their
decisions and items), matched with ``find_groups`` and scored by ``metrics.score``. imagededup runs in its
throwaway venv (see scripts/make_golden_hashes.py: imagededup installed ``--no-deps``, torch stubbed), at
its default ``find_duplicates`` threshold; each pair it reports counts as one proposed duplicate.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from photodedup.evaluate.generated import VERSION, build_generated_set
from photodedup.evaluate.known import known_truth
from photodedup.evaluate.metrics import POSITIVE, GroundTruth, score
from photodedup.match.model import Group, Member
from photodedup.store.db import Store

__all__ = [
    "ImagededupUnavailable",
    "default_data_dir",
    "default_imagededup_venv",
    "default_work_dir",
    "evaluate",
    "format_report",
    "imagededup_groups",
    "refs_from_store",
]

TARGET_PRECISION, TARGET_RECALL = 0.99, 0.95
_HARD_RULES = ("burst_removal", "live_split", "live_duplicate")
_VIOLATION_NAMES = {
    "burst_removal": "removal inside a burst",
    "live_split": "Live pair split",
    "live_duplicate": "Live half as a duplicate of the other",
    "edited_removal": "edit/original removal",
    "different_removal": "different photos removal",
    "unlisted_removal": "removal between unrelated files",
}

Matcher = Callable[[Store], list[Group]]


class ImagededupUnavailable(Exception):
    """imagededup's throwaway venv is missing or broken: the report leaves its column out."""


def default_data_dir() -> Path:
    """``$PHOTODEDUP_TEST_DATA``, else ../shared/data beside a source checkout."""
    env = os.environ.get("PHOTODEDUP_TEST_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[3].parent / "shared" / "data"


def default_work_dir() -> Path:
    """Where the generated set is cached (it takes longer to write than to scan)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("photodedup", appauthor=False)) / "evaluate"


def default_imagededup_venv() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "photodedup" / "imagededup-venv"


def refs_from_store(store: Store, root: str | os.PathLike[str]) -> dict[int, str]:
    """item id -> truth ref: the path relative to root, or ``uuid:<UUID>`` for an asset with no file."""
    base = os.path.realpath(root)
    out: dict[int, str] = {}
    for row in store.items():
        if row["path"]:
            rel = os.path.relpath(os.path.realpath(row["path"]), base)
            out[row["id"]] = rel.replace(os.sep, "/") if not rel.startswith("..") else row["path"]
        elif row["uuid"]:
            out[row["id"]] = f"uuid:{row['uuid']}"
    return out


def _scan_and_match(truth: GroundTruth, tmp: Path, matcher: Matcher, workers: int | None) -> dict:
    from photodedup.scan.engine import ScanOptions, scan

    store = Store(tmp / f"{truth.name}.db")
    try:
        t0 = time.perf_counter()
        report = scan([truth.root], store, ScanOptions(workers=workers))
        t1 = time.perf_counter()
        groups = matcher(store)
        t2 = time.perf_counter()
        refs = refs_from_store(store, truth.root)
    finally:
        store.close()
    return {
        "items": report.seen,
        "failed": report.failed,
        "groups": len(groups),
        "groups_by_kind": _count_kinds(groups),
        "seconds": {"scan": round(t1 - t0, 2), "match": round(t2 - t1, 2)},
        "score": score(groups, truth, refs),
    }


def _count_kinds(groups: list[Group]) -> dict[str, int]:
    out: dict[str, int] = {}
    for g in groups:
        out[g.kind] = out.get(g.kind, 0) + 1
    return out


_INSIDE = r"""
import json, logging, sys, types
cnn = types.ModuleType("imagededup.methods.cnn"); cnn.CNN = None
models = types.ModuleType("imagededup.utils.models"); models.CustomModel = None
sys.modules["imagededup.methods.cnn"] = cnn
sys.modules["imagededup.utils.models"] = models
logging.disable(logging.WARNING)
from imagededup.methods import PHash
dups = PHash(verbose=False).find_duplicates(image_dir=sys.argv[1])
with open(sys.argv[2], "w") as f:
    json.dump({k: sorted(v) for k, v in dups.items()}, f)
"""


def run_imagededup(
    image_dir: str | os.PathLike[str], venv: Path | None = None, timeout: float = 1800
) -> dict:
    """imagededup's ``PHash().find_duplicates(image_dir=...)`` with every default, run in its venv."""
    python = (venv or default_imagededup_venv()) / "bin" / "python"
    if not python.exists():
        raise ImagededupUnavailable(
            f"no imagededup venv at {python.parent.parent} (create it: scripts/make_golden_hashes.py)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "dups.json"
        proc = subprocess.run(
            [str(python), "-c", _INSIDE, str(image_dir), str(out)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0 or not out.exists():
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise ImagededupUnavailable(f"imagededup failed in {python}: {last}")
        return json.loads(out.read_text())


def imagededup_groups(dups: dict[str, list[str]], root: str | os.PathLike[str]) -> list[Group]:
    """One two-member group per reported pair, one of them proposed for removal: imagededup reports
    pairs, not clusters, so its pairs are scored exactly as it gives them."""
    pairs = sorted({tuple(sorted((a, b))) for a, ds in dups.items() for b in ds if a != b})
    ids = {name: i for i, name in enumerate(sorted({n for p in pairs for n in p}), 1)}
    groups = []
    for a, b in pairs:
        members = [
            Member(ids[a], os.path.join(root, a), "folder", keep=True),
            Member(ids[b], os.path.join(root, b), "folder", keep=False),
        ]
        groups.append(Group(f"i{ids[a]}-{ids[b]}", "same", members))
    return groups


def evaluate(
    data_dir: str | os.PathLike[str],
    work_dir: str | os.PathLike[str],
    *,
    with_imagededup: bool = True,
    seed: int = 0,
    preset: str = "default",
    threshold: int | None = None,
    workers: int | None = None,
    matcher: Matcher | None = None,
    generated_sources: list[str] | None = None,
    imagededup_venv: Path | None = None,
) -> dict:
    """Score photodedup (and imagededup) on the known data and the generated set; plain data out.

    ``matcher`` replaces ``find_groups`` (tests); ``generated_sources`` a subset of the generated set's
    sources (tests). The generated set is cached in ``work_dir``.
    """
    if matcher is None:
        from photodedup.match.engine import find_groups

        def matcher(store):
            return find_groups(store, preset=preset, threshold=threshold)

    data_dir, work_dir = Path(data_dir), Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    result: dict = {
        "generator_version": VERSION,
        "seed": seed,
        "preset": preset,
        "threshold": threshold,
        "data_dir": str(data_dir),
        "sets": [],
    }
    with tempfile.TemporaryDirectory(prefix="evaluate-", dir=work_dir) as tmp:
        known = known_truth(data_dir)
        entry = {"name": "known", "title": f"Known relationships ({data_dir}, README section 3)"}
        entry["photodedup"] = _scan_and_match(known, Path(tmp), matcher, workers)
        result["sets"].append(entry)

        t0 = time.perf_counter()
        gen = build_generated_set(data_dir, work_dir, seed=seed, sources=generated_sources)
        entry = {
            "name": "generated",
            "title": f"Generated set ({len(gen.refs)} files, seed {seed}, {gen.root})",
            "build_seconds": round(time.perf_counter() - t0, 2),
        }
        entry["photodedup"] = _scan_and_match(gen, Path(tmp), matcher, workers)
        if with_imagededup:
            try:
                t0 = time.perf_counter()
                dups = run_imagededup(gen.root, imagededup_venv)
                entry["imagededup"] = {
                    "seconds": round(time.perf_counter() - t0, 2),
                    "score": score(imagededup_groups(dups, gen.root), gen, None),
                }
            except (ImagededupUnavailable, subprocess.TimeoutExpired) as e:
                entry["imagededup_note"] = str(e)
        else:
            entry["imagededup_note"] = "left out (with_imagededup=False)"
        result["sets"].append(entry)
    result["checks"] = _checks(result)
    result["passed"] = all(c["ok"] for c in result["checks"])
    return result


def _checks(result: dict) -> list[dict]:
    """The issue's acceptance criteria, each with its figure."""
    checks = []

    def check(name: str, what: str, value, ok: bool) -> None:
        checks.append({"set": name, "what": what, "value": value, "ok": ok})

    for s in result["sets"]:
        name, sc = s["name"], s["photodedup"]["score"]
        t, v = sc["target"], sc["violations"]
        if name == "generated":
            p = t["precision"]
            check(
                name,
                f"precision ≥ {TARGET_PRECISION} (same photo, not crops)",
                p,
                p is None or p >= TARGET_PRECISION,
            )
            check(
                name,
                f"recall ≥ {TARGET_RECALL} (same photo, not crops)",
                t["recall"],
                (t["recall"] or 0) >= TARGET_RECALL,
            )
        else:
            check(name, "every exact group and same-photo pair found", t["recall"], t["recall"] == 1.0)
            check(
                name,
                "no edit/original pair proposed for removal",
                v["edited_removal"],
                v["edited_removal"] == 0,
            )
        for rule in _HARD_RULES:
            check(name, f"no {_VIOLATION_NAMES[rule]}", v[rule], v[rule] == 0)
    return checks


# -- the report ---------------------------------------------------------------------------------------------
def _f(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _cells(row: dict | None) -> list[str]:
    if row is None:
        return ["", "", ""]
    if row["relation"] in POSITIVE:
        return [_f(row["precision"]), _f(row["recall"]), str(row["false"])]
    return ["—", "—", str(row["false"])]


def format_report(result: dict) -> str:
    """Markdown: one table per set (change, pairs, precision, recall, false pairs per tool), then the
    violations, the acceptance checks and timings. P = of the duplicate pairs proposed that involve a
    file with this change, the share that are one photo; R = share of the change's pairs grouped as
    exact/same; false = wrong proposals (for negative rows: removals proposed between them)."""
    out: list[str] = []
    for s in result["sets"]:
        pd = s["photodedup"]
        idd = s.get("imagededup")
        tools = ["photodedup"] + (["imagededup"] if idd else [])
        out.append(f"### {s['title']}")
        out.append("")
        head = ["change", "relation", "pairs"] + [f"{t} {c}" for t in tools for c in ("P", "R", "false")]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|")
        other = {r["kind"]: r for r in idd["score"]["kinds"]} if idd else {}
        for row in pd["score"]["kinds"]:
            cells = [row["kind"], row["relation"], "—" if row["pairs"] is None else str(row["pairs"])]
            cells += _cells(row)
            if idd:
                cells += _cells(other.get(row["kind"]))
            out.append("| " + " | ".join(cells) + " |")
        for label, key in (("**same photo (target)**", "target"), ("**all proposed pairs**", "overall")):
            cells = [label, "", str(pd["score"][key].get("pairs", ""))]
            for sc in [pd["score"]] + ([idd["score"]] if idd else []):
                t = sc[key]
                recall = _f(t["recall"]) if "recall" in t else ""
                cells += [
                    f"**{_f(t['precision'])}**",
                    f"**{recall}**" if recall else "",
                    str(t["predicted"] - t["correct"]),
                ]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
        for tool in tools:
            sc = s[tool]["score"]
            v = ", ".join(f"{_VIOLATION_NAMES[k]} {n}" for k, n in sc["violations"].items())
            out.append(f"- {tool} violations: {v}")
        live = pd["score"]["live_together"]
        if live["pairs"]:
            together = f"{live['together']}/{live['pairs']}"
            out.append(f"- Live pairs kept together (one unit group, or member and companion): {together}")
        sec = pd["seconds"]
        line = (
            f"- photodedup: {pd['items']} items ({pd['failed']} unreadable), scan {sec['scan']} s, "
            f"match {sec['match']} s, {pd['groups']} groups {pd['groups_by_kind']}"
        )
        out.append(line)
        if idd:
            out.append(f"- imagededup PHash().find_duplicates, default threshold 10: {idd['seconds']} s")
        elif "imagededup_note" in s:
            out.append(f"- imagededup not run: {s['imagededup_note']}")
        out.append("")
    out.append("### Acceptance")
    out.append("")
    for c in result["checks"]:
        value = _f(c["value"]) if isinstance(c["value"], float) or c["value"] is None else str(c["value"])
        out.append(f"- [{'x' if c['ok'] else ' '}] {c['set']}: {c['what']} — {value}")
    out.append("")
    out.append(f"**{'PASSED' if result['passed'] else 'NOT MET'}**")
    return "\n".join(out) + "\n"
