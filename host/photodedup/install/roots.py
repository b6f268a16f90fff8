"""The folders an install writes under, for one scope: from the environment, or given (tests, staging).

User scope follows ``$HOME`` and the XDG variables (through platformdirs), so a test that points HOME at a
temporary folder installs there. System scope uses the system folders, each placed under ``root``
(``--root`` / ``$PHOTODEDUP_INSTALL_ROOT``, default ``/``): a staging folder lets `--system` run without root.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Literal

__all__ = ["ROOT_ENV", "Roots", "roots_for"]

ROOT_ENV = "PHOTODEDUP_INSTALL_ROOT"
APP = "photodedup"
Scope = Literal["user", "system"]


@dataclass(frozen=True, slots=True)
class Roots:
    platform: str  # "linux" | "darwin" | "win32"
    scope: Scope
    home: PurePath
    config_home: PurePath | None  # $XDG_CONFIG_HOME on Linux (Chromium-family user folders)
    system_root: PurePath  # prefix of every system path ("/" normally)
    app_dir: PurePath  # the launcher, the install record, Windows manifests
    host_config: PurePath  # host.json: the extra extension ids the host reads

    @property
    def launcher(self) -> PurePath:
        return self.app_dir / ("photodedup-host.bat" if self.platform == "win32" else "photodedup-host")

    @property
    def record(self) -> PurePath:
        return self.app_dir / "install-record.json"


def _platform() -> str:
    return "linux" if sys.platform.startswith("linux") else sys.platform


def roots_for(scope: Scope, root: str | os.PathLike | None = None) -> Roots:
    """The real folders for ``scope`` on this machine (``root`` only moves the system ones)."""
    import platformdirs

    platform = _platform()
    home = Path.home()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    config_home = Path(xdg) if platform == "linux" and xdg and os.path.isabs(xdg) else None
    system_root = Path(root or os.environ.get(ROOT_ENV) or "/").absolute()
    if scope == "user":
        app_dir = Path(platformdirs.user_data_dir(APP, appauthor=False)) / "native-host"
        host_config = Path(platformdirs.user_config_dir(APP, appauthor=False)) / "host.json"
    else:
        if platform == "win32":
            base = Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / APP
        elif platform == "darwin":
            base = system_root / "Library" / "Application Support" / APP
        else:
            base = system_root / "usr" / "local" / "lib" / APP
        app_dir = base / "native-host"
        # The system launcher names this file through $PHOTODEDUP_HOST_CONFIG: no user's config applies.
        host_config = app_dir / "host.json"
    return Roots(platform, scope, home, config_home, system_root, app_dir, host_config)
