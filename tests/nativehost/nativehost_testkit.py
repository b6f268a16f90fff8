"""Talk to the real ``photodedup-host`` over pipes, as a browser does, and build real stores for it."""

from __future__ import annotations

import json
import os
import select
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IDS = json.loads((REPO / "manifests" / "extension-ids.json").read_text())
CHROME_ID = IDS["chrome"]["ids"][0]
FIREFOX_ID = IDS["firefox"]["ids"][0]
ORIGIN = f"chrome-extension://{CHROME_ID}/"
HOST = [sys.executable, "-m", "photodedup.nativehost"]
CLI = [sys.executable, "-m", "photodedup"]
LIMIT = 900_000  # every reply must stay under this (Chromium drops the port above 1 MiB)


def clean_env(tmp: Path, **extra: str) -> dict:
    """The test's own config folder (no host.json or keeper config of the machine), nothing inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTODEDUP_")}
    env["XDG_CONFIG_HOME"] = str(tmp / "config")
    env.update(extra)
    return env


def frame(obj) -> bytes:
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return struct.pack("=I", len(body)) + body


class Host:
    """One host process; ``call`` sends a request and returns the reply, checking the frame is whole."""

    def __init__(
        self,
        tmp: Path,
        *caller: str,
        db: Path | None = None,
        env: dict | None = None,
        bare: bool = False,
        cwd: Path | None = None,
    ):
        """``caller``: the browser's arguments (default: the shipped Chromium extension); ``bare``: none."""
        args = [*HOST, *(["--db", str(db)] if db else []), *(caller if caller or bare else (ORIGIN,))]
        self.stderr_path = tmp / f"host-stderr-{time.monotonic_ns()}.txt"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env if env is not None else clean_env(tmp),
            cwd=cwd,
        )
        self.sizes: list[int] = []  # body size of every reply received
        self._next = 0

    def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def _read(self, n: int, timeout: float) -> bytes:
        fd = self.proc.stdout.fileno()
        out = b""
        deadline = time.monotonic() + timeout
        while len(out) < n:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"no reply within {timeout} s; stderr: {self.stderr()[-2000:]}")
            chunk = os.read(fd, n - len(out))
            if not chunk:
                raise EOFError(
                    f"host closed stdout after {len(out)} of {n} bytes; stderr: {self.stderr()[-2000:]}"
                )
            out += chunk
        return out

    def recv(self, timeout: float = 120) -> dict:
        (n,) = struct.unpack("=I", self._read(4, timeout))
        body = self._read(n, timeout)
        self.sizes.append(n)
        return json.loads(body.decode("utf-8"))

    def request(self, cmd: str, args: dict | None = None, **kw) -> dict:
        """Send one request and return the whole reply (ok or not), checking its id."""
        self._next += 1
        rid = self._next
        message = {"id": rid, "cmd": cmd}
        if args is not None:
            message["args"] = args
        self.send(frame(message))
        reply = self.recv(**kw)
        assert reply["id"] == rid, reply
        return reply

    def call(self, cmd: str, args: dict | None = None, **kw) -> dict:
        reply = self.request(cmd, args, **kw)
        assert reply["ok"] is True, reply
        return reply["result"]

    def error(self, cmd: str, args: dict | None = None) -> dict:
        reply = self.request(cmd, args)
        assert reply["ok"] is False and set(reply) == {"id", "ok", "error"}, reply
        return reply["error"]

    def close(self, timeout: float = 30) -> int:
        """Close stdin as the browser does; the host must then exit, with nothing left on stdout."""
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        rest = self.proc.stdout.read()
        code = self.proc.wait(timeout)
        self._stderr.close()
        assert rest == b"", f"stray bytes on stdout after the last reply: {rest[:200]!r}"
        return code

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def __enter__(self) -> Host:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            try:
                self.close()
            except Exception:
                self.proc.kill()
                self.proc.wait()


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=300)


def scan_store(tmp: Path, data_dir: Path, files: dict[str, str], name: str = "library") -> tuple[Path, Path]:
    """Copy ``files`` (name -> path in the test data) into a folder and `photodedup scan` it for real."""
    folder = tmp / name
    for target, source in files.items():
        dest = folder / target
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data_dir / source, dest)
    db = tmp / "store.db"
    r = run_cli("scan", str(folder), "--db", str(db), "-q", env=clean_env(tmp))
    assert r.returncode in (0, 1), r.stderr
    return folder, db
