"""The `photodedup` command: a thin click layer, one library call per command.

Exit codes scripts can rely on:
  0  all good
  1  the command finished, but some items failed (listed, and recorded in the store)
  2  usage error (bad option, missing PATH)
  3  the command could not run (store unusable, unexpected failure)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from photodedup import __version__

EXIT_OK, EXIT_ITEMS_FAILED, EXIT_USAGE, EXIT_FATAL = 0, 1, 2, 3


def _open_store(db: str | None):
    from photodedup.store.db import Store, StoreError, default_db_path

    try:
        return Store(db or default_db_path())
    except StoreError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_FATAL)


db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False),
    envvar="PHOTODEDUP_DB",
    help="Store file (default: the platform's data folder; env PHOTODEDUP_DB).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="photodedup")
def cli() -> None:
    """Find duplicate photos across folders, Apple Photos libraries and Google Takeout exports."""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@db_option
@click.option(
    "--exact", is_flag=True, help="Full-resolution decode, no EXIF rotation: imagededup's hashes bit for bit."
)
@click.option(
    "--pixel-signature", is_flag=True, help="Also compute ImageMagick's pixel signature (a full decode)."
)
@click.option(
    "--workers", type=click.IntRange(1), default=None, help="Worker processes (default: every core)."
)
@click.option(
    "--json-log", type=click.File("w", encoding="utf-8"), help="Write one JSON line per item to FILE."
)
@click.option(
    "--max-pixels",
    type=click.IntRange(1),
    default=200_000_000,
    show_default=True,
    help="Refuse to decode images with more pixels than this (decompression bombs).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def scan(paths, db, exact, pixel_signature, workers, json_log, max_pixels, quiet) -> None:
    """Fingerprint every photo and video under PATH... into the store.

    Each PATH may be a folder (scanned recursively), an Apple Photos library
    (*.photoslibrary or its database/Photos.sqlite), a Google Takeout export, or a file.
    Re-running skips what is unchanged and finishes an interrupted scan.
    """
    from photodedup.fingerprint.file import FingerprintOptions
    from photodedup.scan.engine import ScanOptions, ScanUsageError
    from photodedup.scan.engine import scan as run_scan

    store = _open_store(db)
    options = ScanOptions(
        fingerprint=FingerprintOptions(exact=exact, pixel_signature=pixel_signature, max_pixels=max_pixels),
        workers=workers,
        json_log=json_log,
    )
    progress = None if quiet else _Progress()
    try:
        report = run_scan(list(paths), store, options, on_progress=progress)
    except ScanUsageError as e:
        raise click.UsageError(str(e)) from e
    finally:
        if progress:
            progress.close()
    click.echo(
        f"scanned {report.seen} items: {report.new} new, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.moved} moved, {report.reused} reused by digest, "
        f"{report.gone} gone, "
        f"{report.not_on_disk} not on disk (iCloud), {report.failed} failed"
    )
    click.echo(f"store: {store.path}")
    if report.failures:
        click.echo(f"{len(report.failures)} item(s) could not be fingerprinted:", err=True)
        for path, reason in report.failures[:50]:
            click.echo(f"  {path}: {reason}", err=True)
        if len(report.failures) > 50:
            click.echo(f"  ... and {len(report.failures) - 50} more (see --json-log)", err=True)
        sys.exit(EXIT_ITEMS_FAILED)


@cli.command("hash")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", show_default=True)
@click.option(
    "--exact", is_flag=True, help="Full-resolution decode, no EXIF rotation: imagededup bit for bit."
)
@click.option("--pixel-signature", is_flag=True, help="Also compute ImageMagick's pixel signature.")
def hash_cmd(files, fmt, exact, pixel_signature) -> None:
    """Print the fingerprints of FILE... without touching the store."""
    from dataclasses import asdict

    from photodedup.fingerprint.file import FingerprintOptions, fingerprint_path

    options = FingerprintOptions(exact=exact, pixel_signature=pixel_signature)
    failed = 0
    results = []
    for f in files:
        fp = fingerprint_path(f, options)
        failed += bool(fp.error)
        results.append(asdict(fp))
    if fmt == "json":
        click.echo(json.dumps(results if len(results) > 1 else results[0], indent=2, ensure_ascii=False))
    else:
        for r in results:
            if r["error"]:
                click.echo(f"{r['path']}: error: {r['error']}")
                continue
            h = r["hashes"] or {}
            d = r["digests"] or {}
            click.echo(
                f"{r['path']}: {r['format']} {r['width']}x{r['height']} blake3={d.get('blake3', '')[:16]} "
                + " ".join(f"{k}={v}" for k, v in h.items())
            )
    sys.exit(EXIT_ITEMS_FAILED if failed else EXIT_OK)


@cli.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def report(db, fmt) -> None:
    """Report what the store holds: counts, failures, exact duplicates (same bytes or Apple fingerprint)."""
    from photodedup.report import exact_duplicate_groups, summary

    store = _open_store(db)
    data = summary(store)
    groups = exact_duplicate_groups(store)
    if fmt == "json":
        click.echo(json.dumps({**data, "exact_groups": groups}, indent=2, ensure_ascii=False))
        return
    click.echo(f"store: {store.path}")
    click.echo(
        f"items: {data['items']}  " + "  ".join(f"{k}: {v}" for k, v in sorted(data["by_status"].items()))
    )
    click.echo(f"exact duplicate groups: {len(groups)} ({data['reclaimable_bytes']:,} bytes in extra copies)")
    for g in groups:
        click.echo(f"- {g['reason']} ({len(g['members'])} copies, {g['size'] or 0:,} bytes each)")
        for m in g["members"]:
            click.echo(f"    {m['path'] or '(not on disk) ' + (m['uuid'] or '')}")
    if data["failures"]:
        click.echo(f"failed items: {len(data['failures'])}")
        for f in data["failures"][:20]:
            click.echo(f"    {f['path']}: {f['error']}")


@cli.command()
@db_option
def status(db) -> None:
    """Show the store's location, schema version, counts and last scan."""
    store = _open_store(db)
    c = store.counts()
    click.echo(f"store: {store.path} (schema {store.schema_version})")
    click.echo(json.dumps(c, indent=2, default=str))


@cli.command()
@click.option("--files", type=click.IntRange(1), default=60, show_default=True, help="Images per format.")
@click.option("--skip-imagededup", is_flag=True, help="Leave out the imagededup columns.")
def bench(files, skip_imagededup) -> None:
    """Benchmark the scan against imagededup and the decode floor (runs scripts/bench)."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "bench"
    if not script.exists():
        raise click.UsageError("scripts/bench is only in a source checkout")
    args = [sys.executable, str(script), "--files", str(files)]
    if skip_imagededup:
        args.append("--skip-imagededup")
    os.execv(sys.executable, args)


class _Progress:
    """A rich progress bar on stderr, only when stderr is a terminal."""

    def __init__(self):
        self.bar = None
        self.task = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("fingerprinting"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.description}", style="dim"),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()

    def __call__(self, done: int, total: int, path: str) -> None:
        if self.bar is None:
            return
        if self.task is None:
            self.task = self.bar.add_task("", total=total)
        self.bar.update(self.task, completed=done, description=os.path.basename(path)[:40])

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted: run the same command again to finish", err=True)
        sys.exit(130)
    except Exception as e:  # anything unexpected is a failure to run, never "some items failed"
        click.echo(f"error: {type(e).__name__}: {e}", err=True)
        sys.exit(EXIT_FATAL)
