// The app's screens: Upload (with result), History, Settings.
import { call, callWithEvents, message, available } from './ipc.js';
import { bytes, duration, Speed, when } from './format.js';

const $ = (id) => document.getElementById(id);
const state = { settings: null, picked: null, uploadId: null, speed: null, running: false };

// ---------- navigation ----------
function show(screen) {
  for (const s of ['upload', 'history', 'settings']) {
    $(`screen-${s}`).hidden = s !== screen;
    const tab = $(`nav-${s}`);
    if (s === screen) tab.setAttribute('aria-current', 'page'); else tab.removeAttribute('aria-current');
  }
  if (screen === 'history') { renderHistory(); renderServerUploads(); }
  $(`h-${screen}`).focus?.();
}
document.querySelectorAll('.tab').forEach((b) => b.addEventListener('click', () => show(b.dataset.screen)));
document.querySelectorAll('[data-goto]').forEach((a) => a.addEventListener('click', (e) => { e.preventDefault(); show(a.dataset.goto); }));

function showError(where, err) {
  const el = $(where);
  el.textContent = message(err);
  el.dataset.kind = err?.kind || '';
  el.hidden = false;
}
function clearError(where) { $(where).hidden = true; $(where).textContent = ''; }

// ---------- settings ----------
function fillSettingsForm(s) {
  $('server-url').value = s.serverUrl || '';
  $('bucket').value = s.bucket || '';
  $('region').value = s.region || '';
  $('endpoint').value = s.endpoint || '';
  $('prefix').value = s.objectPrefix || '';
  $('upload-mode').value = s.uploadMode || 'auto';
  $('signature-version').value = s.signatureVersion || 'v4';
  $('part-size').value = Math.round((s.partSize || 1048576) / 1024);
  $('concurrency').value = s.concurrency || 5;
  $('user-token').value = s.userToken || '';
  $('watermark-text').value = s.watermarkText || '';
  $('setup-hint').hidden = !!s.serverUrl;
  serverWarning();
}

// A plain http:// App server outside the local network sends the user token and the STS
// credentials in clear: say so next to the field (the backend decides what counts as local).
async function serverWarning() {
  const url = $('server-url').value.trim();
  let warning = null;
  try { warning = url ? await call('server_url_warning', { url }) : null; } catch { /* none */ }
  if ($('server-url').value.trim() !== url) return; // the field changed meanwhile
  $('server-warning').textContent = warning ? `Warning: ${warning}` : '';
  $('server-warning').hidden = !warning;
}
$('server-url').addEventListener('input', serverWarning);

function readSettingsForm() {
  return {
    serverUrl: $('server-url').value.trim(),
    bucket: $('bucket').value.trim(),
    region: $('region').value.trim(),
    endpoint: $('endpoint').value.trim(),
    objectPrefix: $('prefix').value.trim(),
    uploadMode: $('upload-mode').value,
    signatureVersion: $('signature-version').value,
    partSize: Number($('part-size').value) * 1024,
    concurrency: Number($('concurrency').value),
    userToken: $('user-token').value,
    watermarkText: $('watermark-text').value,
  };
}

async function saveSettings() {
  state.settings = await call('save_settings', { settings: readSettingsForm() });
  fillSettingsForm(state.settings);
  return state.settings;
}

$('settings-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const status = $('settings-status');
  try {
    await saveSettings();
    status.className = 'ok';
    status.textContent = 'Saved.';
  } catch (err) {
    status.className = 'error';
    status.textContent = message(err);
  }
});

$('test-connection').addEventListener('click', async () => {
  const status = $('settings-status');
  status.className = '';
  status.textContent = 'Asking the app server for a token…';
  try {
    await saveSettings();
    const info = await call('test_connection');
    state.settings = info.settings;
    fillSettingsForm(info.settings);
    status.className = 'ok';
    status.textContent = `Connected. Token valid until ${new Date(info.expiration).toLocaleString()} ` +
      `(${duration(info.secondsLeft)} left); uploads go to ${info.endpoint}, bucket ${info.settings.bucket}, ` +
      `prefix "${info.settings.objectPrefix}".`;
  } catch (err) {
    status.className = 'error';
    status.textContent = message(err);
  }
});

// ---------- upload ----------
function keyHelp() {
  const prefix = state.settings?.objectPrefix || '';
  const key = $('object-key').value;
  const help = $('key-help');
  if (prefix && !key.startsWith(prefix)) {
    help.textContent = `The object name must start with "${prefix}": the token only allows that prefix.`;
    help.className = 'help warn';
    $('start').disabled = true;
  } else {
    help.textContent = prefix ? `Allowed prefix: "${prefix}".` : '';
    help.className = 'help';
    $('start').disabled = state.running;
  }
}
$('object-key').addEventListener('input', keyHelp);

async function choose(picked) {
  state.picked = picked;
  // Picking may have asked the token server for the allowed prefix.
  try { state.settings = await call('get_settings'); fillSettingsForm(state.settings); } catch { /* keep */ }
  $('picked').hidden = false;
  $('picked-name').textContent = `${picked.name} · ${bytes(picked.size)}`;
  $('object-key').value = picked.suggestedKey;
  $('upload-form').hidden = false;
  $('result').hidden = true;
  clearError('upload-error');
  keyHelp();
  try {
    const url = await call('preview_file', { id: picked.id });
    $('picked-preview').src = url || '';
    $('picked-preview').hidden = !url;
  } catch { $('picked-preview').hidden = true; }
}

$('select-image').addEventListener('click', async () => {
  clearError('upload-error');
  try {
    const picked = await call('pick_image');
    if (picked) await choose(picked);
  } catch (err) { showError('upload-error', err); }
});

function onEvent(msg) {
  if (msg.event === 'started') {
    state.speed = new Speed();
    $('progress').max = msg.bytesTotal || 1;
    $('progress-text').textContent = `Starting ${msg.mode} upload…`;
    return;
  }
  if (msg.event !== 'progress') return;
  state.speed?.add(msg.bytesDone);
  const total = msg.bytesTotal || 1;
  const pct = Math.floor((msg.bytesDone * 100) / total);
  const rate = state.speed?.perSecond() || 0;
  const eta = rate > 0 ? duration((total - msg.bytesDone) / rate) : '…';
  $('progress').max = total;
  $('progress').value = msg.bytesDone;
  $('progress').dataset.percent = String(pct);
  const parts = msg.partsTotal > 1 ? ` · part ${msg.partsDone}/${msg.partsTotal}` : '';
  $('progress-text').textContent = `${pct} % · ${bytes(msg.bytesDone)} of ${bytes(total)} · ${bytes(rate)}/s · ETA ${eta}${parts}`;
}

function setRunning(running, paused = false) {
  state.running = running;
  $('transfer').hidden = false;
  $('pause').hidden = !running;
  $('resume').hidden = running || !paused;
  $('cancel').hidden = !running && !paused;
  $('start').disabled = running;
  $('select-image').disabled = running;
}

async function runUpload(promise) {
  clearError('upload-error');
  $('result').hidden = true;
  setRunning(true);
  try {
    const result = await promise;
    setRunning(false);
    $('transfer').hidden = true;
    await showResult(result);
  } catch (err) {
    const paused = err?.kind === 'paused' || err?.kind === 'network';
    setRunning(false, paused || err?.kind === 'file');
    if (err?.kind === 'paused') {
      $('progress-text').textContent = `Paused at ${$('progress').dataset.percent || 0} %. Resume carries on from the last part.`;
    } else {
      showError('upload-error', err);
    }
  }
}

$('start').addEventListener('click', async () => {
  if (!state.picked) return;
  state.uploadId = crypto.randomUUID();
  const mode = $('upload-mode-once').value || null;
  $('progress').value = 0;
  await runUpload(callWithEvents('start_upload', {
    request: { id: state.uploadId, file: state.picked.id, key: $('object-key').value, mode },
  }, onEvent));
});

$('pause').addEventListener('click', async () => {
  try { await call('pause_upload', { id: state.uploadId }); } catch (err) { showError('upload-error', err); }
});

async function resume(id) {
  state.uploadId = id;
  show('upload');
  $('transfer').hidden = false;
  await runUpload(callWithEvents('resume_upload', { id }, onEvent));
}
$('resume').addEventListener('click', () => resume(state.uploadId));

$('cancel').addEventListener('click', async () => {
  try {
    await call('cancel_upload', { id: state.uploadId });
    $('transfer').hidden = true;
    $('progress-text').textContent = 'Cancelled.';
  } catch (err) { showError('upload-error', err); }
});

async function showResult(result) {
  const e = result.entry;
  $('result').hidden = false;
  $('result-key').textContent = e.key;
  $('result-size').textContent = `${bytes(e.size)} (${e.size} bytes)`;
  $('result-etag').textContent = e.etag;
  $('result-crc').textContent = `${e.crc64} ✓ verified` + (result.resumedParts ? ` · resumed with ${result.resumedParts} parts already uploaded` : '');
  const cb = result.callback;
  $('result-callback').hidden = !cb;
  if (cb) {
    $('result-callback').textContent = cb.outcome === 'answered'
      ? 'The app server recorded this upload.'
      : `Stored, but the app server was not told (${cb.message}).`;
    $('result-callback').className = cb.outcome === 'answered' ? 'help' : 'help warn';
  }
  $('thumbnail').removeAttribute('src');
  $('watermarked').removeAttribute('src');
  $('preview-error').hidden = true;
  try {
    const p = await call('get_previews', { key: e.key });
    if (p.thumbnail) $('thumbnail').src = p.thumbnail;
    if (p.watermarked) $('watermarked').src = p.watermarked;
    $('thumbnail-caption').textContent = `Thumbnail (${p.thumbnailProcess})`;
    $('signed-url').value = p.signedUrl || '';
    if (p.error) { $('preview-error').textContent = p.error; $('preview-error').hidden = false; }
  } catch (err) {
    $('preview-error').textContent = message(err);
    $('preview-error').hidden = false;
  }
}

$('copy-url').addEventListener('click', async () => {
  const v = $('signed-url').value;
  try { await navigator.clipboard.writeText(v); $('copy-url').textContent = 'Copied'; }
  catch { $('signed-url').select(); }
  setTimeout(() => { $('copy-url').textContent = 'Copy'; }, 1500);
});

// ---------- history ----------
async function renderHistory() {
  let items = [];
  try { items = await call('get_history'); } catch (err) { showError('upload-error', err); }
  const list = $('history-list');
  list.replaceChildren();
  $('history-empty').hidden = items.length > 0;
  for (const e of items) {
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
      b.addEventListener('click', () => resume(e.id));
      li.append(b);
    }
    list.append(li);
  }
}

// ---------- my uploads (recorded by the app server from upload callbacks) ----------
let serverAfter = null;
async function renderServerUploads(more = false) {
  const list = $('server-list');
  const status = $('server-status');
  if (!more) { list.replaceChildren(); serverAfter = null; }
  status.textContent = 'Loading…';
  try {
    const page = await call('list_server_uploads', { after: serverAfter });
    status.textContent = page.items.length || more ? '' : 'The app server has no uploads recorded for you yet.';
    for (const { upload: u, thumbnail } of page.items) {
      const li = document.createElement('li');
      li.dataset.key = u.Key;
      const text = document.createElement('div');
      text.className = 'title';
      text.textContent = u.Key;
      const meta = document.createElement('div');
      meta.className = 'meta';
      const dims = u.ImageWidth ? ` · ${u.ImageWidth}×${u.ImageHeight}` : '';
      meta.textContent = `${bytes(u.Size ?? NaN)}${dims} · ${new Date(u.UploadedAt).toLocaleString()}`;
      if (thumbnail) {
        const img = document.createElement('img');
        img.className = 'thumb';
        img.alt = `Thumbnail of ${u.Key}`;
        img.src = thumbnail;
        li.append(img);
      }
      const dl = document.createElement('button');
      dl.textContent = 'Download';
      dl.setAttribute('aria-label', `Download the original of ${u.Key}`);
      dl.addEventListener('click', async () => {
        try {
          const n = await call('download_upload', { key: u.Key });
          if (n != null) status.textContent = `Saved ${u.Key} (${bytes(n)}).`;
        } catch (err) { status.textContent = message(err); }
      });
      li.append(text, meta, dl);
      list.append(li);
    }
    serverAfter = page.nextAfter;
    $('server-more').hidden = !serverAfter;
  } catch (err) {
    status.textContent = message(err);
    $('server-more').hidden = true;
  }
}
$('server-more').addEventListener('click', () => renderServerUploads(true));

// ---------- start ----------
async function init() {
  if (!available()) {
    showError('upload-error', 'This page runs outside the app: no back end.');
    return;
  }
  try {
    state.settings = await call('get_settings');
    fillSettingsForm(state.settings);
    if (!state.settings.serverUrl) show('settings');
  } catch (err) { showError('upload-error', err); }
}
init();
