"""`photodedup install-host` / `uninstall-host` as a user runs them: real processes, a temporary HOME,
system folders staged under a temporary root. Nothing is written outside tmp_path."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

CMD = [sys.executable, "-m", "photodedup"]
IDS = json.loads((Path(__file__).resolve().parents[2] / "manifests" / "extension-ids.json").read_text())
CHROME_ID = IDS["chrome"]["ids"][0]
FIREFOX_ID = IDS["firefox"]["ids"][0]
NAME = "org.photodedup.host.json"
USER_DIRS = {
    "chrome": ".config/google-chrome/NativeMessagingHosts",
    "chromium": ".config/chromium/NativeMessagingHosts",
    "edge": ".config/microsoft-edge/NativeMessagingHosts",
    "brave": ".config/BraveSoftware/Brave-Browser/NativeMessagingHosts",
    "firefox": ".mozilla/native-messaging-hosts",
}


@pytest.fixture
def env(tmp_path):
    """A user whose HOME, XDG folders, PATH and system root are all inside tmp_path."""
    home = tmp_path / "home"
    (bin_dir := tmp_path / "bin").mkdir(parents=True)
    home.mkdir()
    e = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PHOTODEDUP_"))}
    e.update(HOME=str(home), PATH=str(bin_dir), PHOTODEDUP_INSTALL_ROOT=str(tmp_path / "root"))
    return e


def run(env, *args, check=True):
    r = subprocess.run([*CMD, *args], capture_output=True, text=True, env=env)
    if check and r.returncode != 0:
        raise AssertionError(f"{args} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def home(env) -> Path:
    return Path(env["HOME"])


def tree(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))
    }


def launcher_of(env) -> Path:
    return home(env) / ".local/share/photodedup/native-host/photodedup-host"


def assert_private(path: Path, mode: int):
    st = path.stat()
    assert stat.S_IMODE(st.st_mode) == mode, f"{path}: {stat.S_IMODE(st.st_mode):o}"
    assert st.st_uid == os.getuid()


def test_install_for_every_browser_writes_right_manifests_and_launcher(env):
    r = run(env, "install-host", "--browser", "all")
    assert "doctor" in r.stdout
    launcher = launcher_of(env)
    for name, rel in USER_DIRS.items():
        path = home(env) / rel / NAME
        m = json.loads(path.read_text())
        assert m["name"] == "org.photodedup.host" and m["type"] == "stdio" and m["path"] == str(launcher)
        if name == "firefox":
            assert m["allowed_extensions"] == IDS["firefox"]["ids"] and "allowed_origins" not in m
        else:
            assert m["allowed_origins"] == [f"chrome-extension://{i}/" for i in IDS["chrome"]["ids"]]
        assert_private(path, 0o644)
    assert_private(launcher, 0o755)
    text = launcher.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert f'exec {sys.executable} -P -m photodedup.nativehost "$@"' in text  # this interpreter, absolute
    # Nothing outside HOME (the system root is untouched by a user install).
    assert not (Path(env["PHOTODEDUP_INSTALL_ROOT"])).exists()


def test_default_browsers_are_the_ones_found(env):
    fake_chromium = Path(env["PATH"]) / "chromium"  # an executable named like the browser: "installed"
    fake_chromium.write_text("#!/bin/sh\n")
    fake_chromium.chmod(0o755)
    (home(env) / ".mozilla").mkdir()  # Firefox's folder
    run(env, "install-host")
    found = {n for n, rel in USER_DIRS.items() if (home(env) / rel / NAME).exists()}
    assert found == {"chromium", "firefox"}


def test_nothing_found_means_every_browser(env):
    run(env, "install-host")
    assert all((home(env) / rel / NAME).exists() for rel in USER_DIRS.values())


def test_rerun_is_idempotent_and_keeps_earlier_browsers(env):
    run(env, "install-host", "--browser", "firefox")
    first = tree(home(env))
    r = run(env, "install-host", "--browser", "firefox")
    assert "rewrote" not in r.stdout and r.stdout.count("unchanged") == 3  # host.json, launcher, manifest
    again = tree(home(env))
    record = "/".join([".local/share/photodedup/native-host", "install-record.json"])
    assert {k: v for k, v in again.items() if k != record} == {k: v for k, v in first.items() if k != record}
    rec = json.loads(again[record])
    assert len(rec["files"]) == 3 and rec["browsers"] == ["firefox"]
    run(env, "install-host", "--browser", "chrome")  # adds Chrome, keeps Firefox
    assert (home(env) / USER_DIRS["firefox"] / NAME).exists() and (
        home(env) / USER_DIRS["chrome"] / NAME
    ).exists()
    rec = json.loads((home(env) / record).read_text())
    assert rec["browsers"] == ["chrome", "firefox"] and len(rec["files"]) == 4


def test_extension_ids_reach_manifests_and_host_config_and_survive_a_rerun(env):
    extra_chrome, extra_ff = "abcdefghijklmnopabcdefghijklmnop", "dev@example.org"
    run(
        env,
        "install-host",
        "--browser",
        "chromium",
        "--browser",
        "firefox",
        "--extension-id",
        f"chrome-extension://{extra_chrome}/",
        "--extension-id",
        extra_ff,
    )
    chromium = json.loads((home(env) / USER_DIRS["chromium"] / NAME).read_text())
    assert chromium["allowed_origins"][-1] == f"chrome-extension://{extra_chrome}/"
    firefox = json.loads((home(env) / USER_DIRS["firefox"] / NAME).read_text())
    assert firefox["allowed_extensions"] == [FIREFOX_ID, extra_ff]
    config = home(env) / ".config/photodedup/host.json"
    assert json.loads(config.read_text()) == {"allowed_extension_ids": [extra_chrome, extra_ff]}
    assert f"PHOTODEDUP_HOST_CONFIG={config}" in launcher_of(env).read_text()
    run(env, "install-host")  # no --extension-id: the recorded ones stay
    assert json.loads(config.read_text()) == {"allowed_extension_ids": [extra_chrome, extra_ff]}
    r = run(env, "install-host", "--extension-id", "not an id", check=False)
    assert r.returncode == 3 and "neither a Chromium extension id" in r.stderr


def test_db_is_baked_into_the_launcher(env, tmp_path):
    run(env, "install-host", "--browser", "firefox", "--db", str(tmp_path / "my store.db"))
    assert f"PHOTODEDUP_DB='{tmp_path / 'my store.db'}'" in launcher_of(env).read_text()


def test_user_data_dir_gets_only_its_own_manifest(env, tmp_path):
    profile = tmp_path / "profile"
    run(env, "install-host", "--user-data-dir", str(profile))
    m = json.loads((profile / "NativeMessagingHosts" / NAME).read_text())
    assert m["allowed_origins"] == [f"chrome-extension://{CHROME_ID}/"]
    assert not any((home(env) / rel / NAME).exists() for rel in USER_DIRS.values())
    r = run(env, "install-host", "--system", "--user-data-dir", str(profile), check=False)
    assert r.returncode == 3 and "cannot go with --system" in r.stderr


def test_uninstall_removes_exactly_what_was_written(env):
    h = home(env)
    (h / ".mozilla/native-messaging-hosts").mkdir(parents=True)
    (h / ".mozilla/native-messaging-hosts/other.host.json").write_text("{}")  # another program's host
    (h / ".config/photodedup").mkdir(parents=True)
    (h / ".config/photodedup/config.toml").write_text("[keeper]\n")  # the user's settings
    before = tree(h)
    run(env, "install-host", "--browser", "all")
    changed = h / USER_DIRS["edge"] / NAME
    changed.write_text('{"edited": "by hand"}')
    r = run(env, "uninstall-host")
    assert f"kept {changed}: it changed since install-host wrote it" in r.stdout
    after = tree(h)
    leftover = {k for k in after if k not in before}
    assert leftover == {
        ".config/microsoft-edge",
        ".config/microsoft-edge/NativeMessagingHosts",
        f"{USER_DIRS['edge']}/{NAME}",
    }
    assert {k: v for k, v in after.items() if k in before} == before  # foreign files untouched
    r = run(env, "uninstall-host")
    assert "nothing to remove" in r.stdout


def test_host_config_that_was_there_keeps_its_other_keys(env):
    config = home(env) / ".config/photodedup/host.json"
    config.parent.mkdir(parents=True)
    config.write_text('{"db": "/somewhere/else.db"}')
    run(env, "install-host", "--browser", "firefox", "--extension-id", "dev@example.org")
    assert json.loads(config.read_text()) == {
        "db": "/somewhere/else.db",
        "allowed_extension_ids": ["dev@example.org"],
    }
    run(env, "uninstall-host")
    assert json.loads(config.read_text()) == {"db": "/somewhere/else.db"}


def test_a_file_replaced_at_our_path_survives_uninstall(env):
    run(env, "install-host", "--browser", "chromium")
    launcher = launcher_of(env)
    launcher.unlink()
    launcher.write_text("#!/bin/sh\n# someone else's script at the same path\n")
    r = run(env, "uninstall-host")
    assert f"kept {launcher}" in r.stdout and "someone else's" in launcher.read_text()


def test_system_install_under_a_staging_root(env, tmp_path):
    root = Path(env["PHOTODEDUP_INSTALL_ROOT"])
    (root / "usr/lib64/mozilla").mkdir(parents=True)  # a lib64 distribution: Firefox reads both
    run(env, "install-host", "--system", "--browser", "all", "--extension-id", "dev@example.org")
    app = root / "usr/local/lib/photodedup/native-host"
    launcher = app / "photodedup-host"
    assert_private(launcher, 0o755)
    expected = [
        "etc/opt/chrome/native-messaging-hosts",
        "etc/chromium/native-messaging-hosts",
        "etc/opt/edge/native-messaging-hosts",
        "usr/lib/mozilla/native-messaging-hosts",
        "usr/lib64/mozilla/native-messaging-hosts",
    ]
    for d in expected:
        m = json.loads((root / d / NAME).read_text())
        assert m["path"] == str(launcher)
        assert_private(root / d / NAME, 0o644)
    # The system launcher names its own host.json: no user's config applies to it.
    assert f"PHOTODEDUP_HOST_CONFIG={app / 'host.json'}" in launcher.read_text()
    assert json.loads((app / "host.json").read_text()) == {"allowed_extension_ids": ["dev@example.org"]}
    assert not (home(env) / ".config").exists()
    run(env, "uninstall-host", "--system")
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "usr",
        "usr/lib64",
        "usr/lib64/mozilla",
    ]


def test_dry_run_writes_nothing(env):
    r = run(env, "install-host", "--browser", "all", "--dry-run")
    assert r.stdout.count("would write manifest") == 5
    assert list(home(env).iterdir()) == []
