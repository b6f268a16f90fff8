// Every hook into the photo sites' markup lives here, so that when Google or Apple change their pages there is one
// file to fix, and selfCheck() says at once whether the hooks still find anything.
// Google Photos: a tile is a link to /photo/<mediaKey> (also under /u/1/, /album/<id>/, /search/<q>/, /share/<id>/);
// its thumbnail is in [data-latest-bg], an inline background-image, or an <img>. Class names are minified and
// change; aria-labels are localised: neither is used.
// iCloud Photos (best effort): the grid runs in a same-origin iframe; tiles are grid cells holding an <img>.
(() => {
  if (globalThis.PhotodedupSelectors) return;

  const GOOGLE = {
    tile: 'a[href*="/photo/"]',
    thumbAttr: 'data-latest-bg',
  };
  const ICLOUD = {
    tile: '[role="gridcell"], [role="option"], .grid-item',
    idAttrs: ['data-id', 'data-guid', 'data-record-name', 'id'],
  };

  function mediaKeyFromHref(href) {
    if (typeof href !== 'string') return null;
    const m = /\/photo\/([^/?#]+)/.exec(href);
    if (!m) return null;
    try {
      return decodeURIComponent(m[1]);
    } catch {
      return m[1];
    }
  }

  function absolute(url) {
    if (!url) return null;
    try {
      return new URL(url, document.baseURI).href;
    } catch {
      return null;
    }
  }

  function backgroundUrl(el) {
    const bg = el?.style?.backgroundImage ?? '';
    const m = /url\(\s*["']?([^"')]+)["']?\s*\)/.exec(bg);
    return m ? m[1] : null;
  }

  /** The thumbnail URL shown for one element: [data-latest-bg], then inline background-image, then <img>. */
  function thumbnailIn(el) {
    if (!el) return null;
    const withAttr = el.matches?.(`[${GOOGLE.thumbAttr}]`) ? el : el.querySelector(`[${GOOGLE.thumbAttr}]`);
    if (withAttr) return absolute(withAttr.getAttribute(GOOGLE.thumbAttr));
    const styled = [el, ...el.querySelectorAll('[style*="background-image"]')].find(backgroundUrl);
    if (styled) return absolute(backgroundUrl(styled));
    const img = el.matches?.('img') ? el : el.querySelector('img');
    const src = img?.currentSrc || img?.getAttribute('src');
    return src ? absolute(src) : null;
  }

  /** The tile's own thumbnail, or its parent's when Google draws it beside the link rather than inside it. */
  function googleThumbnail(tile) {
    const own = thumbnailIn(tile);
    if (own) return own;
    const parent = tile.parentElement;
    return parent && parent.querySelectorAll(GOOGLE.tile).length === 1 ? thumbnailIn(parent) : null;
  }

  function googleTiles(root) {
    return [...root.querySelectorAll(GOOGLE.tile)].map((el) => ({
      el,
      key: mediaKeyFromHref(el.getAttribute('href')),
      thumb: googleThumbnail(el),
    }));
  }

  function icloudKey(el, thumb) {
    for (const attr of ICLOUD.idAttrs) {
      const v = el.getAttribute(attr);
      if (v) return `icloud:${v}`;
    }
    // No id on the cell: the thumbnail's address without its query is the next most stable thing.
    return thumb ? `icloud:${thumb.split('?')[0]}` : null;
  }

  function icloudTiles(root) {
    return [...root.querySelectorAll(ICLOUD.tile)]
      .filter((el) => el.querySelector('img') || backgroundUrl(el))
      .map((el) => {
        const thumb = thumbnailIn(el);
        return {el, key: icloudKey(el, thumb), thumb};
      });
  }

  function site(loc = location) {
    return loc.hostname === 'www.icloud.com' ? 'icloud' : 'google';
  }

  function findTiles(root = document) {
    return site() === 'icloud' ? icloudTiles(root) : googleTiles(root);
  }

  /** "N tiles, M with ids, T with thumbnails": ok when every tile found yields a media key. */
  function selfCheck(root = document) {
    const tiles = findTiles(root);
    const withKey = tiles.filter((t) => t.key).length;
    const withThumb = tiles.filter((t) => t.thumb).length;
    return {site: site(), tiles: tiles.length, withKey, withThumb, ok: withKey === tiles.length};
  }

  globalThis.PhotodedupSelectors = {mediaKeyFromHref, thumbnailIn, findTiles, selfCheck, site};
})();
