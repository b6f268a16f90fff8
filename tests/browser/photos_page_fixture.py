"""A stand-in for photos.google.com: a virtualised grid in Google Photos' markup, built from real pictures.

The page has what the extension's selectors rely on and what makes the real page hard: tiles are links to
``./photo/<mediaKey>`` (keys shaped like Google's ``AF1Qip…``) whose thumbnail is a ``div[data-latest-bg]``
with the same URL as an inline background-image, minified class names, a localised ``aria-label``, a
``[role=checkbox]`` beside the link, and a grid that scrolls an inner container and keeps only the rows near
the viewport in the DOM (tiles are created and destroyed as it scrolls, like the real one).

Thumbnails are served from ``https://lh3.googleusercontent.com/pw/<token>=w256-h192-no`` (Chromium, routed by
Playwright) or from the local server (Firefox): JPEGs made here from the source pictures at Google's thumbnail
size, so the extension sees what it would see on the real site.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

__all__ = [
    "THUMB_HOST",
    "GridTile",
    "assert_badges",
    "grid_html",
    "takeout_page_tiles",
    "thumbnail_jpeg",
    "tile",
]

THUMB_HOST = "https://lh3.googleusercontent.com"
COLUMNS = 4
ROW_HEIGHT = 170
VIEWPORT_ROWS = 2  # rows visible in the scrolling container; one more row each side stays in the DOM


@dataclass(frozen=True)
class GridTile:
    key: str  # the media key in /photo/<key>
    token: str  # the thumbnail URL's id
    picture: Path  # the source picture the thumbnail is made from
    thumb_side: int  # longer side of the served thumbnail
    quality: int

    def thumb_path(self) -> str:
        return f"/pw/{self.token}=w{self.thumb_side}-h{self.thumb_side}-no"


def _token(*parts: object, n: int) -> str:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(alphabet[b % 64] for b in digest)[:n]


def tile(index: int, picture: Path, thumb_side: int = 256, quality: int = 85) -> GridTile:
    """Tile number ``index`` showing ``picture``; a different index is a different upload with its own key."""
    return GridTile(
        key="AF1Qip" + _token("key", index, picture.name, n=27),
        token="AP1Gcz" + _token("thumb", index, picture.name, thumb_side, n=40),
        picture=picture,
        thumb_side=thumb_side,
        quality=quality,
    )


def thumbnail_jpeg(t: GridTile) -> bytes:
    """The thumbnail Google would serve: upright, longer side ``thumb_side``, JPEG."""
    with Image.open(t.picture) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        im.thumbnail((t.thumb_side, t.thumb_side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        im.save(out, "JPEG", quality=t.quality)
        return out.getvalue()


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Photos - Google Photos</title>
<style>
  body {{ margin: 0; font-family: sans-serif; }}
  .yDSiEe {{ height: {viewport}px; overflow-y: auto; position: relative; }}
  .BEC0tf {{ position: relative; }}
  .rtExYb {{ position: absolute; width: 230px; height: {tile_h}px; }}
  .p137Zd {{ display: block; width: 100%; height: 100%; }}
  .RY3tic {{ width: 100%; height: 100%; background-size: cover; background-position: center; }}
  .ckGgle {{ position: absolute; top: 6px; right: 6px; width: 18px; height: 18px; }}
</style></head>
<body><c-wiz class="zQTmif"><div role="main" class="XiGrsc">
<div class="yDSiEe" id="yDSiEe"><div class="BEC0tf" role="grid" style="height: {total_h}px"></div></div>
</div></c-wiz>
<script>
  const TILES = {tiles};
  const COLS = {cols}, ROW_H = {row_h};
  const scroller = document.getElementById('yDSiEe');
  const grid = scroller.firstElementChild;
  const shown = new Map();
  function make(i) {{
    const t = TILES[i];
    const cell = document.createElement('div');
    cell.className = 'rtExYb';
    cell.style.transform = `translate3d(${{(i % COLS) * 240}}px, ${{Math.floor(i / COLS) * ROW_H}}px, 0px)`;
    const a = document.createElement('a');
    a.className = 'p137Zd';
    a.href = './photo/' + t.key;
    a.setAttribute('aria-label', 'Photo - Landscape - ' + t.label);
    const bg = document.createElement('div');
    bg.className = 'RY3tic';
    bg.setAttribute('data-latest-bg', t.thumb);
    bg.style.backgroundImage = `url("${{t.thumb}}")`;
    a.appendChild(bg);
    const box = document.createElement('div');
    box.setAttribute('role', 'checkbox');
    box.setAttribute('aria-checked', 'false');
    box.className = 'ckGgle';
    cell.append(a, box);
    return cell;
  }}
  function render() {{
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_H) - 1);
    const last = Math.floor((scroller.scrollTop + scroller.clientHeight) / ROW_H) + 1;
    for (const [i, el] of shown) {{
      const row = Math.floor(i / COLS);
      if (row < first || row > last) {{ el.remove(); shown.delete(i); }}
    }}
    for (let i = first * COLS; i < Math.min(TILES.length, (last + 1) * COLS); i++) {{
      if (!shown.has(i)) {{ const el = make(i); shown.set(i, el); grid.appendChild(el); }}
    }}
  }}
  scroller.addEventListener('scroll', render);
  // Like the real page, the grid is filled after load, by script.
  setTimeout(render, 50);
</script></body></html>
"""


def grid_html(tiles: list[GridTile], thumb_base: str = THUMB_HOST) -> str:
    data = [
        {"key": t.key, "thumb": thumb_base + t.thumb_path(), "label": f"Mar {1 + i % 28}, 2016"}
        for i, t in enumerate(tiles)
    ]
    rows = (len(tiles) + COLUMNS - 1) // COLUMNS
    return _PAGE.format(
        viewport=VIEWPORT_ROWS * ROW_HEIGHT,
        tile_h=ROW_HEIGHT - 10,
        total_h=rows * ROW_HEIGHT,
        tiles=json.dumps(data).replace("</", "<\\/"),
        cols=COLUMNS,
        row_h=ROW_HEIGHT,
    )


def sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def takeout_page_tiles(data_dir: Path, takeout: Path) -> list[GridTile]:
    photos = takeout / "Google Photos"
    base = data_dir / "near-duplicates" / "imagededup" / "base_images"
    pictures = [
        photos / "Photos from 2019" / "Tulips.jpg",  # in the library once
        base / "ukbench01380.jpg",
        photos / "Photos from 2018" / "Pumkins1.jpg",  # in the library twice (Takeout's album copy)
        base / "ukbench08976.jpg",
        base / "ukbench09060.jpg",  # on the page twice, rows apart
        base / "ukbench09012.jpg",
        photos / "Photos from 2019" / "wedding.jpg",
        base / "ukbench09040.jpg",
        base / "ukbench08996.jpg",  # on the page twice, side by side
        base / "ukbench08996.jpg",
        base / "ukbench09348.jpg",
        photos / "Pumpkin Farm" / "Pumpkins3.jpg",  # in the library twice, and on the page twice
        base / "ukbench09380.jpg",
        base / "ukbench00120.jpg",
        base / "ukbench09268.jpg",
        base / "ukbench09060.jpg",
        photos / "Photos from 2018" / "Pumpkins3.jpg",
    ]
    # Two uploads of one photo are not the same bytes on Google's side either: other size, other quality.
    return [
        tile(i, p, thumb_side=256 if i % 2 else 224, quality=85 if i % 3 else 75)
        for i, p in enumerate(pictures)
    ]


def expected_badges(tiles: list[GridTile], library_root: Path) -> dict[str, dict]:
    """Per media key: how many other tiles show the same picture, and how many library files hold it."""
    library = Counter(sha256(p) for p in library_root.rglob("*") if p.is_file())
    shown = Counter(sha256(t.picture) for t in tiles)
    out = {}
    for t in tiles:
        h = sha256(t.picture)
        out[t.key] = {"page_copies": shown[h], "library_count": library[h], "picture": h}
    return out


def assert_badges(seen: dict[str, dict], tiles: list[GridTile], library_root: Path) -> None:
    """``seen``: per media key, the badge a browser drew ({"page", "count", "group"} from the DOM)."""
    want = expected_badges(tiles, library_root)
    labels_by_picture: dict[str, set[str]] = {}
    for key, w in want.items():
        got = seen[key]
        if w["page_copies"] > 1:
            assert got["page"] is not None, f"{key} ({w}) should be marked as a duplicate on the page: {got}"
            labels_by_picture.setdefault(w["picture"], set()).add(got["page"])
        else:
            assert got["page"] is None, f"{key} is on the page once but was marked: {got}"
        if w["library_count"]:
            assert got["count"] == str(w["library_count"]), f"{key}: {got} vs {w}"
            # A picture the library holds twice is a library group; one held once is in none.
            assert bool(got["group"]) == (w["library_count"] > 1), got
        else:
            assert got["count"] is None, f"{key} is not in the library but was marked: {got}"
    # One label per picture, and different pictures never share one.
    assert all(len(labels) == 1 for labels in labels_by_picture.values()), labels_by_picture
    flat = [next(iter(labels)) for labels in labels_by_picture.values()]
    assert len(flat) == len(set(flat)), labels_by_picture
