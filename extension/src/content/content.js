// Follows the photo grid (virtualised: tiles come and go as it scrolls), sends the tiles it has not sent yet to the
// background in batches, and badges every tile it has an answer for. The page's state is mirrored on <html> as
// data-photodedup-* attributes (state, tiles found, tiles with ids) so a person or a test can see what happened.
(() => {
  if (globalThis.PhotodedupContent) return;
  const api = globalThis.browser ?? globalThis.chrome;
  const S = globalThis.PhotodedupSelectors;
  const B = globalThis.PhotodedupBadges;
  const BATCH = 100;
  const DEBOUNCE_MS = 250;
  const RETRY_MS = 5000;

  const root = document.documentElement;
  const waiting = new Map(); // key → thumbnail URL, not yet sent
  const sent = new Set();
  let answered = 0; // tiles whose answer (badge or none) has come back
  let badges = {};
  let busy = false;
  let timer = null;
  let stopped = false;

  function setState(state, detail = '') {
    root.dataset.photodedupState = state;
    if (detail) root.dataset.photodedupDetail = detail;
    else delete root.dataset.photodedupDetail;
  }

  async function send(message) {
    const reply = await api.runtime.sendMessage(message);
    if (!reply?.ok) {
      const err = new Error(reply?.error?.message ?? 'no answer from the extension');
      err.code = reply?.error?.code;
      throw err;
    }
    return reply.result;
  }

  /** blob: thumbnails (iCloud) belong to the page and cannot be fetched by the background: read their pixels here. */
  function localDataUrl(tileEl, url) {
    if (!url.startsWith('blob:')) return url;
    const img = tileEl.querySelector('img');
    if (!img?.complete || !img.naturalWidth) return null;
    const scale = Math.min(1, 160 / Math.max(img.naturalWidth, img.naturalHeight));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
    canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
    canvas.getContext('2d').drawImage(img, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL('image/jpeg', 0.85);
  }

  const actions = {
    open(info) {
      if (info.library?.group_id) {
        send({type: 'group.open', group_id: info.library.group_id}).catch((err) => console.warn('photodedup:', err));
      } else if (info.page) {
        const keys = new Set(info.page.keys);
        B.highlight(S.findTiles().filter((t) => keys.has(t.key)).map((t) => t.el));
      }
    },
    summary: (groupId) => send({type: 'group.summary', group_id: groupId}),
  };

  function renderAll(tiles = S.findTiles()) {
    for (const t of tiles) if (t.key) B.render(t.el, badges[t.key], actions);
    root.dataset.photodedupBadged = String(root.querySelectorAll(`.${B.BADGE}`).length);
  }

  function look() {
    timer = null;
    if (stopped) return;
    const tiles = S.findTiles();
    const check = S.selfCheck();
    root.dataset.photodedupTiles = String(check.tiles);
    root.dataset.photodedupTilesWithId = String(check.withKey);
    for (const t of tiles) {
      if (!t.key || !t.thumb || sent.has(t.key) || waiting.has(t.key)) continue;
      const thumb = localDataUrl(t.el, t.thumb);
      if (thumb) waiting.set(t.key, thumb);
    }
    renderAll(tiles);
    flush();
  }

  async function flush() {
    if (busy || stopped || !waiting.size) return;
    busy = true;
    const items = [];
    for (const [key, thumb] of waiting) {
      items.push({key, thumb});
      if (items.length >= BATCH) break;
    }
    for (const {key} of items) {
      waiting.delete(key);
      sent.add(key);
    }
    setState('matching');
    root.dataset.photodedupSent = String(sent.size);
    let state = ['ready'];
    try {
      const result = await send({type: 'page.match', items});
      badges = result.badges;
      answered += items.length;
      root.dataset.photodedupErrors = String(Object.keys(result.errors).length);
    } catch (err) {
      state = ['error', err.message];
      if (err.code === 'missing' || err.code === 'forbidden') {
        stopped = true;
      } else {
        // A passing failure (host restarting, timeout): these tiles go back in the queue for a later try.
        for (const {key, thumb} of items) {
          sent.delete(key);
          waiting.set(key, thumb);
        }
        setTimeout(flush, RETRY_MS);
      }
    } finally {
      busy = false;
    }
    renderAll();
    root.dataset.photodedupAnswered = String(answered);
    setState(...state);
    if (waiting.size && state[0] === 'ready') flush();
  }

  function schedule() {
    if (!timer) timer = setTimeout(look, DEBOUNCE_MS);
  }

  function ours(node) {
    const el = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
    return Boolean(el?.closest?.('[class^="photodedup-"]'));
  }

  async function start() {
    try {
      const {state} = await send({type: 'state'});
      if (state === 'missing' || state === 'forbidden') {
        setState('no-host', state);
        return;
      }
    } catch (err) {
      setState('off', err.message); // badges turned off for this site, or the background refused us
      return;
    }
    const observer = new MutationObserver((records) => {
      const relevant = (r) => !ours(r.target) && (r.type === 'attributes' || [...r.addedNodes].some((n) => !ours(n)));
      if (records.some(relevant)) schedule();
    });
    observer.observe(root, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ['href', 'data-latest-bg', 'style', 'src'],
    });
    setState('watching');
    look();
  }

  globalThis.PhotodedupContent = {look};
  start();
})();
