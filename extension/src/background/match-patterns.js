// WebExtension match patterns ("https://*.example.com/*") as predicates, so that the manifest stays the one list of
// sites we read from and take messages from.

function escapeRe(s) {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** A predicate for one match pattern; unknown shapes match nothing. */
export function matchPattern(pattern) {
  const m = /^(\*|https?|wss?|file|ftp):\/\/([^/]*)(\/.*)$/.exec(pattern);
  if (!m) return () => false;
  const [, scheme, host, path] = m;
  const schemeRe = scheme === '*' ? '(?:https?|wss?)' : escapeRe(scheme);
  let hostRe;
  if (host === '*') hostRe = '[^/]*';
  else if (host.startsWith('*.')) hostRe = `(?:[^/]*\\.)?${escapeRe(host.slice(2))}`;
  else hostRe = escapeRe(host);
  // A pattern without a port matches any port (Chromium and Firefox agree for host permissions on localhost).
  const portRe = /:\d+$/.test(host) ? '' : '(?::\\d+)?';
  const pathRe = path.split('*').map(escapeRe).join('.*');
  const re = new RegExp(`^${schemeRe}://${hostRe}${portRe}${pathRe}$`);
  return (url) => typeof url === 'string' && re.test(url);
}

export function anyPattern(patterns) {
  const preds = patterns.map(matchPattern);
  return (url) => preds.some((p) => p(url));
}
