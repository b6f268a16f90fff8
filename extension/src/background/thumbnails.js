// Fetches a tile's thumbnail (the background may: host_permissions cover the thumbnail hosts, where a content
// script would hit CORS) and re-encodes it small, so a batch of tiles stays a few hundred KiB on the native port.

const MAX_SIDE = 160;
const QUALITY = 0.85;
const MAX_FETCH_BYTES = 8 * 1024 * 1024;
const MAX_DATA_URL_CHARS = 700_000;

export function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

async function imageBlob(url, allowedUrl) {
  if (url.startsWith('data:image/')) {
    if (url.length > MAX_DATA_URL_CHARS) throw new Error('thumbnail too large');
    return (await fetch(url)).blob();
  }
  if (!allowedUrl(url)) throw new Error('thumbnail host not allowed');
  const resp = await fetch(url, {credentials: 'include', cache: 'force-cache'});
  if (!resp.ok) throw new Error(`thumbnail fetch failed: HTTP ${resp.status}`);
  const blob = await resp.blob();
  if (blob.size > MAX_FETCH_BYTES) throw new Error('thumbnail too large');
  return blob;
}

/** The thumbnail at `url` as base64 JPEG, at most MAX_SIDE pixels on its longer side. */
export async function smallJpeg(url, allowedUrl) {
  const bitmap = await createImageBitmap(await imageBlob(url, allowedUrl));
  try {
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const w = Math.max(1, Math.round(bitmap.width * scale));
    const h = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(bitmap, 0, 0, w, h);
    const jpeg = await canvas.convertToBlob({type: 'image/jpeg', quality: QUALITY});
    return toBase64(await jpeg.arrayBuffer());
  } finally {
    bitmap.close();
  }
}
