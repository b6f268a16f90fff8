"""Background scan jobs: a re-scan of sources already in the store, in its own process.

The browser may end the host at any moment (``sendNativeMessage`` starts one host per message), so the job
is a separate process in its own session with a fixed argv (no shell, nothing from the message but source
ids, which it reads back from the store). Its progress lives in the store's ``jobs`` table, where the host's
``scan.progress`` and the CLI's ``photodedup status`` both read it. One scan job runs at a time.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from photodedup.nativehost.library import Library, source_name
from photodedup.nativehost.protocol import HostError, Job

__all__ = ["job_view", "reap", "start_scan"]

log = logging.getLogger(__name__)

_children: list[subprocess.Popen] = []


def reap() -> None:
    """Collect finished job processes, so a dead job never looks alive as a zombie."""
    for proc in list(_children):
        if proc.poll() is not None:
            _children.remove(proc)


def job_view(row: dict) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        done=row["done"] or 0,
        total=row["total"],
        errors=row["errors"] or 0,
        started=row["started"],
        finished=row["finished"],
        message=row["message"],
    )


def start_scan(library: Library, source_ids: list[int] | None) -> Job:
    reap()
    store = library.store
    sources = library.sources()
    if not sources:
        raise HostError(
            "not_found", "the library has no sources yet: scan a folder with `photodedup scan` first"
        )
    ids = sorted(set(source_ids)) if source_ids else sorted(sources)
    unknown = [i for i in ids if i not in sources]
    if unknown:
        raise HostError("not_found", f"no source {', '.join(map(str, unknown))} in the library")
    running = [j for j in store.jobs(limit=20) if j["kind"] == "scan" and j["status"] == "running"]
    if running:
        return job_view(running[0])
    names = ", ".join(source_name(sources[i]["root"]) for i in ids)
    job_id = store.create_job("scan", {"source_ids": ids}, message=f"starting a re-scan of {names}")
    # -P: the job's working folder (home) is not put on the import path.
    argv = [sys.executable, "-P", "-m", "photodedup.nativehost.scanjob", "--db", os.path.abspath(store.path)]
    argv += ["--job", str(job_id)]
    try:
        proc = subprocess.Popen(argv, **_detached())
    except OSError as e:
        store.update_job(job_id, status="failed", message=f"the scan could not start: {e}")
        raise HostError("internal", f"the scan could not start: {e}") from e
    _children.append(proc)
    store.update_job(job_id, pid=proc.pid)
    log.info("scan job %d started as process %d", job_id, proc.pid)
    return job_view(store.job(job_id))


def _detached() -> dict:
    """Own session and no inherited pipes: the job outlives the host, and never writes into the browser's
    stdout (that would corrupt the frames) or a stderr pipe the browser may close."""
    kwargs: dict = {
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
        "close_fds": True,
        "cwd": os.path.expanduser("~"),
    }
    if os.name == "posix":
        kwargs["start_new_session"] = True
    else:
        kwargs["creationflags"] = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
    return kwargs
