// What the extension knows about the tiles of one page (one tab frame). A virtualised grid shows tiles a few at a
// time, so duplicates on the page can be tiles sent in different batches: each host `match` request carries the new
// tiles plus the most recent earlier ones (up to the host's limit), and the page groups the host returns are merged
// (union-find) into groups that only ever grow. Library matches are kept per tile.

export const MAX_ITEMS_PER_REQUEST = 200;
const MAX_KEYS = 5000;

export class PageMatcher {
  constructor() {
    this.images = new Map(); // key → base64 JPEG, oldest first
    this.parent = new Map(); // union-find over keys
    this.kinds = new Map(); // root → kind of the page group
    this.labels = new Map(); // root → small number shown on the badge, stable once given
    this.nextLabel = 1;
    this.library = new Map(); // key → {group_id, item_ids, count, where}
    this.errors = new Map(); // key → message
  }

  has(key) {
    return this.images.has(key);
  }

  addImage(key, image) {
    this.images.delete(key);
    this.images.set(key, image);
    while (this.images.size > MAX_KEYS) this.images.delete(this.images.keys().next().value);
  }

  /** The items for one `match` request: every new key, then earlier keys, newest first, up to the limit. */
  requestItems(newKeys) {
    const keys = newKeys.filter((k) => this.images.has(k)).slice(0, MAX_ITEMS_PER_REQUEST);
    const chosen = new Set(keys);
    const earlier = [...this.images.keys()].reverse();
    for (const k of earlier) {
      if (keys.length >= MAX_ITEMS_PER_REQUEST) break;
      if (!chosen.has(k)) {
        keys.push(k);
        chosen.add(k);
      }
    }
    return keys.map((key) => ({key, image: this.images.get(key)}));
  }

  find(key) {
    let root = key;
    while (this.parent.has(root) && this.parent.get(root) !== root) root = this.parent.get(root);
    let k = key;
    while (k !== root) {
      const next = this.parent.get(k);
      this.parent.set(k, root);
      k = next;
    }
    return root;
  }

  union(a, b, kind) {
    if (!this.parent.has(a)) this.parent.set(a, a);
    if (!this.parent.has(b)) this.parent.set(b, b);
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    // Keep the root that already has a label, so badges do not change number as the group grows.
    const [keep, drop] = this.labels.has(rb) && !this.labels.has(ra) ? [rb, ra] : [ra, rb];
    this.parent.set(drop, keep);
    if (!this.kinds.has(keep)) this.kinds.set(keep, this.kinds.get(drop) ?? kind);
    this.kinds.delete(drop);
    this.labels.delete(drop);
  }

  /** Folds one host `match` result in. */
  addResult(result) {
    for (const group of result.page_groups ?? []) {
      const keys = (group.keys ?? []).filter((k) => typeof k === 'string');
      for (let i = 1; i < keys.length; i++) this.union(keys[0], keys[i], group.kind);
      if (keys.length > 1 && !this.kinds.has(this.find(keys[0]))) this.kinds.set(this.find(keys[0]), group.kind);
    }
    for (const [key, lib] of Object.entries(result.library ?? {})) {
      if (lib && lib.count > 0) this.library.set(key, lib);
      else this.library.delete(key);
    }
    for (const [key, message] of Object.entries(result.errors ?? {})) this.errors.set(key, String(message));
  }

  /** Every page group with two or more tiles: {label, kind, keys}. */
  pageGroups() {
    const byRoot = new Map();
    for (const key of this.parent.keys()) {
      const root = this.find(key);
      if (!byRoot.has(root)) byRoot.set(root, []);
      byRoot.get(root).push(key);
    }
    const groups = [];
    for (const [root, keys] of byRoot) {
      if (keys.length < 2) continue;
      if (!this.labels.has(root)) this.labels.set(root, this.nextLabel++);
      groups.push({label: this.labels.get(root), kind: this.kinds.get(root) ?? 'duplicate', keys: keys.sort()});
    }
    return groups.sort((a, b) => a.label - b.label);
  }

  /** Badge data for every tile we know something about, keyed by media key. */
  badges() {
    const out = {};
    for (const group of this.pageGroups()) {
      for (const key of group.keys) out[key] = {page: group};
    }
    for (const [key, lib] of this.library) {
      out[key] = {...out[key], library: {
        group_id: lib.group_id ?? null,
        count: lib.count,
        where: Array.isArray(lib.where) ? lib.where.map(String) : [],
      }};
    }
    return out;
  }
}
