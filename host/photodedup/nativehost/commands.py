"""The fixed command table: each command's args model and handler. Nothing here runs a shell or opens a
path that came from the browser; items, groups, sources and jobs are named by the store's own ids."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import TypeAdapter, ValidationError

from photodedup.nativehost import protocol as p
from photodedup.nativehost.library import Library, item_name, keeper_id, source_name
from photodedup.nativehost.protocol import HostError

__all__ = ["COMMANDS", "dispatch"]

MAX_MEMBER_IDS = 1000  # per group in groups.list; groups.get pages through all members
PAGE_BUDGET = 700_000  # bytes of group summaries per groups.list reply (the reply limit is 900,000)


@dataclass(frozen=True, slots=True)
class Command:
    args: Callable[[dict], object]  # validates the args object, raising ValidationError
    run: Callable[[Library, object], p.Result]


def _model(model: type[p.Args]) -> Callable[[dict], object]:
    return model.model_validate


# -- hello, status ------------------------------------------------------------------------------------------
def hello(library: Library, args: p.NoArgs) -> p.HelloResult:
    from photodedup import __version__

    return p.HelloResult(version=__version__, commands=list(COMMANDS))


def status(library: Library, args: p.NoArgs) -> p.StatusResult:
    from photodedup.nativehost.jobs import job_view, reap

    reap()
    db = library.store.db
    total, images, videos, errors, gone = db.execute(
        "SELECT coalesce(sum(status != 'gone'), 0),"
        " coalesce(sum(media_type = 'image' AND status IN ('ok', 'not_on_disk')), 0),"
        " coalesce(sum(media_type = 'video' AND status IN ('ok', 'not_on_disk')), 0),"
        " coalesce(sum(status = 'error'), 0), coalesce(sum(status = 'gone'), 0) FROM items"
    ).fetchone()
    sources = [
        p.SourceInfo(id=r[0], kind=r[1], name=source_name(r[2]), items=r[3], last_scan=r[4])
        for r in db.execute(
            "SELECT s.id, s.kind, s.root,"
            " (SELECT count(*) FROM items i WHERE i.source_id = s.id AND i.status != 'gone'),"
            " (SELECT coalesce(finished, started) FROM scans WHERE scans.id = s.last_scan_id)"
            " FROM sources s ORDER BY s.id"
        )
    ]
    last = db.execute("SELECT id, started, finished, status FROM scans ORDER BY id DESC LIMIT 1").fetchone()
    return p.StatusResult(
        items=p.ItemCounts(total=total, images=images, videos=videos, errors=errors, gone=gone),
        sources=sources,
        last_scan=p.ScanInfo(id=last[0], started=last[1], finished=last[2], status=last[3]) if last else None,
        jobs=[job_view(j) for j in library.store.jobs(limit=10)],
    )


# -- scans --------------------------------------------------------------------------------------------------
def scan_start(library: Library, args: p.ScanStartArgs) -> p.JobResult:
    from photodedup.nativehost.jobs import start_scan

    return p.JobResult(job=start_scan(library, args.source_ids))


def scan_progress(library: Library, args: p.ScanProgressArgs) -> p.JobResult:
    from photodedup.nativehost.jobs import job_view, reap

    reap()
    row = library.store.job(args.job_id)
    if row is None:
        raise HostError("not_found", f"no job {args.job_id}")
    return p.JobResult(job=job_view(row))


# -- groups -------------------------------------------------------------------------------------------------
def _title(group, names: dict[int, str]) -> str:
    n = len(group.members)
    name = names.get(keeper_id(group) or group.members[0].id, "")
    return {
        "exact": f"{n} identical copies of {name}",
        "same": f"{n} copies of {name}",
        "edited": f"{name} and {n - 1} edited version{'s' if n > 2 else ''}",
        "burst": f"a burst of {n} shots ({name})",
        "unit": f"{name}: {n} parts of one capture",
        "similar": f"{n} similar photos ({name})",
    }.get(group.kind, f"{n} photos ({name})")


def groups_list(library: Library, args: p.GroupsListArgs) -> p.GroupsListResult:
    grouping = library.grouping()
    groups = grouping.groups if args.kind is None else [g for g in grouping.groups if g.kind == args.kind]
    page: list[p.GroupSummary] = []
    used = 0
    k = args.offset
    while k < len(groups) and len(page) < args.limit:
        g = groups[k]
        ids = [m.id for m in g.members]
        summary = p.GroupSummary(
            id=g.id,
            kind=g.kind,
            size=len(ids),
            reclaimable=g.reclaimable_bytes,
            keeper_id=keeper_id(g),
            member_ids=ids[:MAX_MEMBER_IDS],
            member_ids_complete=len(ids) <= MAX_MEMBER_IDS,
            title=_title(g, grouping.names),
        )
        cost = len(summary.model_dump_json()) + 1
        if page and used + cost > PAGE_BUDGET:
            break
        page.append(summary)
        used += cost
        k += 1
    return p.GroupsListResult(
        total=len(groups), offset=args.offset, next_offset=k if k < len(groups) else None, groups=page
    )


def groups_get(library: Library, args: p.GroupsGetArgs) -> p.GroupsGetResult:
    g = library.group(args.group_id)
    chosen = g.members[args.member_offset : args.member_offset + args.member_limit]
    rows = {r["id"]: r for r in library.rows(m.id for m in chosen)}
    sources = library.sources()
    members: list[p.MemberInfo] = []
    used = 0
    for m in chosen:
        r = rows.get(m.id, {"id": m.id})
        width, height = r.get("width"), r.get("height")
        if r.get("orientation") in (5, 6, 7, 8) and width and height:
            width, height = height, width  # as displayed
        info = p.MemberInfo(
            id=m.id,
            name=item_name(r),
            source=source_name((sources.get(r.get("source_id")) or {}).get("root")),
            kind=r.get("media_type"),
            width=width,
            height=height,
            size=r.get("size"),
            taken_at=r.get("taken_at"),
            keep=m.keep,
            reason=m.reason,
        )
        cost = len(info.model_dump_json()) + 1
        if members and used + cost > PAGE_BUDGET:
            break
        members.append(info)
        used += cost
    end = args.member_offset + len(members)
    return p.GroupsGetResult(
        id=g.id,
        kind=g.kind,
        why=g.why,
        size=len(g.members),
        members=members,
        next_member_offset=end if end < len(g.members) else None,
    )


# -- thumbnail, match ---------------------------------------------------------------------------------------
def thumbnail(library: Library, args: p.ThumbnailArgs) -> p.ThumbnailResult:
    from photodedup.nativehost.thumbnail import thumbnail as make

    width, height, data = make(library.row(args.item_id), args.size)
    return p.ThumbnailResult(item_id=args.item_id, width=width, height=height, data=data)


def match(library: Library, args: p.MatchArgs) -> p.MatchResult:
    from photodedup.nativehost.pagematch import match_page

    return match_page(library, args)


# -- decide, review -----------------------------------------------------------------------------------------
def _require_items(library: Library, ids: list[int]) -> None:
    found = {r["id"] for r in library.rows(ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise HostError("not_found", f"no item {', '.join(f'#{i}' for i in missing)} in the library")


def decide(library: Library, args) -> p.DecideResult:
    store = library.store
    if isinstance(args, p.KeepDecision):
        group = library.group(args.group_id)
        members = [m.id for m in group.members]
        if args.item_id not in members:
            raise HostError("bad_args", f"item #{args.item_id} is not in group {args.group_id}")
        if args.undo:
            store.remove_decision("keep", args.item_id)
        else:
            # The choice for this group replaces an earlier keep of another of its members.
            for other in members:
                if other != args.item_id:
                    store.remove_decision("keep", other)
            store.add_decision("keep", args.item_id)
        decision = {"kind": "keep", "group_id": args.group_id, "item_id": args.item_id, "undo": args.undo}
    elif isinstance(args, p.NotDuplicatesDecision):
        a, b = args.item_ids
        if a == b:
            raise HostError("bad_args", "not_duplicates needs two different items")
        _require_items(library, [a, b])
        (store.remove_decision if args.undo else store.add_decision)("not_duplicates", a, b)
        decision = {"kind": "not_duplicates", "item_ids": sorted([a, b]), "undo": args.undo}
    else:
        if not args.undo:
            library.group(args.group_id)  # a skip names a group that exists now
        (store.remove_decision if args.undo else store.add_decision)("skip", group_id=args.group_id)
        decision = {"kind": "skip", "group_id": args.group_id, "undo": args.undo}
    library.wrote()
    return p.DecideResult(decision=decision)


def review_open(library: Library, args: p.NoArgs) -> p.ReviewOpenResult:
    raise HostError("unavailable", "there is no review app in this version of photodedup")


_decide_args = TypeAdapter(p.DecideArgs)

COMMANDS: dict[str, Command] = {
    "hello": Command(_model(p.NoArgs), hello),
    "status": Command(_model(p.NoArgs), status),
    "scan.start": Command(_model(p.ScanStartArgs), scan_start),
    "scan.progress": Command(_model(p.ScanProgressArgs), scan_progress),
    "groups.list": Command(_model(p.GroupsListArgs), groups_list),
    "groups.get": Command(_model(p.GroupsGetArgs), groups_get),
    "thumbnail": Command(_model(p.ThumbnailArgs), thumbnail),
    "match": Command(_model(p.MatchArgs), match),
    "decide": Command(_decide_args.validate_python, decide),
    "review.open": Command(_model(p.NoArgs), review_open),
}


def _describe(e: ValidationError) -> str:
    parts = []
    for err in e.errors()[:5]:
        where = ".".join(str(x) for x in err["loc"]) or "args"
        parts.append(f"{where}: {err['msg']}")
    more = f" (and {e.error_count() - 5} more)" if e.error_count() > 5 else ""
    return "; ".join(parts) + more


def dispatch(library: Library, cmd: str, raw_args: dict) -> dict:
    """Run one command; returns the result object or raises HostError."""
    command = COMMANDS.get(cmd)
    if command is None:
        raise HostError("unknown_command", f"unknown command {cmd!r}; known: {', '.join(COMMANDS)}")
    try:
        args = command.args(raw_args)
    except ValidationError as e:
        raise HostError("bad_args", f"bad arguments for {cmd}: {_describe(e)}") from e
    return command.run(library, args).model_dump(mode="json")
