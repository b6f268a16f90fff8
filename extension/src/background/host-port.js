// One connectNative port to photodedup-host, opened when there is work and closed after a quiet spell so the
// service worker / event page can sleep. Requests carry ids; replies are matched to them (the host answers in order,
// but ids make a lost or late reply harmless). If the host dies under us, read-only requests are sent again on a
// new port; requests that change something are failed instead of being repeated.
import {ext} from '../common/ext.js';

export const HOST_NAME = 'org.photodedup.host';
const IDLE_MS = 20_000;
const DEFAULT_TIMEOUT_MS = 60_000;
const RETRY_DELAYS_MS = [200, 1000];
/** Commands that are safe to send twice (they only read). */
const REPEATABLE = new Set(['hello', 'status', 'scan.progress', 'groups.list', 'groups.get', 'thumbnail', 'match']);

export class HostError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
  toJSON() {
    return {code: this.code, message: this.message};
  }
}

/** What a failed connectNative means, from the browser's words (Chromium and Firefox differ). */
export function classifyDisconnect(message) {
  const m = message ?? '';
  if (/not found|No such native application/i.test(m)) return 'missing';
  if (/forbidden/i.test(m)) return 'forbidden';
  return 'error';
}

export class HostPort {
  constructor({name = HOST_NAME, idleMs = IDLE_MS, connect = (n) => ext.runtime.connectNative(n)} = {}) {
    this.name = name;
    this.idleMs = idleMs;
    this.connect = connect;
    this.port = null;
    this.nextId = 1;
    this.pending = new Map(); // id → {cmd, args, resolve, reject, timer, attempt}
    this.holds = 0;
    this.idleTimer = null;
    this.info = {state: 'unknown', message: '', hello: null, extensionId: ext.runtime.id};
    this.listeners = new Set();
  }

  onState(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  setState(state, message = '', hello = this.info.hello) {
    this.info = {...this.info, state, message, hello};
    for (const fn of this.listeners) fn(this.info);
  }

  /** Keep the port open (e.g. while a scan runs in the host) until the returned release() is called. */
  hold() {
    this.holds++;
    this.clearIdle();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.armIdle();
    };
  }

  /** Connects if needed and says hello; resolves to the connection info. */
  async check() {
    try {
      const hello = await this.request('hello');
      this.setState('connected', '', hello);
    } catch (err) {
      if (this.info.state === 'connected' || this.info.state === 'unknown') this.setState('error', err.message);
    }
    return this.info;
  }

  request(cmd, args = {}, {timeoutMs = DEFAULT_TIMEOUT_MS} = {}) {
    return new Promise((resolve, reject) => {
      const entry = {cmd, args, resolve, reject, timeoutMs, attempt: 0, timer: null};
      this.send(entry);
    });
  }

  send(entry) {
    this.clearIdle();
    let port;
    try {
      port = this.ensurePort();
    } catch (err) {
      entry.reject(new HostError('unavailable', err.message));
      return;
    }
    const id = this.nextId++;
    entry.timer = setTimeout(() => {
      if (!this.pending.delete(id)) return;
      entry.reject(new HostError('timeout', `The photodedup host did not answer "${entry.cmd}" in time.`));
      this.armIdle();
    }, entry.timeoutMs);
    this.pending.set(id, entry);
    try {
      port.postMessage({id, cmd: entry.cmd, args: entry.args});
    } catch (err) {
      // The port died between ensurePort and postMessage; onDisconnect settles the entry.
      console.warn('photodedup: postMessage failed', err);
    }
  }

  ensurePort() {
    if (this.port) return this.port;
    const port = this.connect(this.name);
    this.port = port;
    if (this.info.state !== 'connected') this.setState('connecting');
    port.onMessage.addListener((msg) => this.onMessage(port, msg));
    port.onDisconnect.addListener((p) => this.onDisconnect(port, p));
    return port;
  }

  onMessage(port, msg) {
    if (port !== this.port || !msg || typeof msg !== 'object') return;
    const entry = this.pending.get(msg.id);
    if (!entry) {
      // A frame that answers nobody: the host refusing our origin, or a reply after a timeout.
      if (msg.ok === false && msg.error?.code === 'forbidden_origin') this.setState('forbidden', msg.error.message);
      return;
    }
    this.pending.delete(msg.id);
    clearTimeout(entry.timer);
    if (this.info.state !== 'connected') this.setState('connected', '', entry.cmd === 'hello' ? msg.result : undefined);
    if (msg.ok) entry.resolve(msg.result);
    else entry.reject(new HostError(msg.error?.code ?? 'internal', msg.error?.message ?? 'The host gave no reason.'));
    this.armIdle();
  }

  onDisconnect(port, p) {
    if (port !== this.port) return;
    this.port = null;
    this.clearIdle();
    const message = p?.error?.message ?? ext.runtime.lastError?.message ?? globalThis.chrome?.runtime?.lastError?.message ??
      'The photodedup host closed the connection.';
    const wasConnected = this.info.state === 'connected';
    const kind = this.info.state === 'forbidden' ? 'forbidden' : classifyDisconnect(message);
    if (!wasConnected || kind !== 'error') this.setState(kind, message);
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) {
      clearTimeout(entry.timer);
      const delay = RETRY_DELAYS_MS[entry.attempt];
      if (wasConnected && kind === 'error' && REPEATABLE.has(entry.cmd) && delay !== undefined) {
        entry.attempt++;
        setTimeout(() => this.send(entry), delay);
      } else {
        const code = kind === 'error' ? 'disconnected' : kind;
        entry.reject(new HostError(code, message));
      }
    }
  }

  armIdle() {
    this.clearIdle();
    if (!this.port || this.pending.size || this.holds) return;
    this.idleTimer = setTimeout(() => this.close(), this.idleMs);
  }

  clearIdle() {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** Closes the port when idle; the host exits on end of input. The next request reconnects. */
  close() {
    this.clearIdle();
    if (!this.port || this.pending.size || this.holds) return;
    const port = this.port;
    this.port = null;
    port.disconnect();
  }
}
