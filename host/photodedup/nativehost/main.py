"""``photodedup-host``: check the caller, then answer framed requests on stdin until it closes.

Only frames ever reach the real stdout: file descriptor 1 is pointed at stderr at startup, so a stray
``print`` or a C library's message cannot corrupt the stream the browser reads (Chromium drops the port on
a single stray byte). Every request gets exactly one reply, in order; no bad request ends the host.

Usage (the browser adds the caller arguments): ``photodedup-host [--db STORE] CALLER...``.
The store is ``--db``, else ``$PHOTODEDUP_DB``, else the CLI's default (the platform data folder).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from photodedup.nativehost.framing import (
    MAX_OUT_BYTES,
    EndOfInput,
    FrameTooLarge,
    discard,
    encode_frame,
    read_frame,
    write_frame,
)
from photodedup.nativehost.origin import caller_from_args, is_allowed, load_host_config
from photodedup.nativehost.protocol import HostError, Request

__all__ = ["handle", "main", "serve"]

log = logging.getLogger("photodedup.nativehost")

LOG_ENV = "PHOTODEDUP_HOST_LOG"
EXIT_OK, EXIT_FORBIDDEN = 0, 2
MAX_ID_CHARS = 256


def _error(request_id, code: str, message: str) -> dict:
    return {"id": request_id, "ok": False, "error": {"code": code, "message": message}}


def handle(library, body: bytes) -> bytes:
    """One request frame's body in, one reply frame out (header included)."""
    request_id = None
    try:
        obj = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        return encode_frame(_error(None, "bad_json", f"the message is not UTF-8 JSON: {e}"))
    if not isinstance(obj, dict):
        return encode_frame(_error(None, "bad_json", "a request is a JSON object with id, cmd and args"))
    rid = obj.get("id")
    if (isinstance(rid, int) and not isinstance(rid, bool)) or (
        isinstance(rid, str) and len(rid) <= MAX_ID_CHARS
    ):
        request_id = rid  # echoed in the reply, so only when it is small
    try:
        request = Request.model_validate(obj)
    except ValidationError as e:
        where = "; ".join(f"{'.'.join(map(str, x['loc'])) or 'request'}: {x['msg']}" for x in e.errors()[:3])
        return encode_frame(_error(request_id, "bad_args", f"not a request ({where})"))
    from photodedup.nativehost.commands import dispatch

    try:
        reply = {"id": request_id, "ok": True, "result": dispatch(library, request.cmd, request.args)}
    except HostError as e:
        reply = _error(request_id, e.code, e.message)
    except Exception as e:  # a bug or an unexpected failure: say so, log it, stay up
        log.exception("command %r failed", request.cmd)
        reply = _error(request_id, "internal", f"{request.cmd} failed: {type(e).__name__}: {e}")
    try:
        frame = encode_frame(reply)
    except ValueError as e:
        return encode_frame(_error(request_id, "internal", f"the reply could not be encoded: {e}"))
    if len(frame) - 4 > MAX_OUT_BYTES:
        return encode_frame(
            _error(
                request_id, "reply_too_large", f"the reply would be {len(frame) - 4:,} bytes; ask for less"
            )
        )
    return frame


def serve(stdin: BinaryIO, stdout: BinaryIO, library) -> None:
    """Answer frames until stdin closes."""
    while True:
        try:
            body = read_frame(stdin)
        except EndOfInput:
            return
        except FrameTooLarge as e:
            # Answer at once, then drop the bytes as they come: the sender learns early, nothing is held.
            log.warning("dropping a frame: %s", e)
            write_frame(stdout, encode_frame(_error(None, "too_large", str(e))))
            try:
                discard(stdin, e.length)
            except EndOfInput:
                return
            continue
        write_frame(stdout, handle(library, body))


def _split_options(argv: list[str]) -> tuple[str | None, list[str]]:
    """``--db PATH`` / ``--db=PATH`` anywhere; everything else is the browser's caller arguments."""
    db, rest = None, []
    it = iter(argv)
    for a in it:
        if a == "--db":
            db = next(it, None)
        elif a.startswith("--db="):
            db = a[len("--db=") :]
        else:
            rest.append(a)
    return db, rest


def _frames_only_stdout() -> BinaryIO:
    """A private handle on the real stdout, with fd 1 (and sys.stdout) sent to stderr from now on."""
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get(LOG_ENV, "WARNING").upper(),
        format="photodedup-host: %(levelname)s %(message)s",
    )
    out = _frames_only_stdout()
    db, caller_args = _split_options(argv)
    config = load_host_config()
    caller = caller_from_args(caller_args)
    if not is_allowed(caller, config):
        log.error("refused caller %s (%s)", caller.extension_id, caller.browser)
        write_frame(
            out,
            encode_frame(
                _error(
                    None,
                    "forbidden_origin",
                    f"extension {caller.extension_id or '(none)'} may not use this host",
                )
            ),
        )
        sys.exit(EXIT_FORBIDDEN)
    from photodedup.nativehost.library import Library
    from photodedup.store.db import DB_ENV, default_db_path

    path = Path(db or os.environ.get(DB_ENV) or default_db_path()).expanduser().absolute()
    library = Library(path)
    log.info("serving %s (%s) with store %s", caller.extension_id, caller.browser, path)
    try:
        serve(sys.stdin.buffer, out, library)
    except BrokenPipeError:  # the browser went away mid-reply
        pass
    finally:
        library.close()
    sys.exit(EXIT_OK)
