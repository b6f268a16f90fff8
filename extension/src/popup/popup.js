// The toolbar popup (also opened in a tab as popup.html?group=<id> when a badge is clicked): connection state with
// the fix when the host is missing, library counts, a scan with live progress, the largest groups with
// thumbnails, every group through paging, and the review app.
import {allGroups, fixFor, host, HostError, hostState, reconnect} from '../common/client.js';
import {ext} from '../common/ext.js';

const $ = (id) => document.getElementById(id);
const TOP_GROUPS = 8;
const POLL_MS = 500;
const params = new URLSearchParams(location.search);

function fmtBytes(n) {
  if (!n) return '0 B';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  const i = Math.min(units.length - 1, Math.floor(Math.log10(n) / 3));
  return `${(n / 1000 ** i).toFixed(i ? 1 : 0)} ${units[i]}`;
}

function fmtDate(s) {
  if (!s) return '';
  const d = new Date(typeof s === 'number' ? s * 1000 : s);
  return Number.isNaN(d.getTime()) ? String(s) : d.toLocaleString();
}

function showState(info) {
  $('dot').className = `dot ${info.state}`;
  const words = {
    connected: `Connected to photodedup ${info.hello?.version ?? ''}`.trim(),
    connecting: 'Connecting to the host…',
    unknown: 'Connecting to the host…',
    missing: 'The photodedup host is not installed',
    forbidden: 'The photodedup host refused this extension',
    error: 'The photodedup host is not working',
  };
  $('state').textContent = words[info.state] ?? info.state;
  const fix = fixFor(info);
  $('fix').hidden = !fix;
  $('fix-text').textContent = fix;
  $('main').hidden = info.state !== 'connected' || params.has('group');
}

async function thumbnailUrl(itemId, size = 96) {
  const t = await host('thumbnail', {item_id: itemId, size});
  return `data:${t.mime};base64,${t.data}`;
}

function setThumb(img, itemId) {
  if (itemId === null || itemId === undefined) return;
  thumbnailUrl(itemId).then((url) => {
    img.src = url;
  }, () => img.classList.add('missing'));
}

async function showCounts() {
  const s = await host('status');
  $('count-images').textContent = s.items.images;
  $('count-videos').textContent = s.items.videos;
  $('count-sources').textContent = s.sources.length;
  const last = s.last_scan;
  $('last-scan').textContent = last ? `Last scan: ${fmtDate(last.finished ?? last.started)} (${last.status})` : 'Not scanned yet.';
  const running = (s.jobs ?? []).find((j) => j.kind === 'scan' && j.status === 'running');
  if (running) followScan(running);
  return s;
}

function groupRow(g, withThumb) {
  const li = document.createElement('li');
  li.dataset.groupId = g.id;
  if (withThumb) {
    const img = document.createElement('img');
    img.alt = '';
    li.appendChild(img);
    setThumb(img, g.keeper_id ?? g.member_ids?.[0]);
  }
  const text = document.createElement('div');
  const title = document.createElement('div');
  title.textContent = g.title || g.id;
  const meta = document.createElement('div');
  meta.className = 'muted';
  meta.textContent = `${g.size} copies · ${g.kind} · ${fmtBytes(g.reclaimable)} to free`;
  text.append(title, meta);
  li.appendChild(text);
  li.addEventListener('click', () => showGroup(g.id));
  return li;
}

async function showTopGroups() {
  const page = await host('groups.list', {offset: 0, limit: TOP_GROUPS});
  $('groups').replaceChildren(...page.groups.map((g) => groupRow(g, true)));
  $('count-groups').textContent = page.total;
  $('groups-empty').hidden = page.total > 0;
  $('all-groups').hidden = page.total <= page.groups.length;
  $('all-groups').textContent = `All ${page.total} groups`;
}

async function showAllGroups() {
  $('all-groups').disabled = true;
  $('all-summary').textContent = 'Loading…';
  try {
    const all = await allGroups();
    $('all-summary').textContent = `${all.groups.length} of ${all.total} groups (${all.pages} pages)`;
    $('all-summary').dataset.loaded = String(all.groups.length);
    $('all-summary').dataset.total = String(all.total);
    $('all-list').replaceChildren(...all.groups.map((g) => groupRow(g, false)));
  } catch (err) {
    $('all-summary').textContent = `Could not list the groups: ${err.message}`;
  } finally {
    $('all-groups').disabled = false;
  }
}

let following = null;

function showJob(job) {
  $('scan-status').hidden = false;
  const bar = $('scan-progress');
  if (job.total) {
    bar.max = job.total;
    bar.value = job.done;
  } else {
    bar.removeAttribute('value'); // indeterminate until the host knows how many files there are
  }
  const counts = job.total ? `${job.done} / ${job.total} files` : `${job.done} files`;
  const errors = job.errors ? `, ${job.errors} unreadable` : '';
  const words = {running: 'Scanning', complete: 'Scan complete', failed: 'Scan failed', interrupted: 'Scan interrupted'};
  $('scan-text').textContent = `${words[job.status] ?? job.status}: ${counts}${errors}${job.message ? ` — ${job.message}` : ''}`;
  $('scan-status').dataset.status = job.status;
  $('scan-status').dataset.done = String(job.done);
  $('scan-status').dataset.total = String(job.total ?? '');
  $('scan').disabled = job.status === 'running';
}

function followScan(job) {
  if (following === job.id) return;
  following = job.id;
  showJob(job);
  const poll = async () => {
    if (following !== job.id) return;
    try {
      const {job: now} = await host('scan.progress', {job_id: job.id});
      showJob(now);
      if (now.status === 'running') return void setTimeout(poll, POLL_MS);
      following = null;
      await Promise.all([showCounts(), showTopGroups()]);
    } catch (err) {
      $('scan-text').textContent = `Lost track of the scan: ${err.message}`;
      following = null;
      $('scan').disabled = false;
    }
  };
  setTimeout(poll, POLL_MS);
}

async function startScan() {
  $('scan').disabled = true;
  try {
    const {job} = await host('scan.start', {});
    followScan(job);
  } catch (err) {
    $('scan-status').hidden = false;
    $('scan-text').textContent = `Could not start a scan: ${err.message}`;
    $('scan').disabled = false;
  }
}

function reviewUnavailable(message) {
  $('review').disabled = true;
  $('review-note').textContent = message;
}

let reviewUrl = null;

/** Asks the host for the review app's address up front, so the button is disabled when there is none. */
async function probeReview() {
  try {
    ({url: reviewUrl} = await host('review.open'));
    $('review').disabled = false;
  } catch (err) {
    if (err instanceof HostError && err.code === 'unavailable') reviewUnavailable(err.message);
    else $('review-note').textContent = err.message;
  }
}

async function openReview() {
  if (reviewUrl) await ext.tabs.create({url: reviewUrl});
}

async function showGroup(groupId) {
  $('main').hidden = true;
  $('group-view').hidden = false;
  $('back').hidden = params.has('group');
  const g = await host('groups.get', {group_id: groupId});
  $('group-title').textContent = `${g.kind} · ${g.members.length} copies`;
  $('group-why').textContent = g.why ?? '';
  $('members').replaceChildren(...g.members.map((m) => {
    const li = document.createElement('li');
    li.dataset.itemId = String(m.id);
    const img = document.createElement('img');
    img.alt = '';
    setThumb(img, m.id);
    const text = document.createElement('div');
    const name = document.createElement('div');
    name.textContent = `${m.name} — ${m.source}`;
    const meta = document.createElement('div');
    meta.className = 'muted';
    const size = m.width && m.height ? `${m.width}×${m.height} · ` : '';
    meta.textContent = `${size}${fmtBytes(m.size)}${m.taken_at ? ` · ${fmtDate(m.taken_at)}` : ''}`;
    text.append(name, meta);
    if (m.keep !== undefined && m.keep !== null) {
      const reason = document.createElement('div');
      reason.className = m.keep ? 'keep' : 'muted';
      reason.textContent = `${m.keep ? 'Keep' : 'Duplicate'}${m.reason ? `: ${m.reason}` : ''}`;
      text.appendChild(reason);
    }
    li.append(img, text);
    return li;
  }));
}

async function load(info) {
  showState(info);
  if (info.state !== 'connected') return;
  if (params.has('group')) {
    await showGroup(params.get('group'));
    return;
  }
  await Promise.all([showCounts(), showTopGroups(), probeReview()]);
}

function fail(err) {
  $('state').textContent = `Error: ${err.message}`;
  $('dot').className = 'dot error';
}

if (params.has('group')) document.body.classList.add('tab');
$('retry').addEventListener('click', () => reconnect().then(load).catch(fail));
$('scan').addEventListener('click', startScan);
$('all-groups').addEventListener('click', showAllGroups);
$('review').addEventListener('click', openReview);
$('back').addEventListener('click', () => {
  $('group-view').hidden = true;
  $('main').hidden = false;
});
hostState().then(load).catch(fail);
