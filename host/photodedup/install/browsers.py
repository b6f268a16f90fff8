"""Where each browser looks for a native-messaging host manifest: pure functions of the platform and roots.

Sources: ../shared/notes/native-messaging-and-extension.md §3 (Chromium's `chrome_paths.cc`, Mozilla's and
Chrome's documentation), and what other installers found for Brave (it reads Chrome's registry key on
Windows and, on macOS, Chrome's folder — so Brave also gets a manifest there; same content, harmless).
Nothing here touches the file system, so the macOS and Windows answers are tested on Linux.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Literal

__all__ = [
    "BROWSERS",
    "HOST_NAME",
    "Browser",
    "Family",
    "RegistryKey",
    "browser",
    "manifest_dirs",
    "registry_keys",
    "windows_manifest_path",
]

HOST_NAME = "org.photodedup.host"
Family = Literal["chromium", "firefox"]
_SLASH = PurePosixPath("/")
Scope = Literal["user", "system"]


@dataclass(frozen=True, slots=True)
class Browser:
    name: str  # the --browser value
    label: str
    family: Family
    linux_user: tuple[str, ...]  # under $XDG_CONFIG_HOME, or "~/..." under $HOME
    linux_system: tuple[str, ...]
    mac_user: tuple[str, ...]  # under ~/Library/Application Support
    mac_system: tuple[str, ...]
    windows_keys: tuple[str, ...]  # under HKCU/HKLM
    linux_commands: tuple[str, ...]  # executables that mean "installed"
    mac_apps: tuple[str, ...]


def _key(vendor: str) -> str:
    return rf"Software\{vendor}\NativeMessagingHosts\{HOST_NAME}"


BROWSERS: tuple[Browser, ...] = (
    Browser(
        "chrome",
        "Google Chrome",
        "chromium",
        linux_user=("google-chrome/NativeMessagingHosts",),
        linux_system=("/etc/opt/chrome/native-messaging-hosts",),
        mac_user=("Google/Chrome/NativeMessagingHosts",),
        mac_system=("/Library/Google/Chrome/NativeMessagingHosts",),
        windows_keys=(_key(r"Google\Chrome"),),
        linux_commands=("google-chrome", "google-chrome-stable"),
        mac_apps=("Google Chrome.app",),
    ),
    Browser(
        "chromium",
        "Chromium",
        "chromium",
        linux_user=("chromium/NativeMessagingHosts",),
        linux_system=("/etc/chromium/native-messaging-hosts",),
        mac_user=("Chromium/NativeMessagingHosts",),
        mac_system=("/Library/Application Support/Chromium/NativeMessagingHosts",),
        windows_keys=(_key("Chromium"),),
        linux_commands=("chromium", "chromium-browser"),
        mac_apps=("Chromium.app",),
    ),
    Browser(
        "edge",
        "Microsoft Edge",
        "chromium",
        linux_user=("microsoft-edge/NativeMessagingHosts",),
        linux_system=("/etc/opt/edge/native-messaging-hosts",),
        mac_user=("Microsoft Edge/NativeMessagingHosts",),
        mac_system=("/Library/Microsoft/Edge/NativeMessagingHosts",),
        windows_keys=(_key(r"Microsoft\Edge"),),
        linux_commands=("microsoft-edge", "microsoft-edge-stable"),
        mac_apps=("Microsoft Edge.app",),
    ),
    Browser(
        "brave",
        "Brave",
        "chromium",
        linux_user=("BraveSoftware/Brave-Browser/NativeMessagingHosts",),
        # Not verified: Brave's Linux system folder is undocumented; these are the two Chromium ones.
        linux_system=("/etc/opt/chrome/native-messaging-hosts", "/etc/chromium/native-messaging-hosts"),
        mac_user=("BraveSoftware/Brave-Browser/NativeMessagingHosts", "Google/Chrome/NativeMessagingHosts"),
        mac_system=(
            "/Library/BraveSoftware/Brave-Browser/NativeMessagingHosts",
            "/Library/Google/Chrome/NativeMessagingHosts",
        ),
        windows_keys=(_key(r"Google\Chrome"),),
        linux_commands=("brave-browser", "brave"),
        mac_apps=("Brave Browser.app",),
    ),
    Browser(
        "firefox",
        "Firefox",
        "firefox",
        # Firefox reads only ~/.mozilla, whatever XDG_CONFIG_HOME says (tested on ESR 153).
        linux_user=("~/.mozilla/native-messaging-hosts",),
        linux_system=("/usr/lib/mozilla/native-messaging-hosts",),
        mac_user=("Mozilla/NativeMessagingHosts",),
        mac_system=("/Library/Application Support/Mozilla/NativeMessagingHosts",),
        windows_keys=(_key("Mozilla"),),
        linux_commands=("firefox", "firefox-esr"),
        mac_apps=("Firefox.app",),
    ),
)
_BY_NAME = {b.name: b for b in BROWSERS}


def browser(name: str) -> Browser:
    return _BY_NAME[name]


def _under(root: PurePath, absolute: str) -> PurePath:
    """An absolute system path placed under ``root`` (``/`` normally; a staging folder in tests)."""
    return root / absolute.lstrip("/")


def manifest_dirs(
    b: Browser,
    platform: str,
    scope: Scope,
    *,
    home: PurePath,
    config_home: PurePath | None = None,
    system_root: PurePath = _SLASH,
) -> list[PurePath]:
    """The folders (Linux, macOS) where ``b`` reads ``<HOST_NAME>.json``, in order; [] on Windows (registry).

    ``config_home`` is ``$XDG_CONFIG_HOME`` (default ``~/.config``): Chromium-family browsers follow it,
    Firefox does not. On Linux, Firefox builds for lib64 distributions also read ``/usr/lib64/mozilla``:
    the installer adds it when that folder exists.
    """
    if platform == "win32":
        return []
    if platform == "darwin":
        if scope == "user":
            return [home / "Library" / "Application Support" / d for d in b.mac_user]
        return [_under(system_root, d) for d in b.mac_system]
    if scope == "user":
        base = config_home if config_home is not None else home / ".config"
        return [home / d[2:] if d.startswith("~/") else base / d for d in b.linux_user]
    return [_under(system_root, d) for d in b.linux_system]


@dataclass(frozen=True, slots=True)
class RegistryKey:
    hive: Literal["HKCU", "HKLM"]
    key: str  # its default value is the manifest's path

    def __str__(self) -> str:
        return f"{self.hive}\\{self.key}"


def registry_keys(b: Browser, scope: Scope) -> list[RegistryKey]:
    """Windows: the keys whose default value must name the manifest file (HKCU for the user, HKLM for all)."""
    hive: Literal["HKCU", "HKLM"] = "HKCU" if scope == "user" else "HKLM"
    return [RegistryKey(hive, k) for k in b.windows_keys]


def windows_manifest_path(app_dir: PureWindowsPath | PurePath, family: Family) -> PurePath:
    """Windows: the manifest may be anywhere (the registry names it); one per family, in our folder."""
    return app_dir / f"{HOST_NAME}.{family}.json"
