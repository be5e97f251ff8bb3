// History screen: this device's uploads (with Resume for an unfinished resumable one) and
// "My uploads", what the app server recorded from upload callbacks, with thumbnails.
import * as oss from '../oss-direct.js';
import { $, message } from '../dom.js';
import { bytes, when } from '../format.js';
import { state, update } from '../state.js';
import { resume } from './upload.js';

let shownHistory = null;
let shownServer = null;

function historyItem(e) {
  const li = document.createElement('li');
  li.dataset.id = e.id;
  li.dataset.state = e.state;
  const pct = e.size ? Math.floor((e.bytesDone * 100) / e.size) : 0;
  const title = document.createElement('div');
  title.className = 'title';
  title.textContent = e.key;
  const meta = document.createElement('div');
  meta.className = 'meta';
  meta.textContent = `${e.state}${e.state === 'done' ? '' : ` · ${pct} %`} · ${bytes(e.size)} · ${e.resumable ? 'resumable' : 'simple'} · ${when(e.startedAt)}`;
  li.append(title, meta);
  if (e.error) {
    const err = document.createElement('div');
    err.className = 'error-text';
    err.textContent = e.error;
    li.append(err);
  }
  if (e.resumable && (e.state === 'paused' || e.state === 'failed')) {
    const b = document.createElement('button');
    b.className = 'primary resume-btn';
    b.textContent = 'Resume';
    b.setAttribute('aria-label', `Resume ${e.key}`);
    b.addEventListener('click', () => { update({ screen: 'upload' }); resume(e.id); });
    li.append(b);
  }
  return li;
}

function serverItem({ upload: u, thumbnail }) {
  const li = document.createElement('li');
  li.dataset.key = u.key;
  if (thumbnail) {
    const img = document.createElement('img');
    img.className = 'thumb';
    img.alt = `Thumbnail of ${u.key}`;
    img.src = thumbnail;
    li.append(img);
  }
  const text = document.createElement('div');
  text.className = 'title';
  text.textContent = u.key;
  const meta = document.createElement('div');
  meta.className = 'meta';
  const dims = u.imageWidth ? ` · ${u.imageWidth}×${u.imageHeight}` : '';
  meta.textContent = `${bytes(u.size ?? NaN)}${dims} · ${new Date(u.uploadedAt).toLocaleString()}`;
  const dl = document.createElement('button');
  dl.textContent = 'Download';
  dl.setAttribute('aria-label', `Download the original of ${u.key}`);
  dl.addEventListener('click', () => download(u.key));
  li.append(text, meta, dl);
  return li;
}

async function download(key) {
  try {
    const n = await oss.downloadUpload(key);
    if (n != null) update({ server: { ...state.server, status: `Saved ${key} (${bytes(n)}).` } });
  } catch (err) {
    update({ server: { ...state.server, status: message(err) } });
  }
}

/** Draws the screen from the state (lists only when they changed). */
export function render(s) {
  if (s.history !== shownHistory) {
    shownHistory = s.history;
    $('history-empty').hidden = s.history.length > 0;
    $('history-list').replaceChildren(...s.history.map(historyItem));
  }
  if (s.server.items !== shownServer) {
    shownServer = s.server.items;
    $('server-list').replaceChildren(...s.server.items.map(serverItem));
  }
  $('server-status').textContent = s.server.status;
  $('server-more').hidden = !s.server.after;
}

/** Reloads this device's history. */
export async function loadHistory() {
  try { update({ history: await oss.getHistory() }); } catch (err) { update({ uploadError: err }); }
}

/** Loads the first page of "My uploads", or the next one with `more`. */
export async function loadServerUploads(more = false) {
  const items = more ? state.server.items : [];
  update({ server: { items, after: more ? state.server.after : null, status: 'Loading…' } });
  try {
    const page = await oss.listServerUploads(more ? state.server.after : null);
    const all = items.concat(page.items);
    const status = all.length ? '' : 'The app server has no uploads recorded for you yet.';
    update({ server: { items: all, after: page.nextAfter, status } });
  } catch (err) {
    update({ server: { items, after: null, status: message(err) } });
  }
}

/** Wires the screen's controls. */
export function mount() {
  $('server-more').addEventListener('click', () => loadServerUploads(true));
}
