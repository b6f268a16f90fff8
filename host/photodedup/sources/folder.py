"""Walk a folder for media files, without following a symlink loop twice.

An Apple Photos library or a Google Takeout export found inside the folder is
handed back as such, so the scanner reads it as a library instead of as loose
files (a library's derivatives would otherwise look like duplicates of its originals).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["FoundFile", "FoundLibrary", "FoundTakeout", "WalkError", "walk"]

# Names never worth opening: macOS resource forks and Finder/Windows litter.
_IGNORED_FILES = {".DS_Store", "Thumbs.db", "desktop.ini", "Icon\r"}
_IGNORED_DIRS = {".git", ".Trashes", ".Spotlight-V100", ".fseventsd", "@eaDir", "$RECYCLE.BIN"}


@dataclass(frozen=True, slots=True)
class FoundFile:
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class FoundLibrary:
    path: str


@dataclass(frozen=True, slots=True)
class FoundTakeout:
    path: str


@dataclass(frozen=True, slots=True)
class WalkError:
    path: str
    reason: str


def is_media_name(name: str) -> bool:
    from photodedup.media.sniff import MEDIA_EXTENSIONS

    ext = os.path.splitext(name)[1].lower().lstrip(".")
    return ext in MEDIA_EXTENSIONS or f".{ext}" in MEDIA_EXTENSIONS


def walk(
    root: str, *, detect_collections: bool = True
) -> Iterator[FoundFile | FoundLibrary | FoundTakeout | WalkError]:
    """Yield media files (by extension; content is checked later) in a stable order."""
    from photodedup.sources.applephotos import is_photos_library
    from photodedup.sources.takeout import is_takeout

    seen_dirs: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
        except OSError as e:
            yield WalkError(folder, f"cannot open folder: {e.strerror or e}")
            continue
        ident = (st.st_dev, st.st_ino)
        if ident in seen_dirs:
            continue  # a symlink loop, or a second link to a folder already walked
        seen_dirs.add(ident)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            yield WalkError(folder, f"cannot list folder: {e.strerror or e}")
            continue
        subdirs = []
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir()  # follows symlinks
            except OSError:
                is_dir = False
            if is_dir:
                if name in _IGNORED_DIRS:
                    continue
                if detect_collections and is_photos_library(entry.path):
                    yield FoundLibrary(entry.path)
                elif detect_collections and name == "Takeout" and is_takeout(entry.path):
                    yield FoundTakeout(entry.path)
                else:
                    subdirs.append(entry.path)
                continue
            if name in _IGNORED_FILES or name.startswith("._") or not is_media_name(name):
                continue
            try:
                est = entry.stat()
            except FileNotFoundError:
                continue  # vanished between listing and stat: it is simply not there any more
            except OSError as e:
                yield WalkError(entry.path, f"cannot stat file: {e.strerror or e}")
                continue
            if not _is_regular(est.st_mode):
                continue
            yield FoundFile(entry.path, est.st_size, est.st_mtime_ns)
        stack.extend(reversed(subdirs))


def _is_regular(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)
