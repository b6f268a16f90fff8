"""The wire: frames in and out of the real host process, and every way a request can be wrong."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time

import pytest
from nativehost_testkit import LIMIT, Host, clean_env, frame


@pytest.fixture
def db(tmp_path):
    return tmp_path / "empty.db"  # an empty store: the protocol does not need photos


def test_hello_then_clean_exit_on_end_of_input(tmp_path, db):
    with Host(tmp_path, db=db) as host:
        r = host.call("hello")
        assert r["name"] == "photodedup" and r["protocol"] == 1 and r["version"]
        assert r["commands"] == [
            *("hello", "status", "scan.start", "scan.progress", "groups.list", "groups.get", "thumbnail"),
            *("match", "decide", "review.open"),
        ]
        assert host.close() == 0


def test_exit_on_end_of_input_in_the_middle_of_a_frame(tmp_path, db):
    with Host(tmp_path, db=db) as host:
        host.send(struct.pack("=I", 100) + b'{"id": 1')
        assert host.close() == 0
    with Host(tmp_path, db=db) as host:
        host.send(b"\x05\x00")  # half a header
        assert host.close() == 0


def test_requests_are_answered_in_order_whatever_the_writes(tmp_path, db):
    """Pipelined frames in one write, and one frame dribbled a byte at a time, each get their reply."""
    with Host(tmp_path, db=db) as host:
        host.send(b"".join(frame({"id": f"r{k}", "cmd": "hello"}) for k in range(5)))
        assert [host.recv()["id"] for _ in range(5)] == ["r0", "r1", "r2", "r3", "r4"]
        data = frame({"id": 99, "cmd": "status", "args": {}})
        for k in range(len(data)):
            host.send(data[k : k + 1])
            if k in (1, 5, len(data) // 2):
                time.sleep(0.05)
        reply = host.recv()
        assert reply["id"] == 99 and reply["ok"] and reply["result"]["items"]["total"] == 0
        assert host.close() == 0


def test_request_ids_are_echoed_exactly(tmp_path, db):
    with Host(tmp_path, db=db) as host:
        for rid in (0, -5, 2**53, "abc", "", "ünï", "x" * 256):
            host.send(frame({"id": rid, "cmd": "hello"}))
            assert host.recv()["id"] == rid
        host.send(frame({"cmd": "hello"}))  # no id: still answered, with id null
        assert host.recv()["id"] is None
        host.send(frame({"id": "x" * 2_000_000, "cmd": "hello"}))  # an id too long to echo
        reply = host.recv()
        assert reply["id"] is None and reply["error"]["code"] == "bad_args" and max(host.sizes) < 1000
        assert host.close() == 0


def test_malformed_input_gets_an_error_and_the_host_stays_up(tmp_path, db):
    cases = [
        (b"{not json", "bad_json", None),
        (b"\xff\xfe\x00 not utf-8", "bad_json", None),
        (b"[1, 2, 3]", "bad_json", None),
        (b'"hello"', "bad_json", None),
        (b"", "bad_json", None),
        (b"[" * 200_000 + b"]" * 200_000, "bad_json", None),  # deep enough to exhaust the parser
        (json.dumps({"id": 7}).encode(), "bad_args", 7),  # no cmd
        (json.dumps({"id": 8, "cmd": "hello", "extra": 1}).encode(), "bad_args", 8),
        (json.dumps({"id": 9, "cmd": "hello", "args": [1]}).encode(), "bad_args", 9),
        (json.dumps({"id": 10, "cmd": 5}).encode(), "bad_args", 10),
        (json.dumps({"id": 11, "cmd": "rm -rf /"}).encode(), "unknown_command", 11),
        (json.dumps({"id": 12, "cmd": "__init__"}).encode(), "unknown_command", 12),
    ]
    with Host(tmp_path, db=db) as host:
        for body, code, rid in cases:
            host.send(frame(body))
            reply = host.recv()
            assert reply["ok"] is False and reply["error"]["code"] == code, (body[:40], reply)
            assert reply["id"] == rid and reply["error"]["message"]
        assert host.call("hello")["protocol"] == 1  # still answering
        assert host.close() == 0


BAD_ARGS = [
    ("hello", {"x": 1}),
    ("groups.list", {"limit": 0}),
    ("groups.list", {"limit": 201}),
    ("groups.list", {"offset": -1}),
    ("groups.list", {"kind": "nonsense"}),
    ("groups.get", {}),
    ("groups.get", {"group_id": "../../etc/passwd"}),
    ("thumbnail", {"item_id": "1 OR 1=1"}),
    ("thumbnail", {"item_id": 1, "size": 4096}),
    ("thumbnail", {"path": "/etc/passwd"}),  # the browser never names a file
    ("thumbnail", {"item_id": 1, "path": "/etc/passwd"}),
    ("scan.start", {"source_ids": "all"}),
    ("scan.start", {"paths": ["/home"]}),
    ("scan.progress", {}),
    ("match", {"items": [{"key": "a", "image": "AAAA", "path": "/tmp/x.jpg"}]}),
    ("match", {"items": [{"key": "a", "hashes": {"phash": "zz"}}]}),
    ("match", {"items": [{"key": f"k{k}", "hashes": None} for k in range(201)]}),
    ("decide", {"kind": "delete", "item_id": 1}),
    ("decide", {"kind": "not_duplicates", "item_ids": [1]}),
]


def test_bad_args_are_refused_with_a_reason(tmp_path, db):
    with Host(tmp_path, db=db) as host:
        for cmd, args in BAD_ARGS:
            err = host.error(cmd, args)
            assert err["code"] == "bad_args" and cmd in err["message"], (cmd, args, err)
            assert host.call("hello")["protocol"] == 1
        assert host.close() == 0


def test_oversized_frame_is_refused_before_it_is_read_and_the_host_stays_up(tmp_path, db):
    with Host(tmp_path, db=db) as host:
        junk = 9 * 1024 * 1024
        host.send(struct.pack("=I", junk))
        early = host.recv(timeout=30)  # answered from the header alone, before the body arrives
        assert early == {
            "id": None,
            "ok": False,
            "error": {"code": "too_large", "message": early["error"]["message"]},
        }
        assert "9,437,184 bytes" in early["error"]["message"]
        host.send(b"x" * junk)  # the body is read and dropped; the stream stays in step
        assert host.call("hello")["protocol"] == 1
        # A header claiming 4 GiB: the reply comes at once; closing the pipe then ends the host cleanly.
        host.send(struct.pack("=I", 0xFFFFFFF0) + b"y" * 1_000_000)
        assert host.recv(timeout=30)["error"]["code"] == "too_large"
        assert host.close() == 0


def test_largest_accepted_frame_is_8_mib(tmp_path, db):
    with Host(tmp_path, db=db) as host:
        body = json.dumps({"id": 1, "cmd": "hello", "pad": ""}).encode()
        pad = 8 * 1024 * 1024 - len(body)
        big = body[:-2] + b"x" * pad + b'"}'
        assert len(big) == 8 * 1024 * 1024
        host.send(frame(big))
        reply = host.recv()
        assert reply["error"]["code"] == "bad_args" and reply["id"] == 1  # read whole, then judged
        host.send(frame(big + b" "))  # one byte more: refused, and its body dropped
        assert host.recv()["error"]["code"] == "too_large"
        assert host.call("hello")["protocol"] == 1
        assert host.close() == 0


def test_review_open_is_unavailable(tmp_path, db):
    with Host(tmp_path, db=db) as host:
        err = host.error("review.open")
        assert err["code"] == "unavailable" and "review" in err["message"]
        assert host.close() == 0


def test_an_unusable_store_is_an_error_reply_not_a_crash(tmp_path):
    bad = tmp_path / "not-a-store.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with Host(tmp_path, db=bad) as host:
        assert host.call("hello")["protocol"] == 1  # hello needs no store
        err = host.error("status")
        assert err["code"] == "unavailable" and "cannot be opened" in err["message"]
        assert host.close() == 0


def test_oversized_reply_becomes_reply_too_large(tmp_path, monkeypatch):
    """The last guard, in process: no command should get there (lists are paged), so one is made to."""
    from photodedup.nativehost import commands, main, protocol

    class Huge(protocol.Result):
        blob: str

    monkeypatch.setitem(
        commands.COMMANDS,
        "hello",
        commands.Command(protocol.NoArgs.model_validate, lambda lib, a: Huge(blob="x" * LIMIT)),
    )
    out = main.handle(None, json.dumps({"id": 1, "cmd": "hello"}).encode())
    reply = json.loads(out[4:])
    assert reply["error"]["code"] == "reply_too_large" and reply["id"] == 1 and len(out) < 1000
    monkeypatch.setitem(
        commands.COMMANDS,
        "hello",
        commands.Command(protocol.NoArgs.model_validate, lambda lib, a: Huge(blob="x" * (LIMIT - 100))),
    )
    out = main.handle(None, json.dumps({"id": 2, "cmd": "hello"}).encode())
    assert json.loads(out[4:])["ok"] is True and LIMIT - 100 < len(out) - 4 <= LIMIT  # near the limit passes


def test_importing_the_host_loads_nothing_heavy():
    code = (
        "import sys; import photodedup.nativehost.main; "
        "print([m for m in ('numpy', 'PIL', 'sqlite_utils', 'osxphotos', 'av', 'scipy') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_stray_prints_cannot_reach_the_browser(tmp_path, db):
    """fd 1 is stderr once the host runs: a print from any module lands in the log, not between frames."""
    code = """
import os, sys
from photodedup.nativehost import main as m
real = m._frames_only_stdout
def noisy():
    out = real()
    print("STRAY print")
    os.write(1, b"STRAY fd1")
    return out
m._frames_only_stdout = noisy
sys.argv = ["photodedup-host", "--db", sys.argv[1], sys.argv[2]]
m.main()
"""
    from nativehost_testkit import ORIGIN

    p = subprocess.run(
        [sys.executable, "-c", code, str(db), ORIGIN],
        input=frame({"id": 1, "cmd": "hello"}),
        capture_output=True,
        env=clean_env(tmp_path),
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    (n,) = struct.unpack("=I", p.stdout[:4])
    assert len(p.stdout) == 4 + n and json.loads(p.stdout[4:])["id"] == 1
    assert b"STRAY print" in p.stderr and b"STRAY fd1" in p.stderr
