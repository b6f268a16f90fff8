#!/usr/bin/env node
// Builds the one MV3 codebase in src/ into an unpacked extension per browser (dist/chrome, dist/firefox) and a
// zip package for each, then lints the Firefox build with web-ext (addons-linter). No bundler: the sources are
// copied as they are; only manifest.json differs, merged from manifest/base.json and manifest/<browser>.json.
//
//   node build.mjs [--browser chrome|firefox] [--out DIR] [--no-zip] [--no-lint] [--extra-match PATTERN]...
//
// --extra-match adds a content-script match (and host permission) for a test origin such as
// http://127.0.0.1/*; such builds are for tests only and are never zipped.
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const BROWSERS = ['chrome', 'firefox'];

function parseArgs(argv) {
  const opts = {browsers: BROWSERS, out: path.join(here, 'dist'), zip: true, lint: true, extraMatches: []};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--browser') {
      const b = value();
      if (!BROWSERS.includes(b)) throw new Error(`unknown browser ${b} (chrome or firefox)`);
      opts.browsers = [b];
    } else if (arg === '--out') opts.out = path.resolve(value());
    else if (arg === '--no-zip') opts.zip = false;
    else if (arg === '--no-lint') opts.lint = false;
    else if (arg === '--extra-match') opts.extraMatches.push(value());
    else throw new Error(`unknown argument ${arg}`);
  }
  if (opts.extraMatches.length) opts.zip = false;
  return opts;
}

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));

/** Objects merge key by key; anything else in `extra` replaces what `base` had. */
function merge(base, extra) {
  const out = {...base};
  for (const [k, v] of Object.entries(extra)) {
    const b = out[k];
    const both = v && b && typeof v === 'object' && typeof b === 'object' && !Array.isArray(v) && !Array.isArray(b);
    out[k] = both ? merge(b, v) : v;
  }
  return out;
}

/** The manifest for one browser: ids come from manifests/extension-ids.json, shared with the host installer. */
export function manifestFor(browser, {extraMatches = [], withKey = true} = {}) {
  const ids = readJson(path.join(here, '..', 'manifests', 'extension-ids.json'));
  const pkg = readJson(path.join(here, 'package.json'));
  const m = merge(readJson(path.join(here, 'manifest', 'base.json')), readJson(path.join(here, 'manifest', `${browser}.json`)));
  m.version = pkg.version;
  if (browser === 'chrome' && withKey) m.key = ids.chrome.dev_key;
  if (browser === 'firefox') m.browser_specific_settings.gecko.id = ids.firefox.ids[0];
  if (extraMatches.length) {
    m.host_permissions = [...m.host_permissions, ...extraMatches];
    m.content_scripts = [...m.content_scripts, {...m.content_scripts[0], matches: extraMatches}];
  }
  return m;
}

function writeUnpacked(browser, dir, manifest) {
  fs.rmSync(dir, {recursive: true, force: true});
  fs.cpSync(path.join(here, 'src'), dir, {recursive: true});
  fs.writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

async function zip(sourceDir, artifactsDir, filename) {
  const {default: webExt} = await import('web-ext');
  await webExt.cmd.build({sourceDir, artifactsDir, filename, overwriteDest: true}, {showReadyMessage: false});
  return path.join(artifactsDir, filename);
}

/** web-ext lint on an unpacked Firefox build; throws unless there are no errors and no warnings. */
export async function lint(sourceDir) {
  const {default: webExt} = await import('web-ext');
  const result = await webExt.cmd.lint(
    {sourceDir, output: 'none', boring: true, selfHosted: false},
    {shouldExitProgram: false},
  );
  const problems = [...result.errors, ...result.warnings];
  if (problems.length) {
    const lines = problems.map((p) => `  ${p.type} ${p.code}: ${p.message} (${p.file ?? ''})`);
    throw new Error(`web-ext lint found ${problems.length} problem(s) in ${sourceDir}:\n${lines.join('\n')}`);
  }
  return result;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const {version} = readJson(path.join(here, 'package.json'));
  fs.mkdirSync(opts.out, {recursive: true});
  for (const browser of opts.browsers) {
    const dir = path.join(opts.out, browser);
    writeUnpacked(browser, dir, manifestFor(browser, {extraMatches: opts.extraMatches}));
    console.log(`built ${dir}`);
    if (browser === 'firefox' && opts.lint) {
      const r = await lint(dir);
      console.log(`web-ext lint: 0 errors, 0 warnings, ${r.notices.length} notices`);
    }
    if (opts.zip) {
      // The Chrome Web Store rejects a manifest with `key`: the package leaves it out (the store assigns the id).
      const zipSource = browser === 'chrome' ? path.join(opts.out, '.chrome-store') : dir;
      if (browser === 'chrome') writeUnpacked(browser, zipSource, manifestFor(browser, {withKey: false}));
      const file = await zip(zipSource, opts.out, `photodedup-${browser}-${version}.zip`);
      if (browser === 'chrome') fs.rmSync(zipSource, {recursive: true, force: true});
      console.log(`packaged ${file}`);
    }
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`build: ${err.message}`);
    process.exit(1);
  });
}
