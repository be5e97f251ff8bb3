// Upload screen: Select Image (one photo or several), the object name (checked against the
// allowed prefix) or the names of several, Start (the files join the upload queue, drawn by
// queue.js), and the result of a stored file with OSS previews.
import * as oss from '../oss-direct.js';
import { $, message, setText, showError } from '../dom.js';
import { bytes, photoNote } from '../format.js';
import { state, update } from '../state.js';
import * as queue from './queue.js';

let shownPick = null;
let shownResult = null;

/** Draws the screen from the state. */
export function render(s) {
  $('setup-hint').hidden = !s.settings || !!s.settings.serverUrl;
  renderPick(s);
  queue.render(s);
  showError('upload-error', s.uploadError);
  renderResult(s);
}

function renderPick(s) {
  const one = s.picked.length === 1 ? s.picked[0] : null;
  $('picked').hidden = !one;
  $('upload-form').hidden = s.picked.length === 0;
  $('single-key').hidden = !one;
  $('picked-list').hidden = s.picked.length < 2;
  if (s.picked !== shownPick) {
    shownPick = s.picked;
    if (one) {
      $('picked-name').textContent = `${one.name} · ${bytes(one.size)}`;
      $('object-key').value = one.suggestedKey;
    }
    $('picked-list').replaceChildren(...s.picked.map((p) => {
      const li = document.createElement('li');
      li.textContent = `${p.name} · ${bytes(p.size)} → ${p.suggestedKey}`;
      return li;
    }));
    setText('start', s.picked.length > 1 ? `Start ${s.picked.length} uploads` : 'Start');
  }
  const preview = $('picked-preview');
  if ((preview.getAttribute('src') || '') !== (s.pickedPreview || '')) preview.src = s.pickedPreview || '';
  preview.hidden = !s.pickedPreview;
  keyHelp(s);
  setText('photo-note', photoSettingsNote(s.settings));
}

// What the queue will do to photos, from the settings.
function photoSettingsNote(settings) {
  if (!settings) return '';
  const size = { large: 'scaled to 2048 px', medium: 'scaled to 1280 px' }[settings.photoSize];
  const what = [settings.stripMetadata !== false ? 'location and camera data removed' : null, size].filter(Boolean);
  return what.length ? `Photos: ${what.join(', ')}.` : 'Photos are uploaded as they are.';
}

// The object name must start with the prefix the token allows: say so before uploading.
function keyHelp(s) {
  const prefix = s.settings?.objectPrefix || '';
  const keys = s.picked.length === 1 ? [$('object-key').value] : s.picked.map((p) => p.suggestedKey);
  if (prefix && keys.some((k) => !k.startsWith(prefix))) {
    setText('key-help', `The object name must start with "${prefix}": the token only allows that prefix.`, 'help warn');
    $('start').disabled = true;
  } else {
    setText('key-help', prefix ? `Allowed prefix: "${prefix}".` : '', 'help');
    $('start').disabled = s.picked.length === 0;
  }
}

function renderResult(s) {
  $('result').hidden = !s.result;
  if (!s.result) return;
  if (s.result !== shownResult) {
    shownResult = s.result;
    const e = s.result;
    $('result-key').textContent = e.key;
    $('result-size').textContent = `${bytes(e.bytesDone)} (${e.bytesDone} bytes)` + (photoNote(e.note) ? ` · ${photoNote(e.note)}` : '');
    $('result-etag').textContent = e.etag;
    $('result-crc').textContent = `${e.crc64} ✓ verified` + (e.resumedParts ? ` · resumed with ${e.resumedParts} parts already uploaded` : '');
    const cb = e.callback;
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

async function loadPreviews(key) {
  try {
    update({ previews: await oss.getPreviews(key) });
  } catch (err) {
    update({ previews: { error: message(err) } });
  }
}

// A file was stored: show it as the result (the latest one, or the one the user chose).
function showResult(item, chosen) {
  if (!item || (!chosen && item.id === state.result?.id)) return;
  update({ result: item, previews: null });
  loadPreviews(item.key);
}

async function choose(picked) {
  // Picking may have asked the token server for the allowed prefix.
  let settings = state.settings;
  try { settings = await oss.getSettings(); } catch { /* keep */ }
  update({ picked, pickedPreview: null, settings, uploadError: null });
  if (picked.length !== 1) return;
  try {
    update({ pickedPreview: await oss.previewFile(picked[0].id) });
  } catch { update({ pickedPreview: null }); }
}

async function start() {
  const picked = state.picked;
  if (!picked.length) return;
  const files = picked.length === 1
    ? [{ file: picked[0].id, key: $('object-key').value }]
    : picked.map((p) => ({ file: p.id, key: p.suggestedKey }));
  update({ uploadError: null });
  try {
    await oss.enqueue(files);
    update({ picked: [], pickedPreview: null });
    await queue.reload();
  } catch (err) { update({ uploadError: err }); }
}

/** Resumes the upload `id` (from History): it carries on in the queue. */
export async function resume(id) {
  update({ screen: 'upload', uploadError: null });
  try {
    await oss.resumeUpload(id);
  } catch (err) {
    if (err?.kind !== 'paused' && err?.kind !== 'cancelled') update({ uploadError: err });
  }
}

/** Wires the screen's controls. */
export function mount() {
  $('object-key').addEventListener('input', () => keyHelp(state));
  $('select-image').addEventListener('click', async () => {
    update({ uploadError: null });
    try {
      const picked = await oss.pickImages();
      if (picked.length) await choose(picked);
    } catch (err) { update({ uploadError: err }); }
  });
  $('start').addEventListener('click', start);
  $('copy-url').addEventListener('click', async () => {
    const v = $('signed-url').value;
    try { await navigator.clipboard.writeText(v); $('copy-url').textContent = 'Copied'; }
    catch { $('signed-url').select(); }
    setTimeout(() => { $('copy-url').textContent = 'Copy'; }, 1500);
  });
  if (window.__TAURI__) queue.follow(showResult);
}
