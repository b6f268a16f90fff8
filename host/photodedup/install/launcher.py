"""The launcher a host manifest points at: a tiny script that starts this Python on the host module.

Browsers started from a desktop get a minimal PATH (macOS GUI apps especially), and Windows cannot start a
``.py`` from a manifest, so the launcher names everything by absolute path: the interpreter as it was
invoked (a venv's ``bin/python`` — not resolved, which would lose the venv) and the settings baked in.
``-P`` keeps the launcher's folder (the browser's working directory) off ``sys.path``.
"""

from __future__ import annotations

import shlex

__all__ = ["HOST_MODULE", "launcher_bat", "launcher_sh"]

HOST_MODULE = "photodedup.nativehost"
_HEADER = (
    "photodedup native-messaging host launcher, written by `photodedup install-host`; run it again to rewrite"
)


def launcher_sh(python: str, env: dict[str, str]) -> str:
    lines = ["#!/bin/sh", f"# {_HEADER}."]
    for name, value in env.items():
        lines += [f"{name}={shlex.quote(value)}", f"export {name}"]
    lines.append(f'exec {shlex.quote(python)} -P -m {HOST_MODULE} "$@"')
    return "\n".join(lines) + "\n"


def _bat_quote(value: str) -> str:
    if '"' in value or "\n" in value:
        raise ValueError(f"cannot put {value!r} into a .bat file")
    return value.replace("%", "%%")


def launcher_bat(python: str, env: dict[str, str]) -> str:
    lines = ["@echo off", f"rem {_HEADER}."]
    lines += [f'set "{name}={_bat_quote(value)}"' for name, value in env.items()]
    lines.append(f'"{_bat_quote(python)}" -P -m {HOST_MODULE} %*')
    return "\r\n".join(lines) + "\r\n"
