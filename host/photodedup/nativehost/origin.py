"""Who started the host: the caller's extension id from argv, checked against the allowed ids.

Chromium passes ``chrome-extension://<id>/`` (and on Windows ``--parent-window=<hwnd>`` after it); Firefox
passes the manifest path, then the add-on id. This is a check that the right extension is calling, not
authentication: any process of the same user can start the host.

Allowed ids: those shipped in ``manifests/extension-ids.json`` (package data ``extension-ids.json`` in an
installed package), plus ``allowed_extension_ids`` in the host config file the installer writes
(``host.json`` in the platform config folder, or ``$PHOTODEDUP_HOST_CONFIG``).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "HOST_CONFIG_ENV",
    "Caller",
    "HostConfig",
    "bundled_extension_ids",
    "caller_from_args",
    "host_config_path",
    "load_host_config",
]

log = logging.getLogger(__name__)

HOST_CONFIG_ENV = "PHOTODEDUP_HOST_CONFIG"
_PACKAGED = Path(__file__).with_name("extension-ids.json")  # a link to manifests/ in a checkout
_CHECKOUT = Path(__file__).resolve().parents[3] / "manifests" / "extension-ids.json"
_CHROME_PREFIX = "chrome-extension://"


@dataclass(frozen=True, slots=True)
class Caller:
    browser: str  # chromium | firefox | unknown
    extension_id: str | None


@dataclass(frozen=True, slots=True)
class HostConfig:
    allowed_extension_ids: tuple[str, ...] = ()


def caller_from_args(args: list[str]) -> Caller:
    """The caller named by the browser's positional arguments (options already removed)."""
    args = [a for a in args if not a.startswith("--parent-window=")]
    if args and args[0].startswith(_CHROME_PREFIX):
        rest = args[0][len(_CHROME_PREFIX) :]
        # The trailing "/" is part of the origin Chromium passes; nothing may follow it.
        ext_id = rest[:-1] if rest.endswith("/") and "/" not in rest[:-1] else None
        return Caller("chromium", ext_id or None)
    if len(args) >= 2:
        return Caller("firefox", args[1] or None)
    return Caller("unknown", None)


def bundled_extension_ids() -> dict:
    """The shipped ``extension-ids.json``: the host name and the ids of the official builds."""
    for path in (_PACKAGED, _CHECKOUT):
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    log.error("extension-ids.json not found next to %s or in the checkout", __file__)
    return {}


def host_config_path() -> Path:
    env = os.environ.get(HOST_CONFIG_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("photodedup", appauthor=False)) / "host.json"


def load_host_config() -> HostConfig:
    """The installer's ``host.json``; a missing or unreadable file means no extra ids (logged)."""
    path = host_config_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return HostConfig()
    except (OSError, ValueError) as e:
        log.warning("ignoring host config %s: %s", path, e)
        return HostConfig()
    if not isinstance(data, dict):
        log.warning("ignoring host config %s: not a JSON object", path)
        return HostConfig()
    ids = data.get("allowed_extension_ids") or []
    if not isinstance(ids, list):
        log.warning("ignoring allowed_extension_ids in %s: not a list", path)
        return HostConfig()
    return HostConfig(allowed_extension_ids=tuple(i for i in ids if isinstance(i, str) and i))


def allowed_ids(config: HostConfig) -> set[str]:
    bundled = bundled_extension_ids()
    ids = set(config.allowed_extension_ids)
    for family in ("chrome", "firefox"):
        ids.update(i for i in (bundled.get(family) or {}).get("ids", []) if isinstance(i, str))
    return ids


def is_allowed(caller: Caller, config: HostConfig) -> bool:
    return caller.extension_id is not None and caller.extension_id in allowed_ids(config)
