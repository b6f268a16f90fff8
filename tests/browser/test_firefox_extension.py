"""The extension in Debian's firefox-esr: event-page background, a real native round trip to the host found
through ``$HOME/.mozilla/native-messaging-hosts`` (HOME is a temp folder), and the badges on the photo grid.

Firefox cannot have https://photos.google.com served by a test (WebDriver BiDi interception does not see the
extension's own requests, and a TLS stand-in would need a trusted certificate), so the page and its thumbnails
come from a server on 127.0.0.1 and the extension is built with an extra content-script match for it
(``build.mjs --extra-match http://127.0.0.1/*``). Everything else is the same code as the shipped build.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from browser_harness import EXTENSION, FIREFOX, extension_ids, install_host, need, scan
from photos_page_fixture import assert_badges, grid_html, takeout_page_tiles, thumbnail_jpeg

pytestmark = pytest.mark.timeout(180)

DRIVER = Path(__file__).with_name("firefox_badges.cjs")


class _Site:
    """The photo page and its thumbnails on 127.0.0.1, from memory."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body, ctype = site.files.get(self.path.split("?")[0], (b"", ""))
                self.send_response(200 if ctype else 404)
                self.send_header("Content-Type", ctype or "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_firefox_badges_after_a_native_round_trip(built_extension, data_dir, tmp_path):
    need(FIREFOX.exists(), f"firefox-esr ({FIREFOX}, Debian package firefox-esr)")
    need((EXTENSION / "node_modules" / "puppeteer-core").is_dir(), "extension/node_modules (npm ci)")
    takeout = data_dir / "takeout" / "Takeout"
    db = tmp_path / "library.db"
    scan(db, takeout)
    home = tmp_path / "home"
    install_host(home, db, "--browser", "firefox")
    assert (home / ".mozilla" / "native-messaging-hosts" / "org.photodedup.host.json").is_file()

    tiles = takeout_page_tiles(data_dir, takeout)
    site = _Site()
    try:
        site.files["/photos/"] = (
            grid_html(tiles, thumb_base=site.origin).encode(),
            "text/html; charset=utf-8",
        )
        for t in tiles:
            site.files[t.thumb_path()] = (thumbnail_jpeg(t), "image/jpeg")
        opts = {
            "firefox": str(FIREFOX),
            "extension": str(built_extension / "test" / "firefox"),
            "url": f"{site.origin}/photos/",
            "home": str(home),
            "scrolls": [0, 170, 340, 510, 680, 340, 0],
        }
        env = dict(os.environ, NODE_PATH=str(EXTENSION / "node_modules"))
        proc = subprocess.run(
            ["node", str(DRIVER), json.dumps(opts)], capture_output=True, text=True, env=env, timeout=150
        )
    finally:
        site.close()
    assert proc.returncode == 0, f"firefox driver failed:\n{proc.stderr[-4000:]}"
    out = json.loads(proc.stdout)
    assert out["version"].startswith("firefox/")
    assert out["addonId"] == extension_ids()["firefox"]["ids"][0]  # the stable id the host allows
    assert out["dataset"]["photodedupSent"] == str(len(tiles)), out["dataset"]
    assert out["dataset"]["photodedupErrors"] == "0", out["dataset"]
    assert set(out["tiles"]) == {t.key for t in tiles}
    assert_badges(out["tiles"], tiles, takeout)
