"""Bad input gets a clear reason, is recorded, and the scan goes on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

from photodedup.scan.engine import ScanOptions, scan
from photodedup.store.db import Store


def build(folder: Path, data_dir: Path) -> None:
    folder.mkdir()
    good = data_dir / "near-duplicates/imagededup/base_images/ukbench09012.jpg"
    shutil.copy(good, folder / "good.jpg")
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("hello, I am not a photo\n")
    shutil.copy(data_dir / "corrupt/ukbench00120_truncated.jpg", folder / "truncated.jpg")
    shutil.copy(data_dir / "corrupt/sample_still_photo_heic_bytes.jpg", folder / "really_heic.jpg")
    shutil.copy(data_dir / "corrupt/sample_truncated.mp4", folder / "truncated.mp4")
    # A name that is not UTF-8 (Latin-1 'é'), as old cameras and zip files leave them.
    odd = os.path.join(os.fsencode(folder), b"caf\xe9.jpg")
    shutil.copy(good, odd)
    # A decompression bomb: 25,000 x 20,000 one-bit pixels in a few kilobytes.
    Image.new("1", (25_000, 20_000)).save(folder / "bomb.png")


def test_each_bad_file_is_recorded_and_the_scan_goes_on(tmp_path, data_dir):
    build(tmp_path / "in", data_dir)
    store = Store(tmp_path / "s.db")
    report = scan([str(tmp_path / "in")], store, ScanOptions(workers=2))
    rows = {os.path.basename(r["path"]): r for r in store.items()}
    assert rows["good.jpg"]["status"] == "ok"
    assert rows["zero.jpg"]["error"] == "empty file (0 bytes)"
    assert "plain text" in rows["text.jpg"]["error"]
    assert "truncated" in rows["truncated.jpg"]["error"].lower()
    assert rows["really_heic.jpg"]["status"] == "ok" and rows["really_heic.jpg"]["format"] == "HEIF"
    assert "pixels" in rows["bomb.png"]["error"] and "200,000,000" in rows["bomb.png"]["error"]
    odd = rows["caf\\xe9.jpg"]
    assert odd["status"] == "ok" and odd["key"] == os.path.join(os.fsencode(tmp_path / "in"), b"caf\xe9.jpg")
    assert odd["phash"] == rows["good.jpg"]["phash"]
    failed = {os.path.basename(p) for p, _ in report.failures}
    assert {"zero.jpg", "text.jpg", "truncated.jpg", "bomb.png"} <= failed
    assert report.failed == len(report.failures)


def test_file_vanishing_mid_scan(tmp_path, data_dir):
    folder = tmp_path / "in"
    folder.mkdir()
    src = data_dir / "near-duplicates/imagededup/base_images"
    names = sorted(os.listdir(src))[:5]
    for name in names:
        shutil.copy(src / name, folder / name)
    store = Store(tmp_path / "s.db")

    def vanish(done, total, path):
        if done == 1:  # the walk has listed every file; take one away before it is read
            (folder / names[-1]).unlink()

    report = scan([str(folder)], store, ScanOptions(workers=1), on_progress=vanish)
    assert [(os.path.basename(p), r) for p, r in report.failures] == [
        (names[-1], "file vanished during the scan")
    ]
    assert report.new == 5


def _drop_root_file_override() -> None:
    """Root reads any file; without CAP_DAC_OVERRIDE/READ_SEARCH it obeys permissions like anyone."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP: gone from the exec'd process
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_unreadable_file(data_dir):
    """Permissions: run the real CLI as an unprivileged user when the tests run as root."""
    base = Path(tempfile.mkdtemp(prefix="photodedup-perm-"))
    try:
        os.chmod(base, 0o777)  # reachable and writable by the unprivileged user
        folder = base / "in"
        folder.mkdir()
        shutil.copy(data_dir / "near-duplicates/imagededup/base_images/ukbench09012.jpg", folder / "ok.jpg")
        shutil.copy(
            data_dir / "near-duplicates/imagededup/base_images/ukbench09040.jpg", folder / "locked.jpg"
        )
        os.chmod(folder / "locked.jpg", 0)
        os.chmod(folder / "ok.jpg", 0o644)
        os.chmod(folder, 0o755)
        db = base / "s.db"
        kwargs = {"preexec_fn": _drop_root_file_override} if os.geteuid() == 0 else {}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "photodedup",
                "scan",
                str(folder),
                "--db",
                str(db),
                "-q",
                "--workers",
                "1",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "HOME": str(base)},
            cwd=base,
            **kwargs,
        )
        assert result.returncode == 1, result.stderr
        assert "locked.jpg: permission denied: cannot read the file" in result.stderr
        store = Store(db)
        rows = {os.path.basename(r["path"]): r for r in store.items()}
        assert rows["ok.jpg"]["status"] == "ok" and rows["locked.jpg"]["status"] == "error"
        store.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)
