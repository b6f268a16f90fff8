"""The photodedup command as scripts use it: real processes, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from photodedup.cli import cli

CMD = [sys.executable, "-m", "photodedup"]


def run(*args, **kw):
    return subprocess.run([*CMD, *args], capture_output=True, text=True, **kw)


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_subcommand_has_help(command):
    r = run(command, "--help")
    assert r.returncode == 0 and "Usage:" in r.stdout and len(r.stdout) > 100


def test_help_is_fast_and_imports_nothing_heavy():
    code = (
        "import sys, time; t=time.perf_counter(); from photodedup.cli import cli; "
        "heavy=[m for m in ('numpy','PIL','osxphotos','av','scipy') if m in sys.modules]; "
        "print(heavy, time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    heavy, _ = out.rsplit(" ", 1)
    assert heavy.strip() == "[]"
    t0 = time.perf_counter()
    assert run("--help").returncode == 0
    assert time.perf_counter() - t0 < 5


def test_usage_errors_exit_2(tmp_path):
    assert run("scan").returncode == 2
    r = run("scan", str(tmp_path / "missing"), "--db", str(tmp_path / "s.db"))
    assert r.returncode == 2 and "no such file or folder" in r.stderr
    assert run("scan", str(tmp_path), "--workers", "0").returncode == 2


def test_scan_exit_codes_and_report(tmp_path, data_dir):
    db = tmp_path / "s.db"
    good = data_dir / "near-duplicates/imagededup/base_images"
    r = run("scan", str(good), "--db", str(db))
    assert r.returncode == 0, r.stderr
    assert "10 new" in r.stdout
    r = run("scan", str(data_dir / "corrupt"), "--db", str(db))
    assert r.returncode == 1 and "empty file (0 bytes)" in r.stderr
    r = run("report", "--db", str(db), "--format", "json")
    assert r.returncode == 0
    data = json.loads(r.stdout)
    assert data["by_status"]["ok"] >= 10 and data["failures"]


def test_fatal_store_error_exits_3(tmp_path):
    bad = tmp_path / "not-a-db.db"
    bad.write_text("this is not sqlite" * 100)
    r = run("status", "--db", str(bad))
    assert r.returncode == 3 and "cannot use" in r.stderr


def test_hash_prints_fingerprints_without_a_store(tmp_path, data_dir):
    f = data_dir / "media/heic/IMG_0102.HEIC"
    r = run("hash", str(f), "--format", "json", env={"PHOTODEDUP_DB": str(tmp_path / "never.db"), "PATH": ""})
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["format"] == "HEIF" and len(out["hashes"]["phash"]) == 16 and out["digests"]["blake3"]
    assert not (tmp_path / "never.db").exists()
    r = run("hash", str(data_dir / "corrupt/empty.jpg"), "--format", "json")
    assert r.returncode == 1 and json.loads(r.stdout)["error"] == "empty file (0 bytes)"


def test_db_env_var_is_honoured(tmp_path, data_dir):
    db = tmp_path / "env.db"
    import os

    r = run("scan", str(data_dir / "media/burst"), env={**os.environ, "PHOTODEDUP_DB": str(db)})
    assert r.returncode == 0, r.stderr
    assert db.exists()
