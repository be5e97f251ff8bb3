// The only place that talks to the Rust side.
const core = window.__TAURI__?.core;

export function available() {
  return !!core;
}

export async function call(cmd, args = {}) {
  if (!core) throw { kind: 'input', message: 'This page runs outside the app: no back end.' };
  return core.invoke(cmd.startsWith('plugin:') ? cmd : `plugin:oss-direct|${cmd}`, args);
}

// Calls a command with a Channel that receives its progress events.
export async function callWithEvents(cmd, args, onEvent) {
  const channel = new core.Channel();
  channel.onmessage = onEvent;
  return call(cmd, { ...args, onEvent: channel });
}

export function message(err) {
  if (!err) return 'Unknown error';
  if (typeof err === 'string') return err;
  return err.message || JSON.stringify(err);
}
