// Drives Debian's firefox-esr over WebDriver BiDi (puppeteer-core; no geckodriver): installs the built extension
// as a temporary add-on, opens the photo page, scrolls its grid to the bottom and back, and prints what every
// tile shows as JSON on stdout. Run by test_firefox_extension.py with NODE_PATH=extension/node_modules.
//   node firefox_badges.cjs '{"firefox": ..., "extension": ..., "url": ..., "home": ..., "scrolls": [...]}'
'use strict';
const puppeteer = require('puppeteer-core');

const READ_TILES = () => [...document.querySelectorAll('a[href*="/photo/"]')].map((a) => {
  const b = a.querySelector(':scope > .photodedup-badge');
  return {key: a.getAttribute('href').split('/photo/')[1], page: b?.dataset.pageGroup ?? null,
    count: b?.dataset.libraryCount ?? null, group: b?.dataset.libraryGroup ?? null};
});

// No traffic beyond this machine: every proxied request goes to a closed port (127.0.0.1 itself is never
// proxied), and the services that phone home are off (puppeteer already turns off updates and telemetry).
const QUIET_PREFS = {
  'network.proxy.type': 1,
  'network.proxy.http': '127.0.0.1',
  'network.proxy.http_port': 9,
  'network.proxy.ssl': '127.0.0.1',
  'network.proxy.ssl_port': 9,
  'network.dns.disablePrefetch': true,
  'network.connectivity-service.enabled': false,
  'network.captive-portal-service.enabled': false,
  'toolkit.telemetry.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'app.update.enabled': false,
  'extensions.update.enabled': false,
  'extensions.blocklist.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'browser.safebrowsing.update.enabled': false,
  'services.settings.server': 'http://127.0.0.1:9/',
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function settle(page, known, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  let before = null;
  let data = {};
  while (Date.now() < deadline) {
    const now = await page.evaluate(READ_TILES);
    for (const r of now) known.add(r.key);
    data = await page.evaluate(() => ({...document.documentElement.dataset}));
    if (data.photodedupState === 'error' || data.photodedupState === 'no-host' || data.photodedupState === 'off') {
      throw new Error(`content script stopped: ${JSON.stringify(data)}`);
    }
    const same = before !== null && JSON.stringify(now) === JSON.stringify(before);
    if (data.photodedupState === 'ready' && data.photodedupAnswered === String(known.size) && same) return now;
    before = now;
    await sleep(350);
  }
  throw new Error(`the page never settled: ${JSON.stringify(data)}`);
}

async function main() {
  const opts = JSON.parse(process.argv[2]);
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: opts.firefox,
    headless: true,
    env: {...process.env, HOME: opts.home, MOZ_HEADLESS: '1'},
    extraPrefsFirefox: QUIET_PREFS,
  });
  try {
    const version = await browser.version();
    const addonId = await browser.installExtension(opts.extension);
    const page = await browser.newPage();
    await page.goto(opts.url);
    const known = new Set();
    const seen = {};
    for (const top of opts.scrolls) {
      await page.evaluate((t) => { document.getElementById('yDSiEe').scrollTop = t; }, top);
      for (const r of await settle(page, known)) seen[r.key] = r;
    }
    const dataset = await page.evaluate(() => ({...document.documentElement.dataset}));
    process.stdout.write(JSON.stringify({version, addonId, dataset, tiles: seen}));
  } finally {
    await browser.close();
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
