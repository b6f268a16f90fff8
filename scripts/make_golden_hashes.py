"""Write tests/golden/imagededup_hashes.json with the REAL imagededup 0.3 over the test data.

Our perceptual hashes must match imagededup bit for bit in exact mode, so the reference values come from
imagededup itself, never from our own code. imagededup's hash classes import torch only through
``imagededup.methods.cnn`` and ``imagededup.utils.models``; torch + torchvision would cost ~5.5 GB, so
the script installs imagededup ``--no-deps`` (plus the few packages its hashing path imports) into a
throwaway venv and pre-registers those two modules as stand-ins in ``sys.modules``. (pip then prints
that imagededup requires torch, which is not installed: expected.)

Pillow, numpy, scipy and PyWavelets are pinned to the versions of the interpreter running this script (the
project venv): JPEG decoding and LANCZOS resizing can change between Pillow releases, and the golden values
must describe the Pillow the project runs with.

Usage (re-runnable; the venv is created once and reused):

    .venv/bin/python scripts/make_golden_hashes.py [--data DIR] [--venv DIR] [--out FILE]

Defaults: data = ../shared/data next to the repo (or $PHOTODEDUP_TEST_DATA), venv =
$XDG_CACHE_HOME/photodedup/imagededup-venv (~/.cache/...), out = tests/golden/imagededup_hashes.json.
Equivalent manual setup of the venv:

    python3 -m venv ~/.cache/photodedup/imagededup-venv
    ~/.cache/photodedup/imagededup-venv/bin/pip install --no-deps imagededup==0.3.3.post2
    ~/.cache/photodedup/imagededup-venv/bin/pip install numpy==<ver> scipy==<ver> PyWavelets==<ver> \
        Pillow==<ver> scikit-learn tqdm matplotlib
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMAGEDEDUP_VERSION = "0.3.3.post2"
PINNED_FROM_HOST = ("numpy", "scipy", "PyWavelets", "Pillow")
UNPINNED = ("scikit-learn", "tqdm", "matplotlib")


def _default_data() -> Path:
    env = os.environ.get("PHOTODEDUP_TEST_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def _default_venv() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "photodedup" / "imagededup-venv"


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _ensure_venv(venv: Path) -> Path:
    """Create the throwaway venv and install imagededup without torch (idempotent)."""
    python = _venv_python(venv)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pins = [f"{name}=={metadata.version(name)}" for name in PINNED_FROM_HOST]
    wanted = [f"imagededup=={IMAGEDEDUP_VERSION}", *pins]
    check = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m, sys; "
         "print(' '.join(f'{n}=={m.version(n)}' for n in sys.argv[1:]))",
         *[w.split("==")[0] for w in wanted], *UNPINNED],
        capture_output=True, text=True,
    )  # fmt: skip
    have = set(check.stdout.split()) if check.returncode == 0 else set()
    if not set(wanted) <= have:
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--no-deps", f"imagededup=={IMAGEDEDUP_VERSION}"], check=True)
        subprocess.run([*pip, *pins, *UNPINNED], check=True)
    return python


def _stub_torch_modules() -> None:
    """Stand-ins for the two imagededup modules that import torch; the hash classes never use them."""
    cnn = types.ModuleType("imagededup.methods.cnn")
    cnn.CNN = None  # type: ignore[attr-defined]
    models = types.ModuleType("imagededup.utils.models")
    models.CustomModel = None  # type: ignore[attr-defined]
    sys.modules["imagededup.methods.cnn"] = cnn
    sys.modules["imagededup.utils.models"] = models


def _run_inside(data: Path, out: Path) -> None:
    """Runs in the throwaway venv: hash every file imagededup accepts."""
    import logging

    _stub_torch_modules()
    from imagededup.methods import AHash, DHash, PHash, WHash

    logging.disable(logging.WARNING)  # imagededup logs a warning per rejected (non-image) file
    encoders = {
        "phash": PHash(verbose=False),
        "ahash": AHash(verbose=False),
        "dhash": DHash(verbose=False),
        "whash": WHash(verbose=False),
    }
    hashes: dict[str, dict[str, str]] = {}
    skipped: list[str] = []
    for path in sorted(p for p in data.rglob("*") if p.is_file()):
        rel = path.relative_to(data).as_posix()
        row = {name: enc.encode_image(image_file=str(path)) for name, enc in encoders.items()}
        if all(isinstance(v, str) for v in row.values()):
            hashes[rel] = row
        else:
            skipped.append(rel)
    doc = {
        "meta": {
            "generator": "scripts/make_golden_hashes.py",
            "imagededup": metadata.version("imagededup"),
            **{name: metadata.version(name) for name in PINNED_FROM_HOST},
            "note": "hashes from imagededup {P,A,D,W}Hash().encode_image(image_file=...); "
            "keys of 'hashes' are paths relative to the test data folder; files imagededup rejects "
            "(HEIC, videos, corrupt, non-images) are absent",
        },
        "hashes": hashes,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(hashes)} files to {out} ({len(skipped)} files rejected by imagededup)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=_default_data())
    parser.add_argument("--venv", type=Path, default=_default_venv())
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "golden" / "imagededup_hashes.json")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data, out = args.data.resolve(), args.out.resolve()
    if args.inside:
        _run_inside(data, out)
        return
    python = _ensure_venv(args.venv)
    cmd = [str(python), str(Path(__file__).resolve()), "--inside", "--data", str(data), "--out", str(out)]
    subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
