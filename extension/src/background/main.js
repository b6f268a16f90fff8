// The background (service worker in Chrome, event page in Firefox): owns the native port and answers the popup,
// the options page and the content scripts. Extension pages may run any host command the UI needs; content
// scripts are untrusted (the page they live in may be hostile) and get read-only queries about tiles and groups.
import {ext, MSG} from '../common/ext.js';
import {HostError, HostPort} from './host-port.js';
import {anyPattern} from './match-patterns.js';
import {MAX_ITEMS_PER_REQUEST, PageMatcher} from './page-matcher.js';
import {loadSettings, siteOf} from '../common/settings.js';
import {smallJpeg} from './thumbnails.js';

const PAGE_COMMANDS = new Set([
  'hello', 'status', 'scan.start', 'scan.progress', 'groups.list', 'groups.get', 'thumbnail', 'decide', 'review.open',
]);
const SCAN_POLL_MS = 1000;
const FETCH_CONCURRENCY = 6;

const host = new HostPort();
const manifest = ext.runtime.getManifest();
const fromContentSite = anyPattern(manifest.content_scripts.flatMap((cs) => cs.matches));
const thumbnailAllowed = anyPattern(manifest.host_permissions);
const extensionOrigin = ext.runtime.getURL('');
const matchers = new Map(); // "tabId:frameId" → PageMatcher

function matcherFor(sender) {
  const id = `${sender.tab?.id}:${sender.frameId ?? 0}`;
  let m = matchers.get(id);
  // A new document in the frame (navigation) starts afresh.
  if (m && m.url !== sender.url?.split('#')[0]) m = null;
  if (!m) {
    m = new PageMatcher();
    m.url = sender.url?.split('#')[0];
    matchers.set(id, m);
  }
  return m;
}

ext.tabs?.onRemoved?.addListener((tabId) => {
  for (const id of matchers.keys()) if (id.startsWith(`${tabId}:`)) matchers.delete(id);
});

/** While the host runs a scan, keep the port (and so the host process and its job) alive, and follow it. */
function followJob(job) {
  if (!job || job.status !== 'running') return;
  const release = host.hold();
  const poll = async () => {
    try {
      const {job: now} = await host.request('scan.progress', {job_id: job.id});
      if (now.status === 'running') return void setTimeout(poll, SCAN_POLL_MS);
    } catch (err) {
      console.warn('photodedup: following the scan failed', err);
    }
    release();
  };
  setTimeout(poll, SCAN_POLL_MS);
}

async function hostCommand(cmd, args) {
  if (!PAGE_COMMANDS.has(cmd)) throw new HostError('bad_args', `Unknown command ${cmd}`);
  const result = await host.request(cmd, args ?? {}, {timeoutMs: cmd === 'scan.start' ? 120_000 : 60_000});
  if (cmd === 'scan.start') followJob(result.job);
  return result;
}

/** Every group, page after page, until the host says there is no next page. */
async function allGroups({kind, limit = 200} = {}) {
  const groups = [];
  let offset = 0;
  let total = 0;
  let pages = 0;
  const release = host.hold();
  try {
    while (offset !== null && offset !== undefined) {
      const args = {offset, limit};
      if (kind) args.kind = kind;
      const page = await host.request('groups.list', args);
      groups.push(...page.groups);
      total = page.total;
      offset = page.next_offset;
      pages++;
    }
  } finally {
    release();
  }
  return {total, pages, groups};
}

async function pool(items, n, fn) {
  const queue = [...items];
  const workers = Array.from({length: Math.min(n, queue.length)}, async () => {
    while (queue.length) await fn(queue.shift());
  });
  await Promise.all(workers);
}

function cleanKey(key) {
  return typeof key === 'string' && key.length > 0 && key.length <= 300 ? key : null;
}

/** Tiles from a content script → thumbnails fetched and shrunk here → host `match` → badges for the whole page. */
async function matchTiles(message, sender) {
  const items = Array.isArray(message.items) ? message.items.slice(0, 2 * MAX_ITEMS_PER_REQUEST) : [];
  const matcher = matcherFor(sender);
  const fresh = [];
  const errors = {};
  await pool(items, FETCH_CONCURRENCY, async (item) => {
    const key = cleanKey(item?.key);
    if (!key || matcher.has(key) || typeof item.thumb !== 'string') return;
    try {
      matcher.addImage(key, await smallJpeg(item.thumb, thumbnailAllowed));
      fresh.push(key);
    } catch (err) {
      errors[key] = err.message;
    }
  });
  for (let i = 0; i < fresh.length; i += MAX_ITEMS_PER_REQUEST) {
    const batch = matcher.requestItems(fresh.slice(i, i + MAX_ITEMS_PER_REQUEST));
    const result = await host.request('match', {items: batch}, {timeoutMs: 120_000});
    matcher.addResult(result);
  }
  for (const [key, msg] of matcher.errors) errors[key] = msg;
  return {badges: matcher.badges(), errors, sent: fresh.length};
}

async function groupSummary(groupId) {
  const g = await host.request('groups.get', {group_id: groupId});
  return {
    id: g.id,
    kind: g.kind,
    why: g.why,
    members: (g.members ?? []).map((m) => ({name: m.name, source: m.source, keep: Boolean(m.keep)})),
  };
}

function groupPageUrl(groupId) {
  return ext.runtime.getURL(`popup/popup.html?group=${encodeURIComponent(groupId)}`);
}

async function fromPage(message) {
  switch (message.type) {
    case MSG.STATE:
      return host.check();
    case MSG.RECONNECT:
      host.close();
      return host.check();
    case MSG.HOST:
      return hostCommand(message.cmd, message.args);
    case MSG.ALL_GROUPS:
      return allGroups(message);
    default:
      throw new HostError('bad_args', `Unknown message ${message.type}`);
  }
}

async function fromContentScript(message, sender) {
  const site = siteOf(sender.url);
  const settings = await loadSettings();
  if (!site || !settings.sites[site]) throw new HostError('forbidden', 'Badges are turned off for this site.');
  const groupId = typeof message.group_id === 'string' && message.group_id.length <= 200 ? message.group_id : null;
  switch (message.type) {
    case MSG.STATE: {
      const info = await host.check();
      return {state: info.state};
    }
    case MSG.MATCH:
      return matchTiles(message, sender);
    case MSG.GROUP_SUMMARY:
      if (!groupId) throw new HostError('bad_args', 'group_id is needed');
      return groupSummary(groupId);
    case MSG.OPEN_GROUP:
      if (!groupId) throw new HostError('bad_args', 'group_id is needed');
      await ext.tabs.create({url: groupPageUrl(groupId)});
      return {opened: true};
    default:
      throw new HostError('forbidden', `Content scripts may not send ${message.type}`);
  }
}

function route(message, sender) {
  if (!message || typeof message !== 'object' || sender.id !== ext.runtime.id) {
    return Promise.reject(new HostError('forbidden', 'Unknown sender.'));
  }
  if (typeof sender.url === 'string' && sender.url.startsWith(extensionOrigin)) return fromPage(message);
  if (sender.tab && fromContentSite(sender.url)) return fromContentScript(message, sender);
  return Promise.reject(new HostError('forbidden', 'Messages are taken only from this extension\'s pages and sites.'));
}

ext.runtime.onMessage.addListener((message, sender, sendResponse) => {
  route(message, sender).then(
    (result) => sendResponse({ok: true, result}),
    (err) => sendResponse({ok: false, error: {code: err.code ?? 'internal', message: err.message ?? String(err)}}),
  );
  return true; // answers asynchronously (works with callback-style chrome.* and with browser.*)
});
