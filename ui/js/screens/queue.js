// The upload queue on the Upload screen: one row per file (name, state, progress bar, bytes,
// what preparing the photo did, the failure with a Retry), the whole batch (files, bytes,
// speed, ETA), Pause all / Resume all, and pause / resume / cancel per file. Waiting for the
// network is shown as such: the queue tries again by itself.
import * as oss from '../oss-direct.js';
import { $, setText } from '../dom.js';
import { bytes, duration, files, photoNote } from '../format.js';
import { state, update } from '../state.js';

const LABELS = {
  queued: 'Queued',
  preparing: 'Preparing',
  uploading: 'Uploading',
  paused: 'Paused',
  waiting: 'Waiting for network',
  failed: 'Failed',
  done: 'Done',
  cancelled: 'Cancelled',
};
const ACTIVE = ['queued', 'preparing', 'uploading', 'waiting'];
const rows = new Map(); // id -> li
let onDone = () => {};

function button(cls, text, label, onClick) {
  const b = document.createElement('button');
  b.className = cls;
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

async function act(fn) {
  try { await fn(); } catch (err) { update({ uploadError: err }); }
}

function newRow(item) {
  const li = document.createElement('li');
  li.dataset.id = String(item.id);
  const name = document.createElement('div');
  name.className = 'q-name';
  const badge = document.createElement('span');
  badge.className = 'q-state';
  const bar = document.createElement('progress');
  bar.className = 'q-bar';
  bar.setAttribute('aria-label', `Progress of ${item.name}`);
  const meta = document.createElement('div');
  meta.className = 'q-bytes';
  const note = document.createElement('div');
  note.className = 'q-note';
  const reason = document.createElement('div');
  reason.className = 'q-reason';
  const actions = document.createElement('div');
  actions.className = 'q-actions';
  const id = item.id;
  actions.append(
    button('pause-btn', 'Pause', `Pause ${item.name}`, () => act(() => oss.queuePause(id))),
    button('resume-btn', 'Resume', `Resume ${item.name}`, () => act(() => oss.queueResume(id))),
    button('primary retry-btn', 'Retry', `Retry ${item.name}`, () => act(() => oss.queueResume(id))),
    button('danger cancel-btn', 'Cancel', `Cancel ${item.name}`, () => act(() => oss.queueCancel(id))),
    button('show-btn', 'Show', `Show ${item.name}`, () => onDone(rows.get(id)?.item, true)),
  );
  li.append(name, badge, bar, meta, note, reason, actions);
  return li;
}

function drawRow(li, item, live) {
  li.item = item;
  li.dataset.state = item.state;
  const q = (c) => li.querySelector(c);
  if (q('.q-name').textContent !== item.name) q('.q-name').textContent = item.name;
  q('.q-name').title = item.key;
  q('.q-state').textContent = LABELS[item.state] || item.state;
  const total = item.state === 'done' ? 1 : (live?.total || item.size || 1);
  const done = item.state === 'done' ? 1 : Math.min(live?.done ?? item.bytesDone, total);
  const bar = q('.q-bar');
  bar.max = total;
  bar.value = done;
  // 100 % only once OSS confirmed the whole file (bytes are counted as they are sent).
  const pct = item.state === 'done' ? 100 : Math.min(99, Math.floor((done * 100) / total));
  bar.dataset.percent = String(pct);
  q('.q-bytes').textContent = item.state === 'done'
    ? `${bytes(item.size)} · CRC-64 ✓`
    : `${bytes(done)} of ${bytes(total)} · ${pct} %`;
  const note = photoNote(item.note);
  q('.q-note').textContent = note;
  q('.q-note').hidden = !note;
  const reason = item.state === 'waiting'
    ? 'No network: trying again by itself.'
    : (item.state === 'failed' ? item.reason || 'Failed.' : '');
  q('.q-reason').textContent = reason;
  q('.q-reason').hidden = !reason;
  q('.q-reason').className = item.state === 'failed' ? 'q-reason error-text' : 'q-reason';
  q('.pause-btn').hidden = !ACTIVE.includes(item.state);
  q('.resume-btn').hidden = item.state !== 'paused';
  q('.retry-btn').hidden = item.state !== 'failed';
  q('.cancel-btn').hidden = ['done', 'cancelled'].includes(item.state);
  q('.show-btn').hidden = item.state !== 'done';
}

/** Draws the queue card from the state. */
export function render(s) {
  $('queue').hidden = s.queue.length === 0;
  const list = $('queue-list');
  const ids = new Set(s.queue.map((i) => i.id));
  for (const [id, li] of rows) if (!ids.has(id)) { li.remove(); rows.delete(id); }
  s.queue.forEach((item, i) => {
    let li = rows.get(item.id);
    if (!li) { li = newRow(item); rows.set(item.id, li); }
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
    drawRow(li, item, s.live[item.id]);
  });
  renderSummary(s.summary, s.queue);
}

function renderSummary(sum, items) {
  if (!sum) return;
  const bar = $('queue-progress');
  bar.max = sum.bytesTotal || 1;
  bar.value = sum.bytesDone;
  const parts = [`${sum.done} of ${files(sum.files - cancelled(items))}`,
    `${bytes(sum.bytesDone)} of ${bytes(sum.bytesTotal)}`];
  if (sum.active) parts.push(`${bytes(sum.bytesPerSecond)}/s`, `ETA ${sum.etaSeconds != null ? duration(sum.etaSeconds) : '…'}`);
  if (sum.waiting) parts.push(`${sum.waiting} waiting for the network`);
  if (sum.paused) parts.push(`${sum.paused} paused`);
  if (sum.failed) parts.push(`${sum.failed} failed`);
  if (!sum.running && sum.active + sum.waiting > 0) parts.push('connecting to the App server…');
  setText('queue-summary', parts.join(' · '));
  $('pause-all').disabled = sum.active + sum.waiting === 0;
  $('resume-all').disabled = sum.paused + sum.failed === 0;
}

function cancelled(items) {
  return items.filter((i) => i.state === 'cancelled').length;
}

let summaryTimer = null;
async function refreshSummary() {
  try { update({ summary: await oss.queueSummary() }); } catch { /* keep the last */ }
}

/** Lists the queue again (on start, and when the queue was opened again). A file's message
 * may arrive while the list is on its way: the fresher of the two wins. */
export async function reload() {
  try {
    const listed = await oss.queueList();
    const known = new Map(state.queue.map((i) => [i.id, i]));
    const queue = listed.map((i) => {
      const k = known.get(i.id);
      return k && k.updatedAtMs > i.updatedAtMs ? k : i;
    });
    update({ queue });
  } catch (err) { update({ uploadError: err }); }
  refreshSummary();
}

function onMessage(m) {
  if (m.type === 'reset') { reload(); return; }
  if (m.type === 'progress') {
    update({ live: { ...state.live, [m.id]: { done: m.bytesDone, total: m.bytesTotal } } });
    return;
  }
  const f = m.file;
  const before = state.queue.find((i) => i.id === f.id);
  if (before && before.updatedAtMs > f.updatedAtMs) return; // an older message
  const queue = before ? state.queue.map((i) => (i.id === f.id ? f : i)) : [...state.queue, f];
  update({ queue });
  if (f.state === 'done' && before?.state !== 'done') onDone(f, false);
  refreshSummary();
}

/** Follows the queue; `done(item, chosen)` is called when a file is stored (or the user
 * asks to see a stored one). */
export async function follow(done) {
  onDone = done;
  $('pause-all').addEventListener('click', () => act(oss.queuePauseAll));
  $('resume-all').addEventListener('click', () => act(oss.queueResumeAll));
  try { await oss.queueEvents(onMessage); } catch (err) { update({ uploadError: err }); }
  await reload();
  clearInterval(summaryTimer);
  summaryTimer = setInterval(() => {
    if (state.queue.some((i) => ACTIVE.includes(i.state))) refreshSummary();
  }, 1000);
}
