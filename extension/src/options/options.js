// Settings: which sites get badges; and what the host says about itself.
import {fixFor, host, hostState, reconnect} from '../common/client.js';
import {loadSettings, saveSettings, SITES} from '../common/settings.js';

const $ = (id) => document.getElementById(id);

async function showSites() {
  const settings = await loadSettings();
  const form = $('sites');
  form.replaceChildren();
  for (const [site, {label}] of Object.entries(SITES)) {
    const box = Object.assign(document.createElement('input'), {type: 'checkbox', name: site, checked: settings.sites[site]});
    box.addEventListener('change', async () => {
      const now = await loadSettings();
      now.sites[site] = box.checked;
      await saveSettings(now);
      $('saved').textContent = 'Saved. Reload the photo site for it to take effect.';
    });
    const row = document.createElement('label');
    row.append(box, ` ${label}`);
    form.appendChild(row);
  }
}

function detail(term, value) {
  const dt = Object.assign(document.createElement('dt'), {textContent: term});
  const dd = Object.assign(document.createElement('dd'), {textContent: value});
  return [dt, dd];
}

async function showHost(check) {
  const info = await check();
  $('dot').className = `dot ${info.state}`;
  $('state').textContent = info.state === 'connected' ? 'Connected' : info.message || info.state;
  $('state').dataset.state = info.state;
  const fix = fixFor(info);
  $('fix').hidden = !fix;
  $('fix-text').textContent = fix;
  const rows = [detail('Extension id', info.extensionId)];
  if (info.hello) {
    rows.push(detail('Host', `${info.hello.name} ${info.hello.version} (protocol ${info.hello.protocol})`));
    const s = await host('status').catch(() => null);
    if (s) {
      rows.push(detail('Library', `${s.items.total} items (${s.items.images} photos, ${s.items.videos} videos) ` +
        `from ${s.sources.length} sources`));
    }
  }
  $('details').replaceChildren(...rows.flat());
}

$('check').addEventListener('click', () => showHost(reconnect));
showSites();
showHost(hostState);
