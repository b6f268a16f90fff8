"""Badges on photos.google.com in Chromium: the built extension, the real host, a store made by a real scan.

The page is a virtualised grid (photos_page_fixture) of real pictures: some are also in the scanned Takeout
export, some are shown twice (two uploads of one photo, once far apart so they are only ever on screen in
different batches), the rest are unrelated. What each tile must show follows from how the page was built.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from browser_harness import PhotoSite, scan
from photos_page_fixture import (
    THUMB_HOST,
    GridTile,
    assert_badges,
    grid_html,
    takeout_page_tiles,
    thumbnail_jpeg,
)

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def takeout_store(tmp_path_factory, data_dir) -> tuple[Path, Path]:
    """A store made by scanning the Takeout sample (read-only: the scan never writes into sources)."""
    db = tmp_path_factory.mktemp("takeout-store") / "library.db"
    root = data_dir / "takeout" / "Takeout"
    scan(db, root)
    return db, root


def google_site(tiles: list[GridTile]) -> PhotoSite:
    return PhotoSite(
        html=grid_html(tiles), thumbs={THUMB_HOST + t.thumb_path(): thumbnail_jpeg(t) for t in tiles}
    )


READ_TILES = """() => [...document.querySelectorAll('a[href*="/photo/"]')].map(a => {
  const b = a.querySelector(':scope > .photodedup-badge');
  return {key: a.getAttribute('href').split('/photo/')[1], page: b?.dataset.pageGroup ?? null,
          count: b?.dataset.libraryCount ?? null, group: b?.dataset.libraryGroup ?? null};
})"""


def settle(page, known: set[str], timeout: float = 60) -> list[dict]:
    """The tiles on screen, once every tile seen so far has its answer and the badges stopped changing
    (longer than the content script's debounce)."""
    deadline = time.monotonic() + timeout
    before = None
    while time.monotonic() < deadline:
        now = page.evaluate(READ_TILES)
        known |= {r["key"] for r in now}
        d = page.evaluate("() => ({...document.documentElement.dataset})")
        assert d.get("photodedupState") != "error", d
        if (
            d.get("photodedupState") == "ready"
            and d.get("photodedupAnswered") == str(len(known))
            and now == before
        ):
            return now
        before = now
        time.sleep(0.35)
    raise AssertionError(f"the page never settled: {d}")


def test_badges_on_exactly_the_right_tiles(chromium_with, takeout_store, data_dir):
    db, takeout = takeout_store
    tiles = takeout_page_tiles(data_dir, takeout)
    site = google_site(tiles)
    browser = chromium_with(db, site)
    page = browser.context.new_page()
    page.goto("https://photos.google.com/")

    # Scroll the inner container to the bottom and back (the grid keeps only rows near the viewport); record
    # what each tile shows on the way back, when every tile has been matched.
    known: set[str] = set()
    seen: dict[str, dict] = {}
    for top in (0, 170, 340, 510, 680, 340, 0):
        page.evaluate(f"document.getElementById('yDSiEe').scrollTop = {top}")
        for r in settle(page, known):
            seen[r["key"]] = r

    d = page.evaluate("() => ({...document.documentElement.dataset})")
    assert d["photodedupSent"] == str(len(tiles)), d  # every tile was sent once, none twice
    assert d["photodedupErrors"] == "0", d
    # The selectors' self-check: every tile on screen was found with its media key.
    assert d["photodedupTiles"] == d["photodedupTilesWithId"] == str(len(page.evaluate(READ_TILES))), d
    assert set(seen) == {t.key for t in tiles}
    assert set(site.thumb_requests) == set(site.thumbs)  # every thumbnail fetched, from the routed host

    assert_badges(seen, tiles, takeout)


def test_hover_shows_the_group_and_click_opens_it(chromium_with, takeout_store, data_dir):
    db, takeout = takeout_store
    tiles = takeout_page_tiles(data_dir, takeout)[:4]  # one row: Tulips, a stranger, Pumkins1, a stranger
    site = google_site(tiles)
    browser = chromium_with(db, site)
    page = browser.context.new_page()
    page.goto("https://photos.google.com/")
    pumpkins = tiles[2]
    badge = page.locator(f'a[href="./photo/{pumpkins.key}"] > .photodedup-badge')
    badge.wait_for(timeout=60_000)
    assert badge.get_attribute("data-library-count") == "2"

    badge.hover()
    tip = page.locator(".photodedup-tip")
    tip.locator("li").first.wait_for(timeout=30_000)
    assert "Also in your library: 2 copies in Takeout" in tip.text_content()
    assert [li.split(" — ")[0].lstrip("★ ") for li in tip.locator("li").all_text_contents()] == [
        "Pumkins1.jpg",
        "Pumkins1.jpg",
    ]

    with browser.context.expect_page(timeout=30_000) as opened:
        badge.click()
    group_page = opened.value
    assert "/popup/popup.html?group=" in group_page.url
    assert group_page.url.endswith(badge.get_attribute("data-library-group"))
    members = group_page.locator("#members li")
    members.nth(1).wait_for(timeout=30_000)
    assert members.count() == 2
    assert all(t.startswith("Pumkins1.jpg — Takeout") for t in members.all_text_contents())
    # The page itself did not navigate: the badge's click is the extension's, not the tile link's.
    assert page.url == "https://photos.google.com/"


ICLOUD_FRAME = "https://www.icloud.com/applications/photos3/current/en-us/index.html"


def test_icloud_photos_best_effort(chromium_with, takeout_store, data_dir):
    """iCloud Photos runs its grid in a same-origin iframe: the content script runs there too (all_frames) and
    badges grid cells holding an <img>. The cell markup here is an assumption (Apple's changes often), kept
    to what the selectors module expects: [role=gridcell] with an id attribute and an <img>."""
    db, takeout = takeout_store
    tiles = takeout_page_tiles(data_dir, takeout)[:4]
    thumbs = {f"https://cvws.icloud-content.com/B/{t.token}/thumb.jpeg": thumbnail_jpeg(t) for t in tiles}
    cells = "".join(
        f'<div role="gridcell" class="grid-item" data-id="{t.key}" aria-label="Photo">'
        f'<img src="{url}" width="160" height="120" alt=""></div>'
        for t, url in zip(tiles, thumbs, strict=True)
    )
    site = PhotoSite(
        pages={
            "https://www.icloud.com/photos/": (
                "<!doctype html><title>iCloud Photos</title>"
                f'<iframe src="{ICLOUD_FRAME}" width="900" height="600"></iframe>'
            ),
            ICLOUD_FRAME: f'<!doctype html><div role="grid" class="photos-grid">{cells}</div>',
        },
        thumbs=thumbs,
    )
    browser = chromium_with(db, site)
    page = browser.context.new_page()
    page.goto("https://www.icloud.com/photos/")
    frame = page.frame(url=ICLOUD_FRAME)
    deadline = time.monotonic() + 60
    while frame.evaluate("document.documentElement.dataset.photodedupAnswered") != str(len(tiles)):
        assert time.monotonic() < deadline, frame.evaluate("({...document.documentElement.dataset})")
        time.sleep(0.1)
    marked = frame.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[role=gridcell]')].map(c => [c.dataset.id,
             c.querySelector(':scope > .photodedup-badge')?.dataset.libraryCount ?? null]))"""
    )
    # Tulips is in the library once, Pumkins1 twice; the two strangers are not.
    assert marked == {tiles[0].key: "1", tiles[1].key: None, tiles[2].key: "2", tiles[3].key: None}
    assert page.evaluate("document.documentElement.dataset.photodedupTiles") == "0"  # the grid is framed
