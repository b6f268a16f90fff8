"""The toolbar popup and the options page in Chromium, against the real host and stores made by real scans."""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from browser_harness import cli_json, extension_ids, scan
from PIL import Image

import photodedup

pytestmark = pytest.mark.timeout(180)

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".heic", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
VIDEO_EXTS = {".mov", ".mp4"}


def count_files(root: Path, exts: set[str]) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts)


def open_popup(browser, query: str = ""):
    page = browser.context.new_page()
    page.goto(browser.page_url(f"popup/popup.html{query}"))
    return page


def wait_text(locator, pred, timeout: float = 30) -> str:
    """Polls a locator's text (wait_for_function cannot run on extension pages: their CSP forbids eval)."""
    deadline = time.monotonic() + timeout
    text = None
    while time.monotonic() < deadline:
        text = locator.text_content()
        if pred(text):
            return text
        time.sleep(0.05)
    raise AssertionError(f"text stayed {text!r}")


def test_popup_shows_the_library(chromium_with, data_dir, tmp_path):
    db = tmp_path / "library.db"
    takeout = data_dir / "takeout" / "Takeout"
    scan(db, takeout)
    groups = cli_json("groups", "--db", str(db), "--format", "json")["groups"]
    browser = chromium_with(db)
    popup = open_popup(browser)

    for counter in ("#count-groups", "#count-images", "#count-sources"):  # two replies fill them
        wait_text(popup.locator(counter), lambda t: t != "–")
    assert popup.locator("#state").text_content().startswith("Connected to photodedup")
    assert popup.locator("#fix").is_hidden()
    assert popup.locator("#count-images").text_content() == str(count_files(takeout, IMAGE_EXTS))
    assert popup.locator("#count-videos").text_content() == str(count_files(takeout, VIDEO_EXTS))
    assert popup.locator("#count-groups").text_content() == str(len(groups))
    assert popup.locator("#count-sources").text_content() == "1"

    # The largest groups, each with its keeper's thumbnail made by the host.
    rows = popup.locator("#groups li")
    assert rows.count() == len(groups)
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.groupId)")) == sorted(
        g["id"] for g in groups
    )
    for img in rows.locator("img").all():
        deadline = time.monotonic() + 30
        while not (img.get_attribute("src") or "").startswith("data:image/jpeg;base64,"):
            assert time.monotonic() < deadline, "thumbnail never arrived"
            time.sleep(0.05)
        assert img.evaluate("i => i.decode().then(() => i.naturalWidth)") > 0

    # No review app in this version: the host says so and the button is disabled, with the reason.
    wait_text(popup.locator("#review-note"), bool)
    assert popup.locator("#review").is_disabled()

    # A group opens in place with its members, the keeper marked.
    exact = next(g for g in groups if g["kind"] == "exact")
    popup.locator(f'#groups li[data-group-id="{exact["id"]}"]').click()
    members = popup.locator("#members li")
    members.nth(len(exact["members"]) - 1).wait_for()
    assert sorted(int(i) for i in members.evaluate_all("ms => ms.map(m => m.dataset.itemId)")) == sorted(
        m["id"] for m in exact["members"]
    )
    assert popup.locator("#members .keep").count() == sum(m["keep"] for m in exact["members"])


def test_popup_runs_a_scan_with_live_progress(chromium_with, data_dir, tmp_path):
    base = data_dir / "near-duplicates" / "imagededup" / "base_images"
    folder = tmp_path / "Pictures"
    folder.mkdir()
    pictures = sorted(base.glob("*.jpg"))
    for p in pictures[:3]:
        shutil.copy2(p, folder / p.name)
    db = tmp_path / "library.db"
    scan(db, folder)
    browser = chromium_with(db)
    popup = open_popup(browser)
    wait_text(popup.locator("#count-images"), lambda t: t == "3")

    # New photos arrive in the folder; the popup's scan finds them.
    for p in pictures[3:]:
        shutil.copy2(p, folder / p.name)
    for p in (data_dir / "near-duplicates" / "imagededup" / "mixed_images").glob("ukbench00120_*.jpg"):
        shutil.copy2(p, folder / p.name)
    expected = count_files(folder, IMAGE_EXTS)
    popup.locator("#scan").click()
    status = popup.locator("#scan-status")
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        s = status.evaluate("e => ({...e.dataset, text: document.getElementById('scan-text').textContent})")
        if s.get("status") and (not seen or s != seen[-1]):
            seen.append(s)
        if s.get("status") and s["status"] != "running":
            break
        time.sleep(0.03)
    assert seen and seen[0]["status"] == "running", seen
    assert popup.locator("#scan").is_disabled() or seen[-1]["status"] != "running"
    final = seen[-1]
    assert final["status"] == "complete", seen
    # The job counts the files it had to fingerprint: the new ones, not the three it already knew.
    assert final["done"] == final["total"] == str(expected - 3), seen
    done = [int(s["done"]) for s in seen]
    assert done == sorted(done), seen  # progress only goes forward
    assert final["text"].startswith("Scan complete:"), final
    # When the scan is over the counts are the store's new ones.
    wait_text(popup.locator("#count-images"), lambda t: t == str(expected))
    assert popup.locator("#scan").is_enabled()
    status_json = cli_json("status", "--db", str(db))
    assert status_json["jobs"][0]["status"] == "complete"  # the CLI sees the same job


def test_popup_pages_through_a_large_group_list(chromium_with, tmp_path):
    """More groups than one reply may carry: every one arrives, in the host's order, through paging."""
    rng = np.random.default_rng(4)
    for i in range(450):
        pixels = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
        for folder in ("a", "b"):
            (tmp_path / "big" / folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(tmp_path / "big" / folder / f"noise{i:04d}.png")
    db = tmp_path / "big.db"
    scan(db, tmp_path / "big")
    groups = cli_json("groups", "--db", str(db), "--format", "json")["groups"]
    assert len(groups) == 450
    browser = chromium_with(db)
    popup = open_popup(browser)
    wait_text(popup.locator("#count-groups"), lambda t: t == "450")
    assert popup.locator("#groups li").count() == 8  # the popup shows the largest few
    popup.locator("#all-groups").click()
    summary = popup.locator("#all-summary")
    wait_text(summary, lambda t: t.startswith("450 of"))
    loaded, pages = re.fullmatch(r"(\d+) of 450 groups \((\d+) pages\)", summary.text_content()).groups()
    assert loaded == "450" and int(pages) >= 3  # 200 at most per page
    ids = popup.locator("#all-list li").evaluate_all("rs => rs.map(r => r.dataset.groupId)")
    assert ids == [g["id"] for g in groups]


def test_popup_and_options_say_how_to_install_a_missing_host(chromium_with):
    browser = chromium_with(None)  # no host manifest in this profile
    assert browser.extension_id == extension_ids()["chrome"]["ids"][0]  # the dev key's stable id
    popup = open_popup(browser)
    wait_text(popup.locator("#state"), lambda t: "not installed" in t)
    fix = popup.locator("#fix")
    assert fix.is_visible()
    assert "scripts/install-host" in fix.text_content()
    assert "photodedup install-host" in fix.text_content()
    assert "photodedup doctor" in fix.text_content()
    assert popup.locator("#main").is_hidden()

    options = browser.context.new_page()
    options.goto(browser.page_url("options/options.html"))
    wait_text(options.locator("#state"), lambda t: t != "Checking…")
    assert options.locator("#state").get_attribute("data-state") == "missing"
    assert "scripts/install-host" in options.locator("#fix-text").text_content()
    assert options.locator("#details").text_content().startswith(f"Extension id{browser.extension_id}")


def test_options_turn_badges_off_for_a_site(chromium_with, data_dir, tmp_path):
    db = tmp_path / "library.db"
    scan(db, data_dir / "takeout" / "Takeout")
    browser = chromium_with(db)
    options = browser.context.new_page()
    options.goto(browser.page_url("options/options.html"))
    wait_text(options.locator("#state"), lambda t: t == "Connected")
    wait_text(options.locator("#details"), lambda t: f"photodedup {photodedup.__version__} (protocol 1)" in t)
    photos = count_files(data_dir / "takeout" / "Takeout", IMAGE_EXTS)
    assert f"({photos} photos," in wait_text(options.locator("#details"), lambda t: "Library" in t)
    box = options.locator('input[name="google"]')
    assert box.is_checked()
    box.uncheck()
    wait_text(options.locator("#saved"), bool)

    page = browser.context.new_page()
    page.goto("https://photos.google.com/")
    deadline = time.monotonic() + 30
    while page.evaluate("document.documentElement.dataset.photodedupState") != "off":
        assert time.monotonic() < deadline, "the content script did not stop"
        time.sleep(0.05)


def host_pids(db: Path) -> list[int]:
    """The host processes serving ``db`` (the browser started them; the launcher names the store)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            env = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"photodedup.nativehost" in cmd and f"PHOTODEDUP_DB={db}".encode() in env:
            pids.append(int(proc.name))
    return pids


def test_background_reconnects_after_the_host_dies(chromium_with, data_dir, tmp_path):
    db = tmp_path / "library.db"
    scan(db, data_dir / "takeout" / "Takeout")
    browser = chromium_with(db)
    popup = open_popup(browser)
    wait_text(popup.locator("#count-groups"), lambda t: t != "–")
    first = host_pids(db)
    assert len(first) == 1  # one port, one host process, kept open while the popup works
    os.kill(first[0], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while host_pids(db):
        assert time.monotonic() < deadline
        time.sleep(0.05)

    popup.reload()
    text = wait_text(popup.locator("#count-groups"), lambda t: t != "–")
    assert text == str(len(cli_json("groups", "--db", str(db), "--format", "json")["groups"]))
    assert popup.locator("#state").text_content().startswith("Connected")
    second = host_pids(db)
    assert len(second) == 1 and second != first
