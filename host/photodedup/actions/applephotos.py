"""What only Photos can do: the plan's library removals and keeper edits as osxphotos commands.

Nothing on Linux can write a Photos library (and photodedup never writes one anywhere):
removals become an album the user reviews and deletes from in Photos (deleted items stay
in Recently Deleted for 30 days), keeper gains become ``osxphotos batch-edit`` commands.
On macOS with the osxphotos CLI, :func:`run_apple_actions` runs them; elsewhere it only
writes ``uuids-to-remove.txt`` per library and a shell-quoted ``apply-in-photos.sh`` to
review and run on the Mac.

Command options were checked against osxphotos 0.77.2 (``cli/query.py``,
``cli/batch_edit.py``): ``query --add-to-album`` takes a plain album name and only works
on the library last opened in Photos; ``batch-edit`` edits the library open in Photos and
reads ``--keyword``, ``--description`` and ``--add-to-album`` as templates, so literal
text is escaped with the template language's punctuation fields.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from photodedup.actions.plan import source_folder_name

__all__ = [
    "DEFAULT_ALBUM",
    "REMOVE_FILE",
    "SCRIPT_NAME",
    "AppleFiles",
    "AppleReport",
    "CommandResult",
    "apple_section",
    "osxphotos_cli",
    "run_apple_actions",
    "template_literal",
    "write_apple_files",
]

DEFAULT_ALBUM = "photodedup: duplicates to delete"
REMOVE_FILE = "uuids-to-remove.txt"
SCRIPT_NAME = "apply-in-photos.sh"

# Characters the osxphotos template parser does not take literally outside a {field}
# (found by rendering with osxphotos 0.77.2), and layout characters kept off script lines.
_TEMPLATE_ESCAPES = {
    "{": "{openbrace}",
    "}": "{closebrace}",
    ",": "{comma}",
    "?": "{questionmark}",
    "\n": "{newline}",
    "\r": "{cr}",
    "\t": "{tab}",
}


def template_literal(text: str) -> str:
    """``text`` as an osxphotos template that renders to exactly ``text``."""
    return "".join(_TEMPLATE_ESCAPES.get(ch, ch) for ch in text)


def apple_section(removals: list[dict], merges: list[dict], *, album: str = DEFAULT_ALBUM) -> dict:
    """The plan's ``apple`` object: per library, the uuids to remove, keeper edits, commands."""
    libs: dict[str, dict] = {}

    def lib(root: str) -> dict:
        if root not in libs:
            folder = source_folder_name(root)
            libs[root] = {
                "library": root,
                "folder": folder,
                "remove": [],
                "remove_file": f"{folder}/{REMOVE_FILE}",
                "keepers": [],
                "commands": [],
            }
        return libs[root]

    for r in removals:
        if r.get("action") == "photos":
            entry = lib(r["library"])
            if r["uuid"] not in entry["remove"]:
                entry["remove"].append(r["uuid"])
    for m in merges:
        if m.get("target") == "photos" and m.get("uuid") and m.get("library"):
            lib(m["library"])["keepers"].append(
                {"uuid": m["uuid"], "keeper": m["keeper"], "gains": m["gains"]}
            )
    for entry in libs.values():
        entry["commands"] = _commands(entry, album)
    return {
        "album": album,
        "script": SCRIPT_NAME,
        "note": (
            "Photos libraries are never written by photodedup. Open the library in Photos, run "
            f"{SCRIPT_NAME} (macOS, osxphotos), review the album {album!r} in Photos and delete its "
            "items there yourself; they stay in Recently Deleted for 30 days."
        ),
        "libraries": list(libs.values()),
    }


def _commands(entry: dict, album: str) -> list[list[str]]:
    lib = entry["library"]
    out = []
    if entry["remove"]:
        query = ["osxphotos", "query", "--library", lib, "--uuid-from-file", entry["remove_file"]]
        out.append([*query, "--add-to-album", album])
    for k in entry["keepers"]:
        g = k["gains"]
        cmd = ["osxphotos", "batch-edit", "--library", lib, "--uuid", k["uuid"]]
        for kw in g.get("keywords", []):
            cmd += ["--keyword", template_literal(kw)]
        for a in g.get("albums", []):
            cmd += ["--add-to-album", template_literal(a)]
        if g.get("favorite"):
            cmd.append("--set-favorite")
        if g.get("description"):
            cmd += ["--description", template_literal(g["description"])]
        if g.get("gps"):
            cmd += ["--location", repr(float(g["gps"]["lat"])), repr(float(g["gps"]["lon"]))]
        if len(cmd) > 6:
            out.append(cmd)
    return out


# -- files for the user -------------------------------------------------------------
@dataclass(slots=True)
class AppleFiles:
    folder: Path
    script: Path | None = None
    uuid_files: list[Path] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)


def write_apple_files(plan: dict, out_dir: str | Path) -> AppleFiles:
    """Write ``<lib-folder>/uuids-to-remove.txt`` per library and ``apply-in-photos.sh``.

    Commands use paths relative to ``out_dir`` (the script starts with ``cd`` to its own
    folder), so the folder can be copied to the Mac as a whole.
    """
    out = Path(out_dir)
    files = AppleFiles(folder=out)
    libs = plan.get("apple", {}).get("libraries", [])
    if not libs:
        return files
    out.mkdir(parents=True, exist_ok=True)
    names = {r["uuid"]: r for r in plan.get("removals", []) if r.get("action") == "photos"}
    for entry in libs:
        files.commands.extend(entry["commands"])
        if not entry["remove"]:
            continue
        path = out / entry["remove_file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [
            f"# photodedup plan {plan['id']}: {len(entry['remove'])} assets of",
            f"# {entry['library']}",
            f"# to add to the album {plan['apple']['album']!r}; delete them in Photos after review.",
        ]
        for uuid in entry["remove"]:
            r = names.get(uuid, {})
            why = " ".join(f"{r.get('name') or ''} {r.get('reason') or ''}".split())
            lines += [f"# {why}"[:300], uuid]
        _write_text(path, "\n".join(lines) + "\n")
        files.uuid_files.append(path)
    files.script = out / SCRIPT_NAME
    _write_text(files.script, _script(plan, libs))
    files.script.chmod(0o755)
    return files


def _script(plan: dict, libs: list[dict]) -> str:
    album = plan["apple"]["album"]
    lines = [
        "#!/bin/sh",
        f"# Written by photodedup for plan {plan['id']} ({plan.get('created', '')}). Review it first.",
        "# Nothing here deletes anything. On the Mac, with osxphotos installed:",
        "#  1. open the library in Photos (osxphotos adds to albums of the library open in Photos;",
        "#     hold Option while starting Photos to choose a library);",
        "#  2. run: sh " + SCRIPT_NAME,
        f"#  3. in Photos, open the album {album!r}, check it, select all and delete;",
        "#     Photos keeps deleted items in Recently Deleted for 30 days.",
        "# If the library is somewhere else on the Mac, change its LIBRARY_n line below.",
        "set -eu",
        'cd "$(dirname "$0")"',
    ]
    for n, entry in enumerate(libs, 1):
        var = f"LIBRARY_{n}"
        lines += ["", f"{var}={shlex.quote(entry['library'])}"]
        for cmd in entry["commands"]:
            words = [f'"${var}"' if w == entry["library"] else shlex.quote(w) for w in cmd]
            lines.append(" ".join(words))
    return "\n".join(lines) + "\n"


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# -- running them (macOS) -----------------------------------------------------------
@dataclass(slots=True)
class CommandResult:
    argv: list[str]
    returncode: int
    output: str = ""


@dataclass(slots=True)
class AppleReport:
    files: AppleFiles
    ran: bool
    message: str
    results: list[CommandResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.returncode == 0 for r in self.results)


def osxphotos_cli() -> str | None:
    """The osxphotos command: on PATH, or next to this Python (a venv not activated)."""
    found = shutil.which("osxphotos")
    if found:
        return found
    beside = Path(sys.executable).parent / "osxphotos"
    return str(beside) if beside.is_file() else None


def run_apple_actions(
    plan: dict,
    out_dir: str | Path,
    *,
    platform: str | None = None,
    osxphotos: str | None = None,
    timeout: float = 3600,
) -> AppleReport:
    """Write the files, and on macOS with osxphotos run the commands (argument lists, no shell)."""
    files = write_apple_files(plan, out_dir)
    if not files.commands:
        return AppleReport(files, False, "no Photos library changes in this plan")
    platform = platform or sys.platform
    exe = osxphotos or osxphotos_cli()
    if platform != "darwin":
        return AppleReport(
            files,
            False,
            f"Photos libraries can only be changed on macOS: review {files.script} and run it on the Mac "
            "with the library open in Photos.",
        )
    if not exe:
        return AppleReport(files, False, f"osxphotos is not installed: install it, then run {files.script}.")
    report = AppleReport(files, True, "")
    for cmd in files.commands:
        argv = [exe, *cmd[1:]]
        try:
            p = subprocess.run(
                argv, cwd=files.folder, capture_output=True, text=True, timeout=timeout, check=False
            )
            report.results.append(CommandResult(cmd, p.returncode, (p.stdout + p.stderr)[-4000:]))
        except (OSError, subprocess.TimeoutExpired) as e:
            report.results.append(CommandResult(cmd, -1, str(e)))
    failed = sum(r.returncode != 0 for r in report.results)
    album = plan["apple"]["album"]
    report.message = (
        f"ran {len(report.results)} osxphotos commands ({failed} failed); "
        f"now review the album {album!r} in Photos and delete its items there."
    )
    return report
