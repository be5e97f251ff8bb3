// Upload screen: Select Image, the object name (checked against the allowed prefix), Start,
// progress with speed and ETA, Pause / Resume / Cancel, and the result with OSS previews.
import * as oss from '../oss-direct.js';
import { $, message, setText, showError } from '../dom.js';
import { bytes, duration, Speed } from '../format.js';
import { state, update, updateUpload } from '../state.js';

let speed = null;
let shownPick = null;
let shownResult = null;

/** Draws the screen from the state. */
export function render(s) {
  $('setup-hint').hidden = !s.settings || !!s.settings.serverUrl;
  renderPick(s);
  renderTransfer(s.upload);
  showError('upload-error', s.uploadError);
  renderResult(s);
}

function renderPick(s) {
  $('picked').hidden = !s.picked;
  $('upload-form').hidden = !s.picked;
  if (s.picked && s.picked !== shownPick) {
    shownPick = s.picked;
    $('picked-name').textContent = `${s.picked.name} · ${bytes(s.picked.size)}`;
    $('object-key').value = s.picked.suggestedKey;
  }
  const preview = $('picked-preview');
  if ((preview.getAttribute('src') || '') !== (s.pickedPreview || '')) preview.src = s.pickedPreview || '';
  preview.hidden = !s.pickedPreview;
  keyHelp(s);
}

// The object name must start with the prefix the token allows: say so before uploading.
function keyHelp(s) {
  const prefix = s.settings?.objectPrefix || '';
  const key = $('object-key').value;
  if (prefix && !key.startsWith(prefix)) {
    setText('key-help', `The object name must start with "${prefix}": the token only allows that prefix.`, 'help warn');
    $('start').disabled = true;
  } else {
    setText('key-help', prefix ? `Allowed prefix: "${prefix}".` : '', 'help');
    $('start').disabled = s.upload.running;
  }
}

function renderTransfer(u) {
  $('transfer').hidden = !u.visible;
  $('pause').hidden = !u.running;
  $('resume').hidden = u.running || !u.paused;
  $('cancel').hidden = !u.running && !u.paused;
  $('select-image').disabled = u.running;
  const bar = $('progress');
  bar.max = u.total || 1;
  bar.value = u.done;
  bar.dataset.percent = String(u.percent);
  setText('progress-text', u.text);
}

function renderResult(s) {
  $('result').hidden = !s.result;
  if (!s.result) return;
  if (s.result !== shownResult) {
    shownResult = s.result;
    const { entry: e, resumedParts, callback: cb } = s.result;
    $('result-key').textContent = e.key;
    $('result-size').textContent = `${bytes(e.size)} (${e.size} bytes)`;
    $('result-etag').textContent = e.etag;
    $('result-crc').textContent = `${e.crc64} ✓ verified` + (resumedParts ? ` · resumed with ${resumedParts} parts already uploaded` : '');
    $('result-callback').hidden = !cb;
    if (cb) {
      $('result-callback').textContent = cb.outcome === 'answered'
        ? 'The app server recorded this upload.'
        : `Stored, but the app server was not told (${cb.message}).`;
      $('result-callback').className = cb.outcome === 'answered' ? 'help' : 'help warn';
    }
    $('thumbnail').removeAttribute('src');
    $('watermarked').removeAttribute('src');
  }
  const p = s.previews;
  if (p?.thumbnail && $('thumbnail').getAttribute('src') !== p.thumbnail) $('thumbnail').src = p.thumbnail;
  if (p?.watermarked && $('watermarked').getAttribute('src') !== p.watermarked) $('watermarked').src = p.watermarked;
  setText('thumbnail-caption', p?.thumbnailProcess ? `Thumbnail (${p.thumbnailProcess})` : 'Thumbnail');
  $('signed-url').value = p?.signedUrl || '';
  $('preview-error').hidden = !p?.error;
  setText('preview-error', p?.error || '');
}

function onEvent(msg) {
  if (msg.event === 'started') {
    speed = new Speed();
    updateUpload({ total: msg.bytesTotal || 1, text: `Starting ${msg.mode} upload…` });
    return;
  }
  if (msg.event !== 'progress') return;
  speed?.add(msg.bytesDone);
  const total = msg.bytesTotal || 1;
  const percent = Math.floor((msg.bytesDone * 100) / total);
  const rate = speed?.perSecond() || 0;
  const eta = rate > 0 ? duration((total - msg.bytesDone) / rate) : '…';
  const parts = msg.partsTotal > 1 ? ` · part ${msg.partsDone}/${msg.partsTotal}` : '';
  updateUpload({
    done: msg.bytesDone, total, percent,
    text: `${percent} % · ${bytes(msg.bytesDone)} of ${bytes(total)} · ${bytes(rate)}/s · ETA ${eta}${parts}`,
  });
}

async function runUpload(start) {
  update({ uploadError: null, result: null, previews: null });
  updateUpload({ running: true, paused: false, visible: true });
  try {
    const result = await start(onEvent);
    updateUpload({ running: false, paused: false, visible: false });
    update({ result });
    loadPreviews(result.entry.key);
  } catch (err) {
    const paused = err?.kind === 'paused' || err?.kind === 'network';
    updateUpload({ running: false, paused: paused || err?.kind === 'file' });
    if (err?.kind === 'paused') {
      updateUpload({ text: `Paused at ${state.upload.percent} %. Resume carries on from the last part.` });
    } else {
      update({ uploadError: err });
    }
  }
}

async function loadPreviews(key) {
  try {
    update({ previews: await oss.getPreviews(key) });
  } catch (err) {
    update({ previews: { error: message(err) } });
  }
}

async function choose(picked) {
  // Picking may have asked the token server for the allowed prefix.
  let settings = state.settings;
  try { settings = await oss.getSettings(); } catch { /* keep */ }
  update({ picked, pickedPreview: null, settings, result: null, uploadError: null });
  try {
    update({ pickedPreview: await oss.previewFile(picked.id) });
  } catch { update({ pickedPreview: null }); }
}

/** Resumes the upload `id` (from this screen or from History). */
export async function resume(id) {
  updateUpload({ id, visible: true });
  await runUpload((onEv) => oss.resumeUpload(id, onEv));
}

/** Wires the screen's controls. */
export function mount() {
  $('object-key').addEventListener('input', () => keyHelp(state));
  $('select-image').addEventListener('click', async () => {
    update({ uploadError: null });
    try {
      const picked = await oss.pickImage();
      if (picked) await choose(picked);
    } catch (err) { update({ uploadError: err }); }
  });
  $('start').addEventListener('click', async () => {
    if (!state.picked) return;
    const id = crypto.randomUUID();
    const mode = $('upload-mode-once').value || null;
    const request = { id, file: state.picked.id, key: $('object-key').value, mode };
    updateUpload({ id, done: 0, percent: 0 });
    await runUpload((onEv) => oss.startUpload(request, onEv));
  });
  $('pause').addEventListener('click', async () => {
    try { await oss.pauseUpload(state.upload.id); } catch (err) { update({ uploadError: err }); }
  });
  $('resume').addEventListener('click', () => resume(state.upload.id));
  $('cancel').addEventListener('click', async () => {
    try {
      await oss.cancelUpload(state.upload.id);
      updateUpload({ visible: false, paused: false, text: 'Cancelled.' });
    } catch (err) { update({ uploadError: err }); }
  });
  $('copy-url').addEventListener('click', async () => {
    const v = $('signed-url').value;
    try { await navigator.clipboard.writeText(v); $('copy-url').textContent = 'Copied'; }
    catch { $('signed-url').select(); }
    setTimeout(() => { $('copy-url').textContent = 'Copy'; }, 1500);
  });
}
