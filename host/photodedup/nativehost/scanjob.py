"""The process behind a ``scan.start`` job: re-scan the job's sources and keep its progress in the store.

Started by the host as ``python -m photodedup.nativehost.scanjob --db STORE --job ID``; everything else
(which sources) is read from the job's row. A heartbeat thread stamps the row every few seconds, so a job
whose process died is seen as interrupted by whoever reads it next.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # as the CLI: workers, not BLAS
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sqlite3  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

__all__ = ["main"]

_HEARTBEAT_SECONDS = 5.0
_PROGRESS_SECONDS = 0.5


def _heartbeat(db: str, job_id: int, stop: threading.Event) -> None:
    from photodedup.store.db import now

    conn = sqlite3.connect(db, timeout=30)
    try:
        while not stop.wait(_HEARTBEAT_SECONDS):
            with conn:
                conn.execute(
                    "UPDATE jobs SET heartbeat = ? WHERE id = ? AND status = 'running'", [now(), job_id]
                )
    except sqlite3.Error:
        pass
    finally:
        conn.close()


def run(db: str, job_id: int) -> int:
    from photodedup.scan.engine import ScanOptions, scan
    from photodedup.store.db import Store, now

    store = Store(db)
    job = store.job(job_id)
    if job is None or job["status"] != "running":
        return 2
    store.update_job(job_id, pid=os.getpid(), heartbeat=now(), message="collecting the sources' files")
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(db, job_id, stop), daemon=True)
    beat.start()
    try:
        ids = json.loads(job["args"] or "{}").get("source_ids") or []
        roots = [store.source(i)["root"] for i in ids]
        missing = [r for r in roots if not os.path.exists(r)]
        present = [r for r in roots if os.path.exists(r)]
        if not present:
            store.update_job(
                job_id,
                status="failed",
                finished=now(),
                message=f"no source can be reached: {', '.join(missing)}",
            )
            return 1
        last = 0.0

        def progress(done: int, total: int, path: str) -> None:
            nonlocal last
            t = time.monotonic()
            if done == total or t - last >= _PROGRESS_SECONDS:
                last = t
                store.update_job(job_id, done=done, total=total, message=f"fingerprinting {done} of {total}")

        report = scan(present, store, ScanOptions(), on_progress=progress)
        summary = (
            f"scanned {report.seen} items: {report.new} new, {report.updated} updated, {report.unchanged} "
            f"unchanged, {report.moved} moved, {report.gone} gone, {report.failed} failed"
        )
        if missing:
            summary += f"; not reachable: {', '.join(missing)}"
        store.update_job(
            job_id,
            status="complete",
            finished=now(),
            errors=report.failed,
            scan_id=report.scan_id,
            message=summary,
        )
        return 0
    except BaseException as e:
        store.update_job(
            job_id, status="failed", finished=now(), message=f"the scan failed: {type(e).__name__}: {e}"
        )
        raise
    finally:
        stop.set()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m photodedup.nativehost.scanjob")
    parser.add_argument("--db", required=True)
    parser.add_argument("--job", type=int, required=True)
    ns = parser.parse_args(argv)
    sys.exit(run(ns.db, ns.job))


if __name__ == "__main__":
    main()
