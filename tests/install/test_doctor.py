"""`photodedup doctor` against a real install: green with a real hello through the launcher, red with a
clear reason and fix after each way of breaking it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from photodedup.install.doctor import hello

CMD = [sys.executable, "-m", "photodedup"]
IDS = json.loads((Path(__file__).resolve().parents[2] / "manifests" / "extension-ids.json").read_text())
CHROME_ID = IDS["chrome"]["ids"][0]
NAME = "org.photodedup.host.json"
CHROMIUM = Path(".config/chromium/NativeMessagingHosts") / NAME
FIREFOX = Path(".mozilla/native-messaging-hosts") / NAME
LAUNCHER = Path(".local/share/photodedup/native-host/photodedup-host")


@pytest.fixture
def env(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "bin").mkdir()
    e = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PHOTODEDUP_"))}
    e.update(
        HOME=str(tmp_path / "home"),
        PATH=str(tmp_path / "bin"),
        PHOTODEDUP_INSTALL_ROOT=str(tmp_path / "root"),
    )
    return e


def run(env, *args):
    return subprocess.run([*CMD, *args], capture_output=True, text=True, env=env)


def doctor(env, *args):
    r = run(env, "doctor", "--format", "json", *args)
    return r.returncode, {b["browser"]: b for b in json.loads(r.stdout)}


@pytest.fixture
def installed(env):
    r = run(env, "install-host", "--browser", "chromium", "--browser", "firefox")
    assert r.returncode == 0, r.stderr
    return Path(env["HOME"])


def problems(report) -> str:
    return "\n".join(report["problems"] + [p for m in report["manifests"] for p in m["problems"]])


def fixes(report) -> str:
    return "\n".join(report["fixes"] + [f for m in report["manifests"] for f in m["fixes"]])


def test_green_after_install_with_a_real_hello(env, installed):
    code, reports = doctor(env)
    assert code == 0, reports
    assert set(reports) == {"chromium", "firefox"}  # what was installed (nothing else is on this PATH)
    for r in reports.values():
        assert r["ok"] and len(r["manifests"]) == 1
        host = r["manifests"][0]["host"]
        assert host["name"] == "photodedup" and host["protocol"] == 1 and "hello" in host["commands"]
    text = run(env, "doctor")
    assert text.returncode == 0 and text.stdout.rstrip().endswith("all good")


def test_hello_through_the_launcher_as_each_browser_starts_it(installed):
    launcher = str(installed / LAUNCHER)
    result, error = hello(launcher, [f"chrome-extension://{CHROME_ID}/"])
    assert error is None and result["protocol"] == 1
    result, error = hello(launcher, [str(installed / FIREFOX), IDS["firefox"]["ids"][0]])
    assert error is None and result["name"] == "photodedup"
    # A caller the host does not know is refused by the real host, and doctor says so.
    result, error = hello(launcher, ["chrome-extension://abcdefghijklmnopabcdefghijklmnop/"])
    assert result is None and "forbidden_origin" in error


def test_extra_extension_id_is_accepted_by_the_host(env):
    extra = "abcdefghijklmnopabcdefghijklmnop"
    assert run(env, "install-host", "--browser", "chromium", "--extension-id", extra).returncode == 0
    launcher = str(Path(env["HOME"]) / LAUNCHER)
    # The browser's environment does not carry our settings: the launcher does (PHOTODEDUP_HOST_CONFIG).
    result, error = hello(launcher, [f"chrome-extension://{extra}/"])
    assert error is None and result["protocol"] == 1


def test_red_when_the_launcher_is_not_executable(env, installed):
    (installed / LAUNCHER).chmod(0o644)
    code, reports = doctor(env)
    assert code == 1 and not reports["chromium"]["ok"] and not reports["firefox"]["ok"]
    assert "is not executable" in problems(reports["chromium"])
    assert "chmod 755" in fixes(reports["chromium"])
    out = run(env, "doctor").stdout
    assert "FAIL Chromium" in out and "2 of 2 need attention" in out


def test_red_when_the_launcher_is_writable_by_others(env, installed):
    (installed / LAUNCHER).chmod(0o777)
    code, reports = doctor(env, "--browser", "firefox")
    assert code == 1 and "can be changed by other users" in problems(reports["firefox"])


def test_red_when_the_manifest_lists_the_wrong_id(env, installed):
    path = installed / CHROMIUM
    m = json.loads(path.read_text())
    m["allowed_origins"] = ["chrome-extension://abcdefghijklmnopabcdefghijklmnop/"]
    path.write_text(json.dumps(m))
    code, reports = doctor(env)
    assert code == 1 and reports["firefox"]["ok"] and not reports["chromium"]["ok"]
    assert f"allowed_origins lacks ['chrome-extension://{CHROME_ID}/']" in problems(reports["chromium"])
    assert "install-host" in fixes(reports["chromium"])


def test_red_when_the_trailing_slash_is_missing(env, installed):
    path = installed / CHROMIUM
    m = json.loads(path.read_text())
    m["allowed_origins"] = [o.rstrip("/") for o in m["allowed_origins"]]
    path.write_text(json.dumps(m))
    code, reports = doctor(env, "--browser", "chromium")
    assert code == 1 and "trailing '/' is required" in problems(reports["chromium"])


def test_red_when_the_manifest_is_missing_or_not_json(env, installed):
    (installed / FIREFOX).unlink()
    (installed / CHROMIUM).write_text("{not json")
    code, reports = doctor(env)
    assert code == 1
    assert f"install-host wrote {installed / FIREFOX}, and it is gone" in problems(reports["firefox"])
    assert "install-host --browser firefox" in fixes(reports["firefox"])
    assert "is not valid JSON" in problems(reports["chromium"])


def test_red_when_nothing_is_installed(env):
    code, reports = doctor(env, "--browser", "edge")
    assert code == 1 and "no host manifest where Microsoft Edge looks" in problems(reports["edge"])


def test_red_when_the_interpreter_moved_and_green_after_a_rerun(env, installed):
    """A moved install: the launcher's interpreter is gone. Doctor says the host does not start; re-running
    install-host rewrites the launcher."""
    launcher = installed / LAUNCHER
    launcher.write_text(launcher.read_text().replace(sys.executable, "/nonexistent/venv/bin/python"))
    code, reports = doctor(env, "--browser", "chromium")
    assert code == 1 and "without a reply" in problems(reports["chromium"])
    assert "run `photodedup install-host` again" in fixes(reports["chromium"])
    assert run(env, "install-host").returncode == 0
    code, reports = doctor(env)
    assert code == 0, reports


def test_profile_folder_is_checked(env, tmp_path):
    profile = tmp_path / "profile"
    assert run(env, "install-host", "--user-data-dir", str(profile)).returncode == 0
    code, reports = doctor(env)
    key = f"profile:{profile}"
    assert code == 0 and list(reports) == [key] and reports[key]["manifests"][0]["host"]["protocol"] == 1
    (profile / "NativeMessagingHosts" / NAME).unlink()
    code, reports = doctor(env)
    assert code == 1 and "no host manifest in" in problems(reports[key])
