"""Real browsers with the built extension and the real host: Debian's Chromium driven by Playwright, and
Debian's firefox-esr driven by puppeteer-core over WebDriver BiDi. Nothing here reaches the network: the
photo site is served by the test, everything else is refused, and the browsers run with their background
networking off."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser_harness import CHROMIUM, CHROMIUM_QUIET, Chromium, PhotoSite, install_host, need, run_build


@pytest.fixture(scope="session")
def built_extension(tmp_path_factory) -> Path:
    """``extension/build.mjs`` output for both browsers; the Firefox one also matches http://127.0.0.1/*,
    where its tests serve the photo page (Firefox cannot have https://photos.google.com served by a test)."""
    out = tmp_path_factory.mktemp("ext")
    run_build(out / "plain", "--no-zip", "--no-lint", "--browser", "chrome")
    run_build(
        out / "test", "--no-zip", "--no-lint", "--browser", "firefox", "--extra-match", "http://127.0.0.1/*"
    )
    return out


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[object]:
    need(CHROMIUM.exists(), f"Chromium ({CHROMIUM}, Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the playwright Python package")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture
def chromium_with(playwright_session, built_extension, tmp_path) -> Iterator[Callable[..., Chromium]]:
    """Starts headless Chromium with the built extension and the real host registered in its profile
    (``install-host --user-data-dir``) for the given store; https://photos.google.com/ and its thumbnail host
    are answered from a PhotoSite, every other http(s) request is refused."""
    started: list[Chromium] = []

    def start(db: Path | None, site: PhotoSite | None = None) -> Chromium:
        site = site or PhotoSite()
        n = len(started)
        udd = tmp_path / f"chromium-{n}"
        udd.mkdir()
        if db is not None:
            install_host(tmp_path / f"home-{n}", db, "--browser", "chromium", "--user-data-dir", str(udd))
        ext = built_extension / "plain" / "chrome"
        args = [f"--disable-extensions-except={ext}", f"--load-extension={ext}", *CHROMIUM_QUIET]
        if os.geteuid() == 0:
            args.append("--no-sandbox")
        context = playwright_session.chromium.launch_persistent_context(
            str(udd), executable_path=str(CHROMIUM), headless=True, args=args
        )

        def serve(route) -> None:
            url = route.request.url
            bare = url.split("?")[0]
            if bare in site.pages:
                route.fulfill(status=200, body=site.pages[bare], content_type="text/html; charset=utf-8")
            elif url.startswith("https://photos.google.com/"):
                route.fulfill(status=200, body=site.html, content_type="text/html; charset=utf-8")
            elif bare in site.thumbs:
                site.thumb_requests.append(bare)
                route.fulfill(status=200, body=site.thumbs[bare], content_type="image/jpeg")
            else:
                site.refused.append(url)
                route.abort()

        context.route(re.compile(r"^https?://"), serve)
        worker = (
            context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
        )
        ext_id = worker.url.split("/")[2]
        chromium = Chromium(context, ext_id, site, udd)
        started.append(chromium)
        return chromium

    yield start
    for c in started:
        c.context.close()
