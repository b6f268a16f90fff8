"""The install record: exactly what `install-host` wrote, so `uninstall-host` removes that and nothing else.

One JSON file per scope, next to the launcher. Each file is kept with the SHA-256 of the bytes written:
a file whose bytes changed since then is someone else's now and stays.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

__all__ = [
    "FileEntry",
    "InstallRecord",
    "RegistryEntry",
    "load_record",
    "sha256_bytes",
    "sha256_file",
    "write_atomic",
]


class FileEntry(BaseModel):
    kind: Literal["manifest", "launcher", "host_config"]
    path: str
    sha256: str
    browsers: list[str] = []
    family: Literal["chromium", "firefox"] | None = None
    created: bool = True  # False: the file was there before (host.json we merged our key into)


class RegistryEntry(BaseModel):
    hive: Literal["HKCU", "HKLM"]
    key: str
    value: str  # the manifest path we set as the default value
    browsers: list[str] = []


class InstallRecord(BaseModel):
    version: int = 1
    scope: Literal["user", "system"]
    platform: str
    written: str
    python: str
    browsers: list[str] = []
    user_data_dirs: list[str] = []
    extra_extension_ids: list[str] = []
    db: str | None = None
    files: list[FileEntry] = []
    registry: list[RegistryEntry] = []
    created_dirs: list[str] = []  # folders that did not exist before; removed on uninstall when empty


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str | None:
    try:
        return sha256_bytes(path.read_bytes())
    except OSError:
        return None


def load_record(path: Path) -> InstallRecord | None:
    """The record at ``path``, or None. A damaged record is an error: guessing may delete the wrong files."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return InstallRecord.model_validate(json.loads(text))
    except (ValueError, ValidationError) as e:
        from photodedup.install.manifest import InstallError

        raise InstallError(
            f"the install record {path} is damaged ({type(e).__name__}); remove it by hand"
        ) from e


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write through a temporary file and rename: readers see the old file or the new one, never half.

    The rename replaces a symlink at ``path`` rather than writing through it; ``mode`` is set explicitly,
    whatever the umask, so nothing we write is group- or world-writable.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
