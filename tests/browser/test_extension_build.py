"""``extension/build.mjs``: one source tree, a manifest per browser, zip packages, web-ext lint as a gate."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile

import pytest
from browser_harness import EXTENSION, chromium_id_from_key, extension_ids, run_build

pytestmark = pytest.mark.timeout(240)

HOST_SITES = {"https://photos.google.com/*", "https://www.icloud.com/photos/*"}


@pytest.fixture(scope="module")
def full_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    proc = run_build(out)
    return out, proc.stdout


def manifest(path) -> dict:
    return json.loads(path.read_text())


def test_build_lints_clean_and_packages_both_browsers(full_build):
    out, log = full_build
    assert "web-ext lint: 0 errors, 0 warnings" in log
    version = json.loads((EXTENSION / "package.json").read_text())["version"]
    for browser in ("chrome", "firefox"):
        unpacked = {
            p.relative_to(out / browser).as_posix() for p in (out / browser).rglob("*") if p.is_file()
        }
        sources = {
            p.relative_to(EXTENSION / "src").as_posix() for p in (EXTENSION / "src").rglob("*") if p.is_file()
        }
        assert unpacked == sources | {"manifest.json"}
        with zipfile.ZipFile(out / f"photodedup-{browser}-{version}.zip") as z:
            assert set(z.namelist()) - {n for n in z.namelist() if n.endswith("/")} == unpacked
            packaged = json.loads(z.read("manifest.json"))
        if browser == "chrome":
            # The store refuses a manifest with `key`; only the unpacked development build has it.
            assert "key" not in packaged
            assert packaged == {
                k: v for k, v in manifest(out / "chrome" / "manifest.json").items() if k != "key"
            }
        else:
            assert packaged == manifest(out / "firefox" / "manifest.json")


def test_chrome_manifest(full_build):
    out, _ = full_build
    m = manifest(out / "chrome" / "manifest.json")
    ids = extension_ids()
    assert m["manifest_version"] == 3
    assert m["background"] == {"service_worker": "background/main.js", "type": "module"}
    assert "browser_specific_settings" not in m
    assert chromium_id_from_key(m["key"]) == ids["chrome"]["ids"][0] == "mfdjbhednihcalhmjgkkbpnjiidokeoi"
    assert "nativeMessaging" in m["permissions"]
    matches = {p for cs in m["content_scripts"] for p in cs["matches"]}
    assert matches >= HOST_SITES
    icloud = next(cs for cs in m["content_scripts"] if "https://www.icloud.com/photos/*" in cs["matches"])
    assert icloud["all_frames"] is True  # iCloud's grid lives in an iframe


def test_firefox_manifest(full_build):
    out, _ = full_build
    m = manifest(out / "firefox" / "manifest.json")
    assert m["background"] == {"scripts": ["background/main.js"], "type": "module"}
    assert "key" not in m
    gecko = m["browser_specific_settings"]["gecko"]
    assert gecko["id"] == extension_ids()["firefox"]["ids"][0] == "photodedup@photodedup.org"
    assert gecko["strict_min_version"] == "140.0"
    assert gecko["data_collection_permissions"] == {"required": ["none"]}
    assert {p for cs in m["content_scripts"] for p in cs["matches"]} >= HOST_SITES


def test_lint_gate_catches_a_problem(full_build, tmp_path):
    """The lint step really fails a build: a Firefox manifest that still names a service worker is refused."""
    out, _ = full_build
    broken = tmp_path / "firefox"
    shutil.copytree(out / "firefox", broken)
    m = manifest(broken / "manifest.json")
    m["background"]["service_worker"] = "background/main.js"
    (broken / "manifest.json").write_text(json.dumps(m))
    script = (
        f"import {{lint}} from {json.dumps((EXTENSION / 'build.mjs').as_uri())};"
        f"lint({json.dumps(str(broken))}).then(() => process.exit(0),"
        " (e) => { console.error(e.message); process.exit(3); });"
    )
    proc = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "BACKGROUND_SERVICE_WORKER_IGNORED" in proc.stderr


def test_build_refuses_unknown_arguments(tmp_path):
    proc = subprocess.run(
        ["node", str(EXTENSION / "build.mjs"), "--browser", "safari", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "unknown browser safari" in proc.stderr
    assert not any(tmp_path.iterdir())
