// User settings, in storage.local: which sites get badges.
import {ext} from './ext.js';

export const SITES = {
  google: {label: 'Google Photos (photos.google.com)'},
  icloud: {label: 'iCloud Photos (www.icloud.com/photos)'},
};
const DEFAULTS = {sites: {google: true, icloud: true}};

export async function loadSettings() {
  const {settings} = await ext.storage.local.get('settings');
  return {...DEFAULTS, ...settings, sites: {...DEFAULTS.sites, ...settings?.sites}};
}

export async function saveSettings(settings) {
  await ext.storage.local.set({settings});
}

/** Which site a content-script page belongs to; null for anything else. Pages that are neither iCloud nor Google
 * can only come from the content-script matches of a test build, which serve Google's markup. */
export function siteOf(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.hostname === 'www.icloud.com') return 'icloud';
  return 'google';
}
