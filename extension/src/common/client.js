// What extension pages (popup, options, group view) use to reach the host: always through the background, which
// owns the one native port.
import {ext, MSG} from './ext.js';

async function send(message) {
  const reply = await ext.runtime.sendMessage(message);
  if (!reply) throw new HostError('internal', 'The extension background did not answer.');
  if (!reply.ok) throw new HostError(reply.error?.code ?? 'internal', reply.error?.message ?? 'Unknown error');
  return reply.result;
}

export class HostError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export const host = (cmd, args = {}) => send({type: MSG.HOST, cmd, args});
export const hostState = () => send({type: MSG.STATE});
export const reconnect = () => send({type: MSG.RECONNECT});
export const allGroups = (args = {}) => send({type: MSG.ALL_GROUPS, ...args});

/** The message a person needs when the host is missing or refuses us. */
export function fixFor(state) {
  if (state.state === 'missing') {
    return 'The photodedup host is not installed for this browser. In the photodedup folder run ' +
      '"scripts/install-host" (or "photodedup install-host"), then "photodedup doctor" to check, and reopen this.';
  }
  if (state.state === 'forbidden') {
    return 'The photodedup host does not allow this extension. Run "photodedup install-host --extension-id ' +
      `${state.extensionId}" and reopen this.`;
  }
  if (state.state === 'error') return `The photodedup host failed: ${state.message}. "photodedup doctor" shows why.`;
  return '';
}
