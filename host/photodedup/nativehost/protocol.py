"""The wire contract as pydantic models: the request envelope, each command's args and result, errors.

docs/native-protocol.md is the prose version; the extension codes against it, so a change here is a change
there. Args models forbid unknown keys, so a typo in the extension is an error, not a silent default.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "PROTOCOL_VERSION",
    "Args",
    "HostError",
    "Request",
]

PROTOCOL_VERSION = 1

ErrorCode = Literal[
    "bad_json",
    "too_large",
    "reply_too_large",
    "unknown_command",
    "bad_args",
    "forbidden_origin",
    "not_found",
    "unavailable",
    "internal",
]


class HostError(Exception):
    """A request that gets an error reply; the host carries on."""

    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Args(BaseModel):
    # Schemas are built on first use: the host answers its first message sooner.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Result(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int | Annotated[str, StringConstraints(max_length=256)] | None = None
    cmd: str
    args: dict = Field(default_factory=dict)


# -- hello, status ----------------------------------------------------------------------------------------
class NoArgs(Args):
    pass


class HelloResult(Result):
    name: str = "photodedup"
    version: str
    protocol: int = PROTOCOL_VERSION
    commands: list[str]


class ItemCounts(Result):
    total: int
    images: int
    videos: int
    errors: int
    gone: int


class SourceInfo(Result):
    id: int
    kind: str
    name: str
    items: int
    last_scan: str | None


class ScanInfo(Result):
    id: int
    started: str
    finished: str | None
    status: str


class Job(Result):
    id: int
    kind: Literal["scan"]
    status: Literal["running", "complete", "failed", "interrupted"]
    done: int
    total: int | None
    errors: int
    started: str
    finished: str | None
    message: str | None


class StatusResult(Result):
    items: ItemCounts
    sources: list[SourceInfo]
    last_scan: ScanInfo | None
    jobs: list[Job]


# -- scans --------------------------------------------------------------------------------------------------
class ScanStartArgs(Args):
    source_ids: list[int] | None = Field(default=None, min_length=1, max_length=1000)


class ScanProgressArgs(Args):
    job_id: int


class JobResult(Result):
    job: Job


# -- groups -------------------------------------------------------------------------------------------------
GroupKindName = Literal["exact", "same", "edited", "burst", "unit", "similar"]


class GroupsListArgs(Args):
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=50, ge=1, le=200)
    kind: GroupKindName | None = None


class GroupSummary(Result):
    id: str
    kind: str
    size: int
    reclaimable: int
    keeper_id: int | None
    member_ids: list[int]
    member_ids_complete: bool
    title: str


class GroupsListResult(Result):
    total: int
    offset: int
    next_offset: int | None
    groups: list[GroupSummary]


GroupId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class GroupsGetArgs(Args):
    group_id: GroupId
    member_offset: int = Field(default=0, ge=0)
    member_limit: int = Field(default=1000, ge=1, le=2000)


class MemberInfo(Result):
    id: int
    name: str
    source: str
    kind: str | None
    width: int | None
    height: int | None
    size: int | None
    taken_at: str | None
    keep: bool
    reason: str


class GroupsGetResult(Result):
    id: str
    kind: str
    why: str
    size: int
    members: list[MemberInfo]
    next_member_offset: int | None


# -- thumbnail ----------------------------------------------------------------------------------------------
class ThumbnailArgs(Args):
    item_id: int
    size: int = Field(default=160, ge=32, le=512)


class ThumbnailResult(Result):
    item_id: int
    mime: Literal["image/jpeg"] = "image/jpeg"
    width: int
    height: int
    data: str


# -- match --------------------------------------------------------------------------------------------------
MAX_MATCH_ITEMS = 200
MAX_MATCH_IMAGE_BYTES = 512 * 1024
_HEX64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{16}$")]


class PageHashes(Args):
    phash: _HEX64
    dhash: _HEX64
    ahash: _HEX64
    whash: _HEX64


class PageItem(Args):
    key: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    image: str | None = None  # base64; over MAX_MATCH_IMAGE_BYTES is an error for this key alone
    hashes: PageHashes | None = None


class MatchArgs(Args):
    items: list[PageItem] = Field(max_length=MAX_MATCH_ITEMS)


class PageGroup(Result):
    keys: list[str]
    kind: Literal["exact", "same"]


class LibraryMatch(Result):
    group_id: str | None
    item_ids: list[int]
    count: int
    where: list[str]


class MatchResult(Result):
    page_groups: list[PageGroup]
    library: dict[str, LibraryMatch]
    errors: dict[str, str]
    groups_pending: bool = False  # the library's groups are still being computed: group ids may be missing


# -- decide -------------------------------------------------------------------------------------------------
class KeepDecision(Args):
    kind: Literal["keep"]
    group_id: GroupId
    item_id: int
    undo: bool = False


class NotDuplicatesDecision(Args):
    kind: Literal["not_duplicates"]
    item_ids: list[int] = Field(min_length=2, max_length=2)
    undo: bool = False


class SkipDecision(Args):
    kind: Literal["skip"]
    group_id: GroupId
    undo: bool = False


DecideArgs = Annotated[KeepDecision | NotDuplicatesDecision | SkipDecision, Field(discriminator="kind")]


class DecideResult(Result):
    decision: dict


class ReviewOpenResult(Result):
    url: str
