"""Which browsers are on this machine: their settings folder exists, or their program is installed."""

from __future__ import annotations

import shutil
from pathlib import Path

from photodedup.install.browsers import BROWSERS, manifest_dirs
from photodedup.install.roots import Roots

__all__ = ["detect_browsers"]


def detect_browsers(roots: Roots) -> list[str]:
    """Names of the browsers found (in BROWSERS order); Windows: all of them (the keys cost nothing)."""
    if roots.platform == "win32":
        return [b.name for b in BROWSERS]
    found = []
    for b in BROWSERS:
        # A browser's user folder is the parent of its NativeMessagingHosts folder (Firefox: ~/.mozilla).
        dirs = manifest_dirs(b, roots.platform, "user", home=roots.home, config_home=roots.config_home)
        has_profile = any(Path(d).parent.is_dir() for d in dirs[:1])
        if roots.platform == "darwin":
            has_program = any(
                (base / app).is_dir()
                for app in b.mac_apps
                for base in (Path("/Applications"), Path(roots.home) / "Applications")
            )
        else:
            has_program = any(shutil.which(c) for c in b.linux_commands)
        if has_profile or has_program:
            found.append(b.name)
    return found
