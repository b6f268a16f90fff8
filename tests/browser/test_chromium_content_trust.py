"""Content scripts are untrusted (a hostile page can try to drive them): the background gives them read-only
queries about tiles and groups, and nothing else. Checked from inside the real content script's isolated
world (found over the DevTools protocol), against the real background and host."""

from __future__ import annotations

import json
import time

import pytest
from browser_harness import PhotoSite, scan

pytestmark = pytest.mark.timeout(120)


def content_script_world(page, extension_id: str):
    """A CDP session and the id of the extension's isolated world in ``page``'s main frame."""
    cdp = page.context.new_cdp_session(page)
    contexts = []
    cdp.on("Runtime.executionContextCreated", lambda e: contexts.append(e["context"]))
    cdp.send("Runtime.enable")
    deadline = time.monotonic() + 30
    while True:
        for c in contexts:
            if c.get("origin") == f"chrome-extension://{extension_id}" or c.get("name") == "photodedup":
                return cdp, c["id"]
        assert time.monotonic() < deadline, contexts
        page.wait_for_timeout(50)


def send_from_content(cdp, context_id: int, message: dict) -> dict:
    reply = cdp.send(
        "Runtime.evaluate",
        {
            "expression": f"chrome.runtime.sendMessage({json.dumps(message)})",
            "contextId": context_id,
            "awaitPromise": True,
            "returnByValue": True,
        },
    )
    assert "exceptionDetails" not in reply, reply
    return reply["result"]["value"]


def test_content_scripts_get_read_only_queries_only(chromium_with, data_dir, tmp_path):
    db = tmp_path / "library.db"
    scan(db, data_dir / "takeout" / "Takeout")
    browser = chromium_with(db, PhotoSite())
    page = browser.context.new_page()
    page.goto("https://photos.google.com/")
    cdp, world = content_script_world(page, browser.extension_id)

    # Commands meant for the extension's own pages are refused, whatever their name.
    for message in (
        {"type": "host", "cmd": "decide", "args": {"kind": "skip", "group_id": "x"}},
        {"type": "host", "cmd": "scan.start", "args": {}},
        {"type": "host", "cmd": "status"},
        {"type": "groups.all"},
        {"type": "reconnect"},
    ):
        reply = send_from_content(cdp, world, message)
        assert reply["ok"] is False and reply["error"]["code"] == "forbidden", (message, reply)

    # What a content script may ask works: the host's state, and a group's members for a tooltip.
    assert send_from_content(cdp, world, {"type": "state"}) == {"ok": True, "result": {"state": "connected"}}
    groups = send_from_content(cdp, world, {"type": "group.summary", "group_id": "no-such-group"})
    assert groups["ok"] is False and groups["error"]["code"] == "not_found", groups
    # Thumbnails are fetched only from the sites the extension has permissions for, never from anywhere.
    reply = send_from_content(
        cdp, world, {"type": "page.match", "items": [{"key": "k1", "thumb": "https://example.org/x.jpg"}]}
    )
    assert reply["ok"] is True and reply["result"]["errors"] == {"k1": "thumbnail host not allowed"}, reply
    assert not [u for u in browser.site.refused if "example.org" in u]  # not even tried
