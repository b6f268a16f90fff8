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

# The scan's parallelism is its worker processes; BLAS thread pools inside each one only fight them for
# cores. OpenBLAS reads this once, when numpy loads, which sqlite-utils already triggers: set it first.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import click  # noqa: E402

from photodedup import __version__  # noqa: E402

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
@click.option(
    "--no-motion-video",
    is_flag=True,
    help="Do not fingerprint the video inside motion photos (~1 s each); a later scan without it does.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def scan(paths, db, exact, pixel_signature, workers, json_log, max_pixels, no_motion_video, quiet) -> None:
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
        fingerprint=FingerprintOptions(
            exact=exact,
            pixel_signature=pixel_signature,
            max_pixels=max_pixels,
            motion_video=not no_motion_video,
        ),
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
            mo = r.get("motion")
            click.echo(
                f"{r['path']}: {r['format']} {r['width']}x{r['height']} blake3={d.get('blake3', '')[:16]} "
                + " ".join(f"{k}={v}" for k, v in h.items())
                + (f" motion-video={mo['offset']}+{mo['length']}" if mo else "")
                + (f" motion-video-hash={mo['video_hash']}" if mo and mo.get("video_hash") else "")
                + (f" video={r['video_hash']}" if r.get("video_hash") else "")
            )
    sys.exit(EXIT_ITEMS_FAILED if failed else EXIT_OK)


@cli.command("extract-video")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for the videos (created if missing). Existing files are never overwritten.",
)
def extract_video(files, out_dir) -> None:
    """Write the video inside each motion photo FILE... (Google/Samsung, JPEG or HEIC) to OUT/<name>.mp4.

    The photos are only read, never changed.
    """
    from photodedup.media.motion import MotionVideoError, extract_motion_video

    failed = 0
    for f in files:
        try:
            dest, mv = extract_motion_video(f, out_dir)
        except MotionVideoError as e:
            failed += 1
            click.echo(f"error: {e}", err=True)
            continue
        note = " (cut short in this file)" if mv.truncated else ""
        click.echo(f"{f} -> {dest} ({mv.length:,} bytes, found by {mv.found_by}){note}")
    sys.exit(EXIT_ITEMS_FAILED if failed else EXIT_OK)


def _match_options(f):
    f = click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        help="Keeper rules (TOML; default: the platform config folder, env PHOTODEDUP_CONFIG).",
    )(f)
    f = click.option(
        "--threshold",
        type=click.IntRange(0, 16),
        default=None,
        help="Explicit pHash distance for 'same photo' (overrides the preset's).",
    )(f)
    f = click.option(
        "--preset",
        type=click.Choice(["strict", "default", "loose"]),
        default="default",
        show_default=True,
        help="How alike two pictures must be to count as one photo.",
    )(f)
    return f


def _groups(store, preset, threshold, config_path, include_skipped=False, items=None):
    from photodedup.match.engine import find_groups
    from photodedup.match.keeper import load_config

    try:
        config = load_config(config_path)
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    return find_groups(
        store,
        preset=preset,
        threshold=threshold,
        keeper_config=config,
        include_skipped=include_skipped,
        items=items,
    )


@cli.command()
@db_option
@_match_options
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(["exact", "same", "edited", "burst", "unit", "similar"]),
    help="Only groups of this kind (repeatable).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True
)
def groups(db, preset, threshold, config_path, kinds, fmt) -> None:
    """List duplicate groups by kind, with the copy to keep and why."""
    store = _open_store(db)
    found = _groups(store, preset, threshold, config_path)
    if kinds:
        found = [g for g in found if g.kind in kinds]
    if fmt == "json":
        click.echo(json.dumps({"groups": [g.to_json() for g in found]}, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        import csv

        w = csv.writer(sys.stdout)
        w.writerow(["group", "kind", "member", "path", "uuid", "source", "keep", "reason"])
        for g in found:
            for m in g.members:
                w.writerow([g.id, g.kind, m.id, m.path or "", m.uuid or "", m.source, int(m.keep), m.reason])
    else:
        for g in found:
            click.echo(
                f"{g.id}  {g.kind}: {g.why}"
                + (f"  ({g.reclaimable_bytes:,} bytes)" if g.reclaimable_bytes else "")
            )
            for m in g.members:
                mark = "keep  " if m.keep else "remove"
                where = m.path or f"(iCloud only) {m.uuid}"
                click.echo(f"   {mark} #{m.id} {where}\n          {m.reason}")
        click.echo(f"{len(found)} group(s)")


@cli.command()
@db_option
@_match_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def report(db, preset, threshold, config_path, fmt) -> None:
    """Counts of groups by kind and source, bytes that can be reclaimed, and failures."""
    from photodedup.report import build_report

    store = _open_store(db)
    data = build_report(store, _groups(store, preset, threshold, config_path))
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return
    click.echo(f"store: {data['store']}")
    click.echo(
        f"items: {data['items']}  " + "  ".join(f"{k}: {v}" for k, v in sorted(data["by_status"].items()))
    )
    click.echo("groups:")
    for kind, n in data["groups_by_kind"].items():
        removals = data["proposed_removals_by_kind"].get(kind, 0)
        click.echo(
            f"  {kind:8} {n:6} groups, {data['members_by_kind'][kind]:6} items, {removals:6} proposed for "
            f"removal, {data['reclaimable_bytes_by_kind'].get(kind, 0):,} bytes"
        )
    click.echo(f"reclaimable: {data['reclaimable_bytes']:,} bytes")
    for source, n in sorted(data["proposed_removals_by_source"].items()):
        click.echo(f"  {n:6} from {source}")
    if data["failures"]:
        click.echo(
            f"failed items: {len(data['failures'])} (see `photodedup status` or the scan's --json-log)"
        )
        for f in data["failures"][:20]:
            click.echo(f"    {f['path']}: {f['error']}")


@cli.group()
def decide() -> None:
    """Record a decision: keep a copy, mark not duplicates, skip a group (remembered across scans)."""


@decide.command("keep")
@click.argument("item_id", type=int)
@db_option
@click.option("--undo", is_flag=True, help="Forget this decision.")
def decide_keep(item_id, db, undo) -> None:
    """Keep ITEM_ID in whatever group it is in."""
    store = _open_store(db)
    _require_items(store, item_id)
    (store.remove_decision if undo else store.add_decision)("keep", item_id)
    click.echo(("forgot: keep #" if undo else "will keep #") + str(item_id))


@decide.command("not-duplicates")
@click.argument("item_a", type=int)
@click.argument("item_b", type=int)
@db_option
@click.option("--undo", is_flag=True, help="Forget this decision.")
def decide_not_duplicates(item_a, item_b, db, undo) -> None:
    """ITEM_A and ITEM_B are different photos: never group them as duplicates."""
    store = _open_store(db)
    _require_items(store, item_a, item_b)
    try:
        (store.remove_decision if undo else store.add_decision)("not_duplicates", item_a, item_b)
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    click.echo(f"{'forgot' if undo else 'recorded'}: #{item_a} and #{item_b} are not duplicates")


@decide.command("skip")
@click.argument("group_id")
@db_option
@click.option("--undo", is_flag=True, help="Forget this decision.")
def decide_skip(group_id, db, undo) -> None:
    """Leave GROUP_ID out of plans and listings."""
    store = _open_store(db)
    (store.remove_decision if undo else store.add_decision)("skip", group_id=group_id)
    click.echo(f"{'forgot' if undo else 'skipping'}: {group_id}")


def _require_items(store, *ids) -> None:
    for i in ids:
        if store.db.execute("SELECT 1 FROM items WHERE id = ?", [i]).fetchone() is None:
            raise click.UsageError(f"no item #{i} in the store")


@cli.command()
@db_option
@_match_options
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default="photodedup-plan.json",
    show_default=True,
    help="Where to write the plan.",
)
@click.option(
    "--merge-into",
    type=click.Choice(["xmp", "file"]),
    default="xmp",
    show_default=True,
    help="Keepers gain the removed copies' metadata in an XMP sidecar, or in the file (exiftool).",
)
@click.option(
    "--include-edited", is_flag=True, help="Also propose removing edited versions (off by default)."
)
def plan(db, preset, threshold, config_path, output, merge_into, include_edited) -> None:
    """Write a reviewable JSON plan: what would be moved to quarantine, and why. Changes nothing."""
    from photodedup.actions.applephotos import write_apple_files
    from photodedup.actions.plan import build_plan, write_plan
    from photodedup.match.engine import StoreItems

    store = _open_store(db)
    items = StoreItems(store)  # filled by the matching with the groups' members: all a plan looks at
    found = _groups(store, preset, threshold, config_path, items=items)
    data = build_plan(
        found,
        items,
        store_path=str(store.path),
        preset=preset,
        merge_into=merge_into,
        include_edited=include_edited,
    )
    path = write_plan(data, output)
    click.echo(f"plan written: {path}")
    click.echo(json.dumps(data["summary"], indent=2))
    if data["apple"].get("libraries"):
        files = write_apple_files(data, Path(path).parent / "photos-actions")
        click.echo(f"Apple Photos: review {files.folder} (UUIDs and the osxphotos commands to run on a Mac)")


@cli.command()
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--quarantine",
    type=click.Path(file_okay=False),
    default=None,
    help="Where removed copies go (default: beside the store). Put it on the photos' own disk "
    "so files are renamed, not copied.",
)
def apply(plan_file, quarantine) -> None:
    """Carry out PLAN: move the copies it lists to quarantine (nothing is deleted). Safe to re-run."""
    from photodedup.actions.applephotos import run_apple_actions
    from photodedup.actions.plan import PlanError, read_plan
    from photodedup.actions.quarantine import QuarantineError, apply_plan, default_quarantine_dir

    try:
        data = read_plan(plan_file)
    except PlanError as e:
        raise click.UsageError(str(e)) from e
    target = Path(quarantine) if quarantine else default_quarantine_dir(data)
    try:
        report = apply_plan(data, target)
    except QuarantineError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_FATAL)
    click.echo(f"quarantine: {target}")
    click.echo(
        f"moved {report.moved} item(s) ({report.files_moved} files, {report.bytes_moved:,} bytes), "
        f"{report.already} already done, {len(report.skipped)} skipped"
    )
    for item_id, why in report.skipped:
        click.echo(f"  skipped #{item_id}: {why}", err=True)
    if data["apple"].get("libraries"):
        apple = run_apple_actions(data, Path(plan_file).parent / "photos-actions")
        click.echo(apple.message)
    click.echo(f"undo with: photodedup undo {target}")
    sys.exit(EXIT_OK if report.ok else EXIT_ITEMS_FAILED)


@cli.command()
@click.argument("quarantine", type=click.Path(exists=True))
def undo(quarantine) -> None:
    """Put every file moved to QUARANTINE (a folder or its manifest) back where it was, exactly."""
    from photodedup.actions.quarantine import QuarantineError
    from photodedup.actions.quarantine import undo as run_undo

    try:
        report = run_undo(quarantine)
    except QuarantineError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_FATAL)
    click.echo(
        f"restored {report.restored}, {report.already} already in place, "
        f"{len(report.conflicts)} conflict(s), {len(report.missing)} missing"
    )
    for c in [*report.conflicts, *report.missing]:
        click.echo(f"  {c}", err=True)
    sys.exit(EXIT_OK if report.ok else EXIT_ITEMS_FAILED)


@cli.command()
@db_option
@_match_options
@click.option(
    "--keepers",
    "dest",
    type=click.Path(file_okay=False),
    required=True,
    help="Folder to copy every photo that is kept into (with Live videos and sidecars).",
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Use this plan's decisions (default: the current groups).",
)
def export(db, preset, threshold, config_path, dest, plan_file) -> None:
    """Copy the keepers (never moving anything) to build a clean new library from them."""
    from photodedup.actions.export import export_keepers
    from photodedup.actions.plan import read_plan
    from photodedup.match.engine import StoreItems

    store = _open_store(db)
    items = StoreItems(store)  # the keepers are read from the store in batches as they are copied
    found = _groups(store, preset, threshold, config_path, items=items)
    report = export_keepers(found, items, dest, plan=read_plan(plan_file) if plan_file else None)
    click.echo(
        f"copied {len(report.copied)} file(s) ({report.bytes_copied:,} bytes) to {report.dest}, "
        f"{len(report.already)} already there, {len(report.skipped)} skipped"
    )
    for what, why in report.skipped:
        click.echo(f"  skipped {what}: {why}", err=True)
    sys.exit(EXIT_OK if report.ok else EXIT_ITEMS_FAILED)


@cli.command()
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="The test data with known relationships (default: $PHOTODEDUP_TEST_DATA or ../shared/data).",
)
@click.option(
    "--work",
    "work_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where the generated set and temporary stores go (default: the platform cache).",
)
@click.option(
    "--preset", type=click.Choice(["strict", "default", "loose"]), default="default", show_default=True
)
@click.option("--threshold", type=click.IntRange(0, 16), default=None)
@click.option("--no-imagededup", is_flag=True, help="Leave out imagededup's column.")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
def evaluate(data_dir, work_dir, preset, threshold, no_imagededup, as_json) -> None:
    """Measure precision and recall per kind of change, on the known set and a generated set."""
    from photodedup.evaluate.run import (
        default_data_dir,
        default_work_dir,
        format_report,
    )
    from photodedup.evaluate.run import (
        evaluate as run_eval,
    )

    result = run_eval(
        data_dir or default_data_dir(),
        work_dir or default_work_dir(),
        with_imagededup=not no_imagededup,
        preset=preset,
        threshold=threshold,
    )
    click.echo(json.dumps(result, indent=2, default=str) if as_json else format_report(result))
    sys.exit(EXIT_OK if result["passed"] else EXIT_ITEMS_FAILED)


@cli.command()
@db_option
def status(db) -> None:
    """Show the store's location, schema version, counts, last scan and background jobs."""
    store = _open_store(db)
    c = store.counts()
    job_fields = ("id", "kind", "status", "done", "total", "errors", "started", "finished", "message")
    c["jobs"] = [{k: j[k] for k in job_fields} for j in store.jobs(limit=10)]  # scans the extension started
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


_BROWSER_CHOICE = click.Choice(["chrome", "chromium", "edge", "brave", "firefox", "all"])
_root_option = click.option(
    "--root",
    type=click.Path(file_okay=False),
    envvar="PHOTODEDUP_INSTALL_ROOT",
    help="Put the system folders under DIR (staging, tests; env PHOTODEDUP_INSTALL_ROOT).",
)


def _install_errors(fn):
    """Install problems the user can fix are exit 3 with the message, not a traceback."""
    import functools

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        from photodedup.install.manifest import InstallError

        try:
            return fn(*a, **kw)
        except InstallError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(EXIT_FATAL)
        except PermissionError as e:
            hint = " (run it with sudo, or --root DIR to stage)" if kw.get("system") else ""
            click.echo(f"error: {e.strerror}: {e.filename}{hint}", err=True)
            sys.exit(EXIT_FATAL)

    return wrapper


@cli.command("install-host")
@click.option("--browser", "browsers", multiple=True, type=_BROWSER_CHOICE,
              help="Browser to register with (repeatable; default: those found here, or all).")
@click.option("--extension-id", "extension_ids", multiple=True, metavar="ID",
              help="Also allow this extension (Chromium id or Firefox add-on id; repeatable).")
@click.option("--user-data-dir", "user_data_dirs", multiple=True, type=click.Path(file_okay=False),
              help="A custom Chromium profile root: writes DIR/NativeMessagingHosts/ (repeatable).")
@click.option("--db", type=click.Path(dir_okay=False), envvar="PHOTODEDUP_DB",
              help="Store the host uses, baked into the launcher (default: the platform's data folder).")
@click.option("--system", is_flag=True, help="For every user of this machine (needs root).")
@_root_option
@click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
@_install_errors
def install_host(browsers, extension_ids, user_data_dirs, db, system, root, dry_run) -> None:
    """Register the native-messaging host with the browsers (manifests, launcher; registry on Windows).

    Run it again after moving photodedup: it rewrites everything it wrote before.
    """
    from photodedup.install.detect import detect_browsers
    from photodedup.install.installer import InstallOptions, apply_plan, plan_install
    from photodedup.install.roots import roots_for

    roots = roots_for("system" if system else "user", root)
    opts = InstallOptions(
        browsers=list(browsers) or None,
        extension_ids=list(extension_ids) or None,
        user_data_dirs=list(user_data_dirs),
        db=db,
    )
    plan = plan_install(opts, roots, detect_browsers(roots))
    if dry_run:
        for w in plan.writes:
            click.echo(f"would write {w.entry.kind} {w.entry.path}")
        for r in plan.record.registry:
            click.echo(f"would set {r.hive}\\{r.key} = {r.value}")
        for e in plan.stale:
            click.echo(f"would remove {getattr(e, 'path', None) or getattr(e, 'key', '')}")
        return
    for line in apply_plan(plan):
        click.echo(line)
    click.echo("check it with: photodedup doctor")


@cli.command("uninstall-host")
@click.option("--system", is_flag=True, help="Remove the install made for every user.")
@_root_option
@_install_errors
def uninstall_host(system, root) -> None:
    """Remove exactly what install-host wrote (files changed since then stay)."""
    from photodedup.install.installer import uninstall
    from photodedup.install.roots import roots_for

    for line in uninstall(roots_for("system" if system else "user", root)):
        click.echo(line)


@cli.command()
@click.option("--browser", "browsers", multiple=True, type=_BROWSER_CHOICE,
              help="Browser to check (repeatable; default: those installed for and those found here).")
@click.option("--user-data-dir", "user_data_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Also check this Chromium profile root (those install-host wrote are checked anyway).")
@_root_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_install_errors
def doctor(browsers, user_data_dirs, root, fmt) -> None:
    """Check that each browser finds the host: manifest, launcher, and a real hello. Exit 1 if not."""
    from photodedup.install.detect import detect_browsers
    from photodedup.install.doctor import format_reports, run_doctor
    from photodedup.install.roots import roots_for

    user, system = roots_for("user", root), roots_for("system", root)
    reports = run_doctor(user, system, list(browsers) or None, list(user_data_dirs), detect_browsers(user))
    if fmt == "json":
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        click.echo(format_reports(reports))
    sys.exit(EXIT_OK if reports and all(r.ok for r in reports) else EXIT_ITEMS_FAILED)


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
