"""The host manifest: filled in from the templates in ``manifests/``, checked the way a browser reads it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photodedup.install.browsers import Family

__all__ = [
    "ExtensionIds",
    "InstallError",
    "check_manifest",
    "load_extension_ids",
    "normalise_extension_id",
    "origin_args",
    "render_manifest",
    "templates_dir",
]

_PACKAGED = Path(__file__).with_name("manifests")  # a link to the checkout's manifests/ (package data)
_CHECKOUT = Path(__file__).resolve().parents[3] / "manifests"
_CHROME_ID = re.compile(r"^[a-p]{32}$")  # Chromium ids: 32 letters a-p
_GECKO_ID = re.compile(
    r"^(\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}|[\w.+-]+@[\w.-]+)$"
)
_TEMPLATE = {"chromium": "host-chromium.json", "firefox": "host-firefox.json"}


class InstallError(Exception):
    """Something the user can fix; the message says what."""


@dataclass(frozen=True, slots=True)
class ExtensionIds:
    host_name: str
    chromium: tuple[str, ...]
    firefox: tuple[str, ...]

    def for_family(self, family: Family) -> tuple[str, ...]:
        return self.chromium if family == "chromium" else self.firefox

    def plus(self, extra: list[tuple[Family, str]]) -> ExtensionIds:
        add = {
            f: tuple(i for g, i in extra if g == f and i not in self.for_family(f))
            for f in ("chromium", "firefox")
        }
        return ExtensionIds(self.host_name, self.chromium + add["chromium"], self.firefox + add["firefox"])


def templates_dir() -> Path:
    for d in (_PACKAGED, _CHECKOUT):
        if (d / "extension-ids.json").is_file():
            return d
    raise InstallError(f"the manifest templates were not found (looked in {_PACKAGED} and {_CHECKOUT})")


def load_extension_ids() -> ExtensionIds:
    path = templates_dir() / "extension-ids.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ExtensionIds(
            host_name=data["host_name"],
            chromium=tuple(data["chrome"]["ids"]),
            firefox=tuple(data["firefox"]["ids"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InstallError(f"{path} is unreadable: {e}") from e


def normalise_extension_id(text: str) -> tuple[Family, str]:
    """``--extension-id`` -> (family, id): a Chromium id (bare or as its origin) or a Firefox add-on id."""
    s = text.strip()
    if s.startswith("chrome-extension://"):
        s = s[len("chrome-extension://") :].rstrip("/")
        if not _CHROME_ID.match(s):
            raise InstallError(
                f"{text!r} is not a Chromium extension origin (chrome-extension://<32 letters a-p>/)"
            )
    if _CHROME_ID.match(s):
        return "chromium", s
    if _GECKO_ID.match(s):
        return "firefox", s
    raise InstallError(
        f"{text!r} is neither a Chromium extension id (32 letters a-p) nor a Firefox add-on id "
        "(name@domain or {uuid})"
    )


def _fill(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, str):
        return values.get(node, node)
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    return node


def render_manifest(family: Family, launcher: str, ids: ExtensionIds) -> dict:
    """The manifest for ``family``: the template, its ``@…@`` values replaced as JSON values (no escaping)."""
    template = json.loads((templates_dir() / _TEMPLATE[family]).read_text(encoding="utf-8"))
    return _fill(
        template,
        {
            "@HOST_NAME@": ids.host_name,
            "@LAUNCHER@": launcher,
            "@ALLOWED_ORIGINS@": [f"chrome-extension://{i}/" for i in ids.chromium],
            "@ALLOWED_EXTENSIONS@": list(ids.firefox),
        },
    )


def check_manifest(data: Any, family: Family, ids: ExtensionIds) -> list[str]:
    """What a browser would reject, or what would lock our extension out: [] when the manifest is right."""
    if not isinstance(data, dict):
        return ["is not a JSON object"]
    problems = []
    for key, want in (("name", ids.host_name), ("type", "stdio")):
        if key not in data:
            problems.append(f"has no {key}")
        elif data[key] != want:
            problems.append(f"{key} is {data[key]!r}, not {want!r}")
    path = data.get("path")
    if not isinstance(path, str) or not path:
        problems.append("has no path")
    key, expected = (
        ("allowed_origins", [f"chrome-extension://{i}/" for i in ids.chromium])
        if family == "chromium"
        else ("allowed_extensions", list(ids.firefox))
    )
    listed = data.get(key)
    if not isinstance(listed, list):
        problems.append(f"has no {key} list")
        return problems
    if family == "chromium":
        bad = [
            o
            for o in listed
            if not (isinstance(o, str) and re.fullmatch(r"chrome-extension://[a-p]{32}/", o))
        ]
        if bad:
            # Chromium then rejects the whole file ("Specified native messaging host not found").
            problems.append(f"{key} has entries Chromium rejects (the trailing '/' is required): {bad}")
    missing = [e for e in expected if e not in listed]
    if missing:
        problems.append(f"{key} lacks {missing}")
    return problems


def origin_args(family: Family, manifest_path: str, ids: ExtensionIds) -> list[str]:
    """The arguments the browser starts the host with, for our first extension id."""
    if family == "chromium":
        return [f"chrome-extension://{ids.chromium[0]}/"]
    return [manifest_path, ids.firefox[0]]
