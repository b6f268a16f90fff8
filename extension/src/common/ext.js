// The WebExtension namespace: Firefox and Chromium ≥ 148 have promise-based `browser`; older Chromium has only
// `chrome`, whose MV3 methods also return promises.
export const ext = globalThis.browser ?? globalThis.chrome;

/** Message types between extension pages / content scripts and the background. */
export const MSG = {
  HOST: 'host', // pages only: {cmd, args} → one host command (see ALLOWED_PAGE_COMMANDS)
  STATE: 'state', // anyone: connection state and hello
  RECONNECT: 'reconnect', // pages only: forget a failed connection and try again
  ALL_GROUPS: 'groups.all', // pages only: every group, fetched page by page
  MATCH: 'page.match', // content scripts: tiles seen on the page → badges
  GROUP_SUMMARY: 'group.summary', // content scripts: the members of one group (names, sources) for a tooltip
  OPEN_GROUP: 'group.open', // content scripts: open the extension's page for one group
};
