"""`install-host` and `uninstall-host`: plan what to write, write it, record it; remove exactly that.

A re-run rewrites everything the previous install wrote (so moving photodedup is fixed by running it
again) and keeps its browsers, profile folders, extra ids and store unless they are given again.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from photodedup.install import winreg_io
from photodedup.install.browsers import (
    BROWSERS,
    HOST_NAME,
    browser,
    manifest_dirs,
    registry_keys,
    windows_manifest_path,
)
from photodedup.install.launcher import launcher_bat, launcher_sh
from photodedup.install.manifest import (
    InstallError,
    load_extension_ids,
    normalise_extension_id,
    render_manifest,
)
from photodedup.install.record import (
    FileEntry,
    InstallRecord,
    RegistryEntry,
    load_record,
    sha256_bytes,
    sha256_file,
    write_atomic,
)
from photodedup.install.roots import Roots

__all__ = ["InstallOptions", "Plan", "apply_plan", "manifest_paths", "plan_install", "uninstall"]

HOST_CONFIG_ENV = "PHOTODEDUP_HOST_CONFIG"  # read by photodedup.nativehost.origin
DB_ENV = "PHOTODEDUP_DB"
MANIFEST_FILE = f"{HOST_NAME}.json"


@dataclass
class InstallOptions:
    browsers: list[str] | None = None  # None: what the previous install had, plus the browsers found
    extension_ids: list[str] | None = None  # None: keep the previous install's
    user_data_dirs: list[str] = field(default_factory=list)
    db: str | None = None
    python: str = field(default_factory=lambda: os.path.abspath(sys.executable))


@dataclass
class FileWrite:
    entry: FileEntry
    content: bytes
    mode: int


@dataclass
class Plan:
    roots: Roots
    record: InstallRecord
    writes: list[FileWrite]
    stale: list[FileEntry | RegistryEntry]
    new_dirs: list[Path]


def manifest_paths(
    roots: Roots, names: list[str], user_data_dirs: list[str]
) -> dict[Path, tuple[str, list[str]]]:
    """manifest path -> (family, browsers) for POSIX platforms; browsers sharing a folder share the file."""
    out: dict[Path, tuple[str, list[str]]] = {}
    for name in names:
        b = browser(name)
        dirs = manifest_dirs(
            b,
            roots.platform,
            roots.scope,
            home=roots.home,
            config_home=roots.config_home,
            system_root=roots.system_root,
        )
        lib64 = Path(roots.system_root) / "usr/lib64/mozilla"
        if name == "firefox" and roots.platform == "linux" and roots.scope == "system" and lib64.is_dir():
            dirs.append(lib64 / "native-messaging-hosts")
        for d in dirs:
            out.setdefault(Path(d) / MANIFEST_FILE, (b.family, []))[1].append(name)
    for d in user_data_dirs:
        out.setdefault(Path(d) / "NativeMessagingHosts" / MANIFEST_FILE, ("chromium", []))[1].append(
            f"profile:{d}"
        )
    return out


def _missing_ancestors(path: Path) -> list[Path]:
    missing = []
    p = path.parent
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    return missing[::-1]


def _host_config_bytes(path: Path, ids: list[str], previous: FileEntry | None) -> tuple[bytes, bool]:
    """host.json with our key set, other keys kept; and whether we create the file (or merge into one)."""
    data: dict = {}
    created = previous.created if previous else True
    if path.exists():
        if previous is None:
            created = False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise InstallError(
                f"{path} is not readable JSON ({e}); fix or remove it, then run this again"
            ) from e
        if not isinstance(data, dict):
            raise InstallError(f"{path} is not a JSON object; fix or remove it, then run this again")
    data["allowed_extension_ids"] = ids
    return (json.dumps(data, indent=2) + "\n").encode(), created


def plan_install(opts: InstallOptions, roots: Roots, detected: list[str]) -> Plan:
    """Everything the install will write, computed before anything is written."""
    if roots.scope == "system" and opts.user_data_dirs:
        raise InstallError("--user-data-dir is a per-user profile folder: it cannot go with --system")
    if roots.platform == "win32" and opts.user_data_dirs:
        raise InstallError("--user-data-dir does not apply on Windows: Chromium reads the registry there")
    previous = load_record(Path(roots.record))
    if opts.browsers is not None:
        chosen = [b.name for b in BROWSERS] if "all" in opts.browsers else list(opts.browsers)
    elif opts.user_data_dirs:
        chosen = []  # only the profile folders asked for
    else:
        chosen = detected or [b.name for b in BROWSERS]
    names = [b.name for b in BROWSERS if b.name in chosen or (previous and b.name in previous.browsers)]
    profile_dirs = list(
        dict.fromkeys(
            [str(Path(d).expanduser().absolute()) for d in opts.user_data_dirs]
            + (previous.user_data_dirs if previous else [])
        )
    )
    if opts.extension_ids is not None:
        extra = [normalise_extension_id(i) for i in opts.extension_ids]
    else:
        extra = [normalise_extension_id(i) for i in (previous.extra_extension_ids if previous else [])]
    ids = load_extension_ids().plus(extra)
    if ids.host_name != HOST_NAME:
        raise InstallError(
            f"extension-ids.json names the host {ids.host_name!r}, the installer {HOST_NAME!r}"
        )
    extra_ids = list(dict.fromkeys(i for _, i in extra))
    db = opts.db or (previous.db if previous else None)
    if db:
        db = str(Path(db).expanduser().absolute())

    old_files = {e.path: e for e in previous.files} if previous else {}
    writes: list[FileWrite] = []

    def add(kind, path: Path, content: bytes, mode: int, browsers=(), family=None, created=None):
        if created is None:
            old = old_files.get(str(path))
            created = old.created if old else not path.exists()
        entry = FileEntry(
            kind=kind,
            path=str(path),
            sha256=sha256_bytes(content),
            browsers=list(browsers),
            family=family,
            created=created,
        )
        writes.append(FileWrite(entry, content, mode))

    host_config = Path(roots.host_config)
    config_bytes, config_created = _host_config_bytes(host_config, extra_ids, old_files.get(str(host_config)))
    add("host_config", host_config, config_bytes, 0o644, created=config_created)
    env = {HOST_CONFIG_ENV: str(host_config)}
    if db:
        env[DB_ENV] = db
    launcher = Path(roots.launcher)
    script = launcher_bat(opts.python, env) if roots.platform == "win32" else launcher_sh(opts.python, env)
    add("launcher", launcher, script.encode(), 0o755)

    registry: list[RegistryEntry] = []
    if roots.platform == "win32":
        for family in ("chromium", "firefox"):
            fam_names = [n for n in names if browser(n).family == family]
            if not fam_names:
                continue
            path = Path(windows_manifest_path(roots.app_dir, family))
            manifest = render_manifest(family, str(launcher), ids)
            add("manifest", path, (json.dumps(manifest, indent=2) + "\n").encode(), 0o644, fam_names, family)
            for n in fam_names:
                for k in registry_keys(browser(n), roots.scope):
                    same = next((r for r in registry if r.key == k.key and r.hive == k.hive), None)
                    if same:
                        same.browsers.append(n)
                    else:
                        registry.append(RegistryEntry(hive=k.hive, key=k.key, value=str(path), browsers=[n]))
    else:
        for path, (family, browsers) in manifest_paths(roots, names, profile_dirs).items():
            manifest = render_manifest(family, str(launcher), ids)
            add("manifest", path, (json.dumps(manifest, indent=2) + "\n").encode(), 0o644, browsers, family)

    new_paths = {w.entry.path for w in writes}
    stale: list[FileEntry | RegistryEntry] = [
        e for e in (previous.files if previous else []) if e.path not in new_paths
    ]
    new_keys = {(r.hive, r.key) for r in registry}
    stale += [r for r in (previous.registry if previous else []) if (r.hive, r.key) not in new_keys]
    new_dirs = list(dict.fromkeys(d for w in writes for d in _missing_ancestors(Path(w.entry.path))))
    new_dirs += [d for d in _missing_ancestors(Path(roots.record)) if d not in new_dirs]
    record = InstallRecord(
        scope=roots.scope,
        platform=roots.platform,
        written=datetime.now(UTC).isoformat(timespec="seconds"),
        python=opts.python,
        browsers=names,
        user_data_dirs=profile_dirs,
        extra_extension_ids=extra_ids,
        db=db,
        files=[w.entry for w in writes],
        registry=registry,
        created_dirs=list(
            dict.fromkeys((previous.created_dirs if previous else []) + [str(d) for d in new_dirs])
        ),
    )
    return Plan(roots, record, writes, stale, new_dirs)


def _save_record(roots: Roots, record: InstallRecord) -> None:
    write_atomic(Path(roots.record), (record.model_dump_json(indent=2) + "\n").encode(), 0o644)


def apply_plan(plan: Plan) -> list[str]:
    """Write the plan; returns one line per change. The record is written first (with what is about to be
    written as well as what the previous install left), so a crash midway still leaves a complete record."""
    if plan.record.registry and sys.platform != "win32":
        raise InstallError("registry keys can only be written on Windows")
    lines = []
    for d in plan.new_dirs:
        d.mkdir(mode=0o755, exist_ok=True)
    interim = plan.record.model_copy(
        update={
            "files": plan.record.files + [e for e in plan.stale if isinstance(e, FileEntry)],
            "registry": plan.record.registry + [e for e in plan.stale if isinstance(e, RegistryEntry)],
        }
    )
    _save_record(plan.roots, interim)
    for w in plan.writes:
        path = Path(w.entry.path)
        before = sha256_file(path)
        write_atomic(path, w.content, w.mode)
        verb = "wrote" if before is None else ("unchanged" if before == w.entry.sha256 else "rewrote")
        lines.append(
            f"{verb} {w.entry.kind} {path}"
            + (f" ({', '.join(w.entry.browsers)})" if w.entry.browsers else "")
        )
    for r in plan.record.registry:
        winreg_io.set_default(r.hive, r.key, r.value)
        lines.append(f"set {r.hive}\\{r.key} = {r.value} ({', '.join(r.browsers)})")
    for e in plan.stale:
        lines.append(_remove(e))
    _save_record(plan.roots, plan.record)
    lines.append(f"recorded in {plan.roots.record}")
    return lines


def _remove(e: FileEntry | RegistryEntry) -> str:
    """Undo one recorded write, only if it is still exactly what we wrote."""
    if isinstance(e, RegistryEntry):
        current = winreg_io.get_default(e.hive, e.key)
        if current is None:
            return f"already gone: {e.hive}\\{e.key}"
        if current != e.value:
            return f"kept {e.hive}\\{e.key}: it now names {current}, not what install-host set"
        winreg_io.delete_key(e.hive, e.key)
        return f"removed {e.hive}\\{e.key}"
    path = Path(e.path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return f"already gone: {path}"
    if not stat.S_ISREG(st.st_mode) or sha256_file(path) != e.sha256:
        return f"kept {path}: it changed since install-host wrote it"
    if e.kind == "host_config" and not e.created:
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("allowed_extension_ids", None)
        write_atomic(path, (json.dumps(data, indent=2) + "\n").encode(), stat.S_IMODE(st.st_mode))
        return f"removed our key from {path} (the file was there before)"
    path.unlink()
    return f"removed {path}"


def uninstall(roots: Roots) -> list[str]:
    """Remove what the record lists, where unchanged; then the record; then the empty folders we created."""
    record = load_record(Path(roots.record))
    if record is None:
        return [f"nothing to remove: no install record at {roots.record}"]
    if record.registry and sys.platform != "win32":
        raise InstallError("this install record has registry keys: run uninstall-host on Windows")
    lines = [_remove(e) for e in [*record.files, *record.registry]]
    Path(roots.record).unlink()
    lines.append(f"removed {roots.record}")
    for d in sorted(record.created_dirs, key=lambda p: p.count(os.sep), reverse=True):
        try:
            os.rmdir(d)
            lines.append(f"removed empty folder {d}")
        except FileNotFoundError:
            pass
        except OSError:
            lines.append(f"kept folder {d}: not empty")
    return lines
