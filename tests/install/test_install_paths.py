"""Where each browser reads the host manifest, the Windows keys, the launcher and the manifest content:
pure functions, so the macOS and Windows answers are checked here on Linux."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from photodedup.install.browsers import BROWSERS, browser, manifest_dirs, registry_keys, windows_manifest_path
from photodedup.install.installer import InstallOptions, plan_install
from photodedup.install.launcher import launcher_bat, launcher_sh
from photodedup.install.manifest import (
    InstallError,
    check_manifest,
    load_extension_ids,
    normalise_extension_id,
    render_manifest,
)
from photodedup.install.roots import Roots

REPO = Path(__file__).resolve().parents[2]
HOME = PurePosixPath("/home/ann")


def dirs(name, platform, scope, **kw):
    return [str(d) for d in manifest_dirs(browser(name), platform, scope, home=HOME, **kw)]


LINUX_USER = {
    "chrome": ["/home/ann/.config/google-chrome/NativeMessagingHosts"],
    "chromium": ["/home/ann/.config/chromium/NativeMessagingHosts"],
    "edge": ["/home/ann/.config/microsoft-edge/NativeMessagingHosts"],
    "brave": ["/home/ann/.config/BraveSoftware/Brave-Browser/NativeMessagingHosts"],
    "firefox": ["/home/ann/.mozilla/native-messaging-hosts"],
}
LINUX_SYSTEM = {
    "chrome": ["/etc/opt/chrome/native-messaging-hosts"],
    "chromium": ["/etc/chromium/native-messaging-hosts"],
    "edge": ["/etc/opt/edge/native-messaging-hosts"],
    "brave": ["/etc/opt/chrome/native-messaging-hosts", "/etc/chromium/native-messaging-hosts"],
    "firefox": ["/usr/lib/mozilla/native-messaging-hosts"],
}
AS = "/home/ann/Library/Application Support"
MAC_USER = {
    "chrome": [f"{AS}/Google/Chrome/NativeMessagingHosts"],
    "chromium": [f"{AS}/Chromium/NativeMessagingHosts"],
    "edge": [f"{AS}/Microsoft Edge/NativeMessagingHosts"],
    # Brave on macOS reads Chrome's folder (keepassxreboot/keepassxc#13429): both get the file.
    "brave": [
        f"{AS}/BraveSoftware/Brave-Browser/NativeMessagingHosts",
        f"{AS}/Google/Chrome/NativeMessagingHosts",
    ],
    "firefox": [f"{AS}/Mozilla/NativeMessagingHosts"],
}
MAC_SYSTEM = {
    "chrome": ["/Library/Google/Chrome/NativeMessagingHosts"],
    "chromium": ["/Library/Application Support/Chromium/NativeMessagingHosts"],
    "edge": ["/Library/Microsoft/Edge/NativeMessagingHosts"],
    "brave": [
        "/Library/BraveSoftware/Brave-Browser/NativeMessagingHosts",
        "/Library/Google/Chrome/NativeMessagingHosts",
    ],
    "firefox": ["/Library/Application Support/Mozilla/NativeMessagingHosts"],
}
WINDOWS_KEYS = {
    "chrome": r"Software\Google\Chrome\NativeMessagingHosts\org.photodedup.host",
    "chromium": r"Software\Chromium\NativeMessagingHosts\org.photodedup.host",
    "edge": r"Software\Microsoft\Edge\NativeMessagingHosts\org.photodedup.host",
    "brave": r"Software\Google\Chrome\NativeMessagingHosts\org.photodedup.host",  # Brave reads Chrome's key
    "firefox": r"Software\Mozilla\NativeMessagingHosts\org.photodedup.host",
}


@pytest.mark.parametrize("name", [b.name for b in BROWSERS])
def test_linux_and_macos_folders(name):
    assert dirs(name, "linux", "user") == LINUX_USER[name]
    assert dirs(name, "linux", "system") == LINUX_SYSTEM[name]
    assert dirs(name, "darwin", "user") == MAC_USER[name]
    assert dirs(name, "darwin", "system") == MAC_SYSTEM[name]
    assert dirs(name, "win32", "user") == []


def test_xdg_config_home_moves_chromium_family_but_not_firefox():
    xdg = PurePosixPath("/data/cfg")
    assert dirs("chromium", "linux", "user", config_home=xdg) == ["/data/cfg/chromium/NativeMessagingHosts"]
    assert dirs("firefox", "linux", "user", config_home=xdg) == ["/home/ann/.mozilla/native-messaging-hosts"]


def test_system_folders_go_under_the_staging_root():
    root = PurePosixPath("/tmp/stage")
    assert dirs("edge", "linux", "system", system_root=root) == [
        "/tmp/stage/etc/opt/edge/native-messaging-hosts"
    ]
    assert dirs("chrome", "darwin", "system", system_root=root) == [
        "/tmp/stage/Library/Google/Chrome/NativeMessagingHosts"
    ]


@pytest.mark.parametrize("name", [b.name for b in BROWSERS])
def test_windows_registry_keys(name):
    assert [str(k) for k in registry_keys(browser(name), "user")] == ["HKCU\\" + WINDOWS_KEYS[name]]
    assert [str(k) for k in registry_keys(browser(name), "system")] == ["HKLM\\" + WINDOWS_KEYS[name]]
    app = PureWindowsPath(r"C:\Users\ann\AppData\Local\photodedup\native-host")
    family = browser(name).family
    assert str(windows_manifest_path(app, family)) == rf"{app}\org.photodedup.host.{family}.json"


def test_windows_plan_sets_one_key_per_browser_and_a_bat_launcher(tmp_path):
    """The whole install computed for Windows (nothing applied: no registry here)."""
    app = tmp_path / "app"
    roots = Roots("win32", "user", tmp_path, None, Path("/"), app, tmp_path / "cfg" / "host.json")
    plan = plan_install(InstallOptions(browsers=["all"], python=r"C:\py\python.exe"), roots, detected=[])
    keys = {(r.hive, r.key): r for r in plan.record.registry}
    assert {k for _, k in keys} == set(WINDOWS_KEYS.values())
    chrome = keys[("HKCU", WINDOWS_KEYS["chrome"])]
    assert chrome.browsers == ["chrome", "brave"] and chrome.value.endswith(
        "org.photodedup.host.chromium.json"
    )
    assert keys[("HKCU", WINDOWS_KEYS["firefox"])].value.endswith("org.photodedup.host.firefox.json")
    launcher = next(w for w in plan.writes if w.entry.kind == "launcher")
    assert launcher.entry.path.endswith("photodedup-host.bat")
    text = launcher.content.decode()
    assert text.startswith("@echo off\r\n") and r'"C:\py\python.exe" -P -m photodedup.nativehost %*' in text
    manifests = [w for w in plan.writes if w.entry.kind == "manifest"]
    assert len(manifests) == 2
    assert all(json.loads(w.content)["path"].endswith("photodedup-host.bat") for w in manifests)
    with pytest.raises(InstallError, match="Windows"):
        plan_install(InstallOptions(user_data_dirs=[str(tmp_path)]), roots, detected=[])


def test_launcher_quotes_paths_and_passes_arguments(tmp_path):
    """Run a real launcher whose 'interpreter' sits at a path with a space and a quote."""
    odd = tmp_path / "it's a dir"
    odd.mkdir()
    fake = odd / "py thon"
    fake.write_text('#!/bin/sh\nprintf "%s|" "$@"; printf "db=%s" "$PHOTODEDUP_DB"\n')
    fake.chmod(0o755)
    launcher = tmp_path / "launcher"
    launcher.write_text(launcher_sh(str(fake), {"PHOTODEDUP_DB": "/x/my store's.db"}))
    launcher.chmod(0o755)
    out = subprocess.run(
        [str(launcher), "chrome-extension://x/", "two words"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=True,
    ).stdout
    assert out == "-P|-m|photodedup.nativehost|chrome-extension://x/|two words|db=/x/my store's.db"


def test_bat_launcher_escapes_percent_and_refuses_quotes():
    text = launcher_bat(r"C:\py\python.exe", {"PHOTODEDUP_DB": r"C:\100%\a.db"})
    assert r'set "PHOTODEDUP_DB=C:\100%%\a.db"' in text
    with pytest.raises(ValueError):
        launcher_bat('C:\\a"b\\python.exe', {})


def test_extension_id_forms():
    assert normalise_extension_id("mfdjbhednihcalhmjgkkbpnjiidokeoi") == (
        "chromium",
        "mfdjbhednihcalhmjgkkbpnjiidokeoi",
    )
    assert normalise_extension_id("chrome-extension://mfdjbhednihcalhmjgkkbpnjiidokeoi/")[1] == (
        "mfdjbhednihcalhmjgkkbpnjiidokeoi"
    )
    assert normalise_extension_id("me@example.org") == ("firefox", "me@example.org")
    assert normalise_extension_id("{12345678-1234-1234-1234-123456789abc}")[0] == "firefox"
    for bad in ("short", "mfdjbhednihcalhmjgkkbpnjiidokeoz", "chrome-extension://abc/", "a b@c"):
        with pytest.raises(InstallError):
            normalise_extension_id(bad)


def test_manifests_come_from_the_templates_and_pass_their_own_check():
    shipped = json.loads((REPO / "manifests" / "extension-ids.json").read_text())
    ids = load_extension_ids()
    assert ids.host_name == shipped["host_name"] == "org.photodedup.host"
    chromium = render_manifest("chromium", "/opt/l", ids)
    assert chromium["allowed_origins"] == [f"chrome-extension://{i}/" for i in shipped["chrome"]["ids"]]
    assert (
        chromium["path"] == "/opt/l" and chromium["type"] == "stdio" and "allowed_extensions" not in chromium
    )
    firefox = render_manifest("firefox", "/opt/l", ids)
    assert firefox["allowed_extensions"] == shipped["firefox"]["ids"] and "allowed_origins" not in firefox
    assert check_manifest(chromium, "chromium", ids) == []
    assert check_manifest(firefox, "firefox", ids) == []
    # What the browsers reject, or what locks our extension out:
    no_slash = dict(chromium, allowed_origins=[o.rstrip("/") for o in chromium["allowed_origins"]])
    assert any("trailing '/'" in p for p in check_manifest(no_slash, "chromium", ids))
    other = dict(firefox, allowed_extensions=["someone@else.org"])
    assert any("lacks" in p for p in check_manifest(other, "firefox", ids))
    assert check_manifest(firefox, "chromium", ids) == ["has no allowed_origins list"]
    assert "type is 'pipe', not 'stdio'" in check_manifest(dict(chromium, type="pipe"), "chromium", ids)
