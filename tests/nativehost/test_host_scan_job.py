"""scan.start / scan.progress: a real background re-scan in its own process, seen by `photodedup status`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import time
from pathlib import Path

from nativehost_testkit import Host, clean_env, run_cli, scan_store

B = "near-duplicates/imagededup/base_images/"
FILES = {"a/ukbench00120.jpg": B + "ukbench00120.jpg", "a/ukbench01380.jpg": B + "ukbench01380.jpg"}


def wait_for(host: Host, job_id: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        job = host.call("scan.progress", {"job_id": job_id})["job"]
        seen.append(job)
        if job["status"] != "running":
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still running after {timeout} s: {seen[-3:]}")


def cli_jobs(tmp, db) -> list[dict]:
    r = run_cli("status", "--db", str(db), env=clean_env(tmp))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.split("\n", 1)[1])["jobs"]


def test_a_scan_job_rescans_the_sources_and_the_cli_sees_it(tmp_path, data_dir):
    folder, db = scan_store(tmp_path, data_dir, FILES)
    for k in range(5):  # new photos since the last scan
        shutil.copyfile(data_dir / B / f"ukbench0{9012 + 28 * (k % 2)}.jpg", folder / f"a/new{k}.jpg")
    shutil.copyfile(data_dir / "media/heic/IMG_0102.HEIC", folder / "a/new.heic")
    (folder / "a/ukbench01380.jpg").unlink()  # and one gone
    with Host(tmp_path, db=db) as host:
        before = host.call("status")
        assert before["items"]["total"] == 2 and before["jobs"] == []
        job = host.call("scan.start")["job"]
        assert job["kind"] == "scan" and job["status"] == "running" and job["finished"] is None
        assert host.call("scan.start")["job"]["id"] == job["id"]  # one scan at a time: the same job
        done = wait_for(host, job["id"])
        assert done["status"] == "complete" and done["finished"] and done["errors"] == 0
        assert done["done"] == done["total"] == 6  # the six new files were fingerprinted
        assert "6 new" in done["message"] and "1 gone" in done["message"]
        after = host.call("status")
        assert after["items"]["total"] == 7 and after["items"]["gone"] == 1
        assert after["jobs"][0] == done and after["last_scan"]["id"] > before["last_scan"]["id"]
        assert after["sources"][0]["items"] == 7
        groups = host.call("groups.list")  # the new copies are grouped: the store changed under the host
        assert {g["size"] for g in groups["groups"]} == {3, 2}
        assert host.close() == 0
    jobs = cli_jobs(tmp_path, db)
    assert [(j["id"], j["status"], j["done"], j["total"], j["message"]) for j in jobs] == [
        (done["id"], "complete", 6, 6, done["message"])
    ]


def test_the_job_outlives_the_host(tmp_path, data_dir):
    """sendNativeMessage starts a host per message: the scan must go on after the host has exited."""
    folder, db = scan_store(tmp_path, data_dir, FILES)
    shutil.copyfile(data_dir / B / "ukbench09060.jpg", folder / "a/new.jpg")
    with Host(tmp_path, db=Path(db.name), cwd=db.parent) as host:  # a relative --db works for the job too
        job = host.call("scan.start", {"source_ids": [1]})["job"]
        assert host.close() == 0
    deadline = time.monotonic() + 120
    while (jobs := cli_jobs(tmp_path, db))[0]["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.3)
    assert jobs[0]["id"] == job["id"] and jobs[0]["status"] == "complete", jobs
    assert "1 new" in jobs[0]["message"]


def test_a_killed_job_is_reported_interrupted(tmp_path, data_dir):
    _folder, db = scan_store(tmp_path, data_dir, FILES)
    with Host(tmp_path, db=db) as host:
        job = host.call("scan.start")["job"]
        with sqlite3.connect(db) as conn:
            (pid,) = conn.execute("SELECT pid FROM jobs WHERE id = ?", [job["id"]]).fetchone()
        os.kill(pid, signal.SIGKILL)
        done = wait_for(host, job["id"], timeout=30)
        assert done["status"] == "interrupted" and done["finished"]
        assert host.close() == 0
    assert cli_jobs(tmp_path, db)[0]["status"] == "interrupted"


def test_scan_start_names_only_known_sources(tmp_path, data_dir):
    with Host(tmp_path, db=tmp_path / "empty.db") as host:
        err = host.error("scan.start")
        assert err["code"] == "not_found" and "photodedup scan" in err["message"]
        assert host.error("scan.progress", {"job_id": 1})["code"] == "not_found"
        assert host.close() == 0
    _folder, db = scan_store(tmp_path, data_dir, FILES)
    with Host(tmp_path, db=db) as host:
        assert host.error("scan.start", {"source_ids": [1, 7]})["code"] == "not_found"
        assert host.error("scan.start", {"source_ids": []})["code"] == "bad_args"
        assert host.call("status")["jobs"] == []
        assert host.close() == 0


def test_a_source_that_vanished_fails_the_job_with_a_reason(tmp_path, data_dir):
    folder, db = scan_store(tmp_path, data_dir, FILES)
    shutil.rmtree(folder)
    with Host(tmp_path, db=db) as host:
        job = host.call("scan.start")["job"]
        done = wait_for(host, job["id"])
        assert done["status"] == "failed" and "no source can be reached" in done["message"]
        assert host.call("status")["items"]["gone"] == 0  # nothing was marked gone by a failed job
        assert host.close() == 0
