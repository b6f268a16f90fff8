"""What the browser tests share: where the browsers and the extension are, building it, stores made by real
scans, registering the real host with ``photodedup install-host``, and the served stand-in for the photo site.
A missing browser, node or npm package FAILS the test (``scripts/setup --dev`` installs them all)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "extension"
CHROMIUM = Path("/usr/lib/chromium/chromium")  # not /usr/bin/chromium: Debian's wrapper adds flags
FIREFOX = Path("/usr/bin/firefox-esr")
PHOTODEDUP = Path(sys.executable).with_name("photodedup")

# Chromium: no background traffic, no component or variations downloads, and every host name resolves to
# nothing, so a request the test does not serve fails instead of leaving the machine.
CHROMIUM_QUIET = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def need(ok: bool, what: str) -> None:
    if not ok:
        pytest.fail(f"{what} is missing: run scripts/setup --dev", pytrace=False)


def extension_ids() -> dict:
    return json.loads((REPO / "manifests" / "extension-ids.json").read_text())


def chromium_id_from_key(key_b64: str) -> str:
    """Chromium's extension id for a manifest ``key``: SHA-256 of the DER public key, first 32 hex digits
    written with the letters a–p."""
    digest = hashlib.sha256(base64.b64decode(key_b64)).hexdigest()[:32]
    return "".join(chr(ord("a") + int(c, 16)) for c in digest)


def run_build(out: Path, *args: str) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    need(node is not None, "node")
    major_js = "process.versions.node.split('.')[0]"
    major = subprocess.run([node, "-p", major_js], capture_output=True, text=True)
    need(major.returncode == 0 and int(major.stdout) >= 20, "Node.js 20 or newer")
    need((EXTENSION / "node_modules" / "web-ext").is_dir(), "extension/node_modules (npm ci)")
    proc = subprocess.run(
        ["node", str(EXTENSION / "build.mjs"), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, f"build failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def scan(db: Path, *paths: Path) -> None:
    proc = subprocess.run(
        [str(PHOTODEDUP), "scan", "--db", str(db), "-q", "--workers", "1", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr


def cli_json(*args: str) -> dict | list:
    """A CLI command's JSON output (``status`` prints a "store:" line before it)."""
    proc = subprocess.run([str(PHOTODEDUP), *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    return json.loads(text[min(i for i in (text.find("{"), text.find("[")) if i >= 0) :])


def install_host(home: Path, db: Path, *args: str) -> None:
    """``photodedup install-host`` into a private HOME, with the store baked into the launcher."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env["HOME"] = str(home)
    proc = subprocess.run(
        [str(PHOTODEDUP), "install-host", "--db", str(db), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, f"install-host failed:\n{proc.stdout}\n{proc.stderr}"


@dataclass
class PhotoSite:
    """What the routed web serves: photos.google.com's page (any path), other pages and thumbnails by URL
    (without the query)."""

    html: str = "<!doctype html><title>Google Photos</title>"
    pages: dict[str, str] = field(default_factory=dict)
    thumbs: dict[str, bytes] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    thumb_requests: list[str] = field(default_factory=list)


@dataclass
class Chromium:
    context: object  # playwright BrowserContext
    extension_id: str
    site: PhotoSite
    udd: Path

    def page_url(self, path: str) -> str:
        return f"chrome-extension://{self.extension_id}/{path}"
