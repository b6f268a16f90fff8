"""`photodedup doctor`: is the host registered where each browser looks, and does it answer?

For each browser: every manifest it would read (user and system folders, custom profile folders; the
registry on Windows) is parsed and checked (name, type, allowed ids, trailing slash), its ``path`` must be an
executable file nobody else can write, and the host must answer ``hello`` when started the way that browser
starts it: the launcher itself, the caller's origin as arguments, the launcher's folder as working directory,
and a desktop's minimal PATH.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from photodedup.install import winreg_io
from photodedup.install.browsers import BROWSERS, browser, registry_keys
from photodedup.install.installer import MANIFEST_FILE, manifest_paths
from photodedup.install.manifest import (
    ExtensionIds,
    InstallError,
    check_manifest,
    load_extension_ids,
    normalise_extension_id,
    origin_args,
)
from photodedup.install.record import InstallRecord, load_record
from photodedup.install.roots import Roots

__all__ = ["BrowserReport", "ManifestReport", "hello", "run_doctor"]

HELLO_TIMEOUT = 30.0
_PASS_ENV = (
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "XDG_RUNTIME_DIR",
    "SYSTEMROOT",
    "USERPROFILE",
    "APPDATA",
    "LOCALAPPDATA",
    "PROGRAMDATA",
    "TEMP",
    "TMP",
)


@dataclass
class ManifestReport:
    location: str  # the manifest file (and on Windows the key that names it)
    problems: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    host: dict | None = None  # the hello result

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class BrowserReport:
    browser: str
    label: str
    manifests: list[ManifestReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # browser-level: nothing registered
    fixes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.manifests) and all(m.ok for m in self.manifests)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ok"] = self.ok
        for m, md in zip(self.manifests, d["manifests"], strict=True):
            md["ok"] = m.ok
        return d


def _minimal_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _PASS_ENV}
    env["PATH"] = os.environ.get("PATH", "") if os.name == "nt" else "/usr/bin:/bin"
    return env


def hello(launcher: str, args: list[str], timeout: float = HELLO_TIMEOUT) -> tuple[dict | None, str | None]:
    """Start ``launcher`` like a browser, send one framed hello; (result, None) or (None, what went wrong)."""
    body = json.dumps({"id": 1, "cmd": "hello"}).encode()
    try:
        p = subprocess.run(
            [launcher, *args],
            input=struct.pack("=I", len(body)) + body,
            capture_output=True,
            timeout=timeout,
            cwd=os.path.dirname(launcher) or None,
            env=_minimal_env(),
        )
    except subprocess.TimeoutExpired:
        return None, f"the host did not answer within {timeout:.0f} s"
    except OSError as e:
        return None, f"the host could not be started: {e}"
    out, err = p.stdout, p.stderr.decode(errors="replace").strip()
    tail = f"; its stderr: {err[-400:]}" if err else ""
    if len(out) < 4:
        return None, f"the host exited (code {p.returncode}) without a reply{tail}"
    (n,) = struct.unpack("=I", out[:4])
    if len(out) != 4 + n:
        return (
            None,
            f"the host wrote {len(out)} bytes that are not exactly one frame (stray output on stdout?){tail}",
        )
    try:
        reply = json.loads(out[4:].decode("utf-8"))
    except ValueError:
        return None, "the host's reply is not UTF-8 JSON"
    if not isinstance(reply, dict) or reply.get("id") != 1:
        return None, f"the host's reply does not answer request 1: {str(reply)[:200]}"
    if not reply.get("ok"):
        return None, f"the host refused hello: {reply.get('error')}"
    result = reply.get("result") or {}
    if result.get("name") != "photodedup" or "protocol" not in result:
        return None, f"the reply is not photodedup's hello: {str(result)[:200]}"
    return result, None


def _check_launcher(path: str, report: ManifestReport, scope_hint: str) -> bool:
    p = Path(path)
    if not p.is_absolute():
        report.problems.append(f"its path {path!r} is not absolute (Linux and macOS require that)")
        report.fixes.append(f"run `photodedup install-host{scope_hint}` again")
        return False
    try:
        st = p.stat()
    except OSError:
        report.problems.append(f"its path {path} does not exist")
        report.fixes.append(f"run `photodedup install-host{scope_hint}` again (it rewrites the launcher)")
        return False
    if not stat.S_ISREG(st.st_mode):
        report.problems.append(f"its path {path} is not a file")
        report.fixes.append(f"remove {path}, then run `photodedup install-host{scope_hint}` again")
        return False
    good = True
    if os.name != "nt" and not os.access(p, os.X_OK):
        report.problems.append(f"the launcher {path} is not executable")
        report.fixes.append(f"chmod 755 '{path}' (or run `photodedup install-host{scope_hint}` again)")
        good = False
    if os.name != "nt" and st.st_mode & (stat.S_IWOTH | stat.S_IWGRP):
        report.problems.append(
            f"the launcher {path} can be changed by other users (mode {stat.S_IMODE(st.st_mode):o})"
        )
        report.fixes.append(f"chmod go-w '{path}'")
        good = False
    return good


def _check_one(
    manifest: Path, family: str, ids: ExtensionIds, scope_hint: str, cache: dict, location: str | None = None
) -> ManifestReport:
    report = ManifestReport(location or str(manifest))
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except OSError as e:
        report.problems.append(f"cannot be read: {e.strerror}")
        report.fixes.append(f"run `photodedup install-host{scope_hint}` again")
        return report
    except ValueError as e:
        report.problems.append(f"is not valid JSON ({e}); the browser ignores it")
        report.fixes.append(f"run `photodedup install-host{scope_hint}` again (it rewrites the manifest)")
        return report
    problems = check_manifest(data, family, ids)  # type: ignore[arg-type]
    if problems:
        report.problems += problems
        report.fixes.append(f"run `photodedup install-host{scope_hint}` again (it rewrites the manifest)")
    if os.name != "nt":
        mode = manifest.stat().st_mode
        if mode & (stat.S_IWOTH | stat.S_IWGRP):
            report.problems.append(f"can be changed by other users (mode {stat.S_IMODE(mode):o})")
            report.fixes.append(f"chmod go-w '{manifest}'")
    path = data.get("path") if isinstance(data, dict) else None
    if not isinstance(path, str) or not path or not _check_launcher(path, report, scope_hint):
        return report
    args = origin_args(family, str(manifest), ids)  # type: ignore[arg-type]
    key = (path, tuple(args))
    if key not in cache:
        cache[key] = hello(path, args)
    result, error = cache[key]
    if error:
        report.problems.append(error)
        report.fixes.append(
            f"start it by hand to see why: printf '' | '{path}' {' '.join(repr(a) for a in args)}; "
            f"if photodedup moved, run `photodedup install-host{scope_hint}` again"
        )
    report.host = result
    return report


def _extra_ids(records: list[InstallRecord]) -> list[tuple[str, str]]:
    out = []
    for r in records:
        for i in r.extra_extension_ids:
            try:
                out.append(normalise_extension_id(i))
            except InstallError:
                continue
    return out


def run_doctor(
    user: Roots, system: Roots, browsers: list[str] | None, user_data_dirs: list[str], detected: list[str]
) -> list[BrowserReport]:
    records = [r for r in (load_record(Path(user.record)), load_record(Path(system.record))) if r]
    ids = load_extension_ids().plus(_extra_ids(records))  # type: ignore[arg-type]
    if browsers and "all" in browsers:
        names = [b.name for b in BROWSERS]
    elif browsers:
        names = list(browsers)
    else:
        wanted = set(detected).union(*(r.browsers for r in records))
        names = [b.name for b in BROWSERS if b.name in wanted] or (
            [] if user_data_dirs or any(r.user_data_dirs for r in records) else [b.name for b in BROWSERS]
        )
    profiles = list(
        dict.fromkeys(
            [str(Path(d).expanduser().absolute()) for d in user_data_dirs]
            + [d for r in records for d in r.user_data_dirs]
        )
    )
    cache: dict = {}
    reports = []
    for name in names:
        b = browser(name)
        rep = BrowserReport(name, b.label)
        for roots in (user, system):
            hint = " --system" if roots.scope == "system" else ""
            if roots.platform == "win32":
                for k in registry_keys(b, roots.scope):
                    value = winreg_io.get_default(k.hive, k.key)
                    if value is not None:
                        rep.manifests.append(
                            _check_one(Path(value), b.family, ids, hint, cache, f"{k} -> {value}")
                        )
                continue
            for path in manifest_paths(roots, [name], []):
                if path.exists() or path.is_symlink():
                    rep.manifests.append(_check_one(path, b.family, ids, hint, cache))
        recorded = [e.path for r in records for e in r.files if e.kind == "manifest" and name in e.browsers]
        found = {m.location for m in rep.manifests}
        for gone in (p for p in recorded if p not in found and not Path(p).exists()):
            rep.problems.append(f"install-host wrote {gone}, and it is gone")
        if not rep.manifests:
            rep.problems.append(f"no host manifest where {b.label} looks for one")
        if rep.problems:
            rep.fixes.append(f"run `photodedup install-host --browser {name}` (add --system for every user)")
        reports.append(rep)
    for d in profiles:
        rep = BrowserReport(f"profile:{d}", f"Chromium profile folder {d}")
        manifest = Path(d) / "NativeMessagingHosts" / MANIFEST_FILE
        if manifest.exists():
            rep.manifests.append(_check_one(manifest, "chromium", ids, f" --user-data-dir '{d}'", cache))
        else:
            rep.problems.append(f"no host manifest in {manifest.parent}")
            rep.fixes.append(f"run `photodedup install-host --user-data-dir '{d}'`")
        reports.append(rep)
    return reports


def format_reports(reports: list[BrowserReport]) -> str:
    lines = []
    for r in reports:
        lines.append(f"{'ok  ' if r.ok else 'FAIL'} {r.label}")
        for m in r.manifests:
            host = (
                f" (host {m.host.get('version', '?')}, protocol {m.host.get('protocol')})" if m.host else ""
            )
            lines.append(f"     {'ok  ' if m.ok else 'FAIL'} {m.location}{host}")
            lines += [f"          - {p}" for p in m.problems]
            lines += [f"          fix: {f}" for f in dict.fromkeys(m.fixes)]
        lines += [f"     - {p}" for p in r.problems]
        lines += [f"     fix: {f}" for f in r.fixes]
    bad = sum(not r.ok for r in reports)
    lines.append("all good" if not bad else f"{bad} of {len(reports)} need attention")
    return "\n".join(lines)
