// Settings screen: App server, bucket, region, endpoint, prefix, mode, signature, part size,
// parallel parts, files at once, photo size, location removal, auto-resume, user token,
// watermark text; Save and Test connection.
import * as oss from '../oss-direct.js';
import { $, message, setText } from '../dom.js';
import { duration } from '../format.js';
import { state, update } from '../state.js';

let shown = null; // the settings object the form was last filled from

function fill(s) {
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
  $('jobs').value = s.jobs || 3;
  $('photo-size').value = s.photoSize || 'original';
  $('strip-metadata').checked = s.stripMetadata !== false;
  $('auto-resume').checked = s.autoResume !== false;
}

function read() {
  return {
    ...state.settings,
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
    jobs: Number($('jobs').value),
    photoSize: $('photo-size').value,
    stripMetadata: $('strip-metadata').checked,
    autoResume: $('auto-resume').checked,
  };
}

/** Draws the screen from the state: the form only when the saved settings changed. */
export function render(s) {
  if (s.settings && s.settings !== shown) {
    shown = s.settings;
    fill(s.settings);
    checkServerUrl();
  }
  const st = s.settingsStatus;
  setText('settings-status', st?.text || '', st ? (st.ok ? 'ok' : st.ok === false ? 'error' : '') : '');
  $('server-warning').hidden = !s.serverWarning;
  setText('server-warning', s.serverWarning ? `Warning: ${s.serverWarning}` : '');
}

// A plain http:// App server outside the local network sends the user token and the STS
// credentials in clear: say so next to the field (the plugin decides what counts as local).
async function checkServerUrl() {
  const url = $('server-url').value.trim();
  let warning = null;
  try { warning = url ? await oss.serverUrlWarning(url) : null; } catch { /* none */ }
  if ($('server-url').value.trim() !== url) return; // the field changed meanwhile
  update({ serverWarning: warning });
}

async function save() {
  const saved = await oss.saveSettings(read());
  update({ settings: saved });
  return saved;
}

/** Wires the screen's controls. */
export function mount() {
  $('server-url').addEventListener('input', checkServerUrl);
  $('settings-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await save();
      update({ settingsStatus: { ok: true, text: 'Saved.' } });
    } catch (err) {
      update({ settingsStatus: { ok: false, text: message(err) } });
    }
  });
  $('test-connection').addEventListener('click', async () => {
    update({ settingsStatus: { ok: null, text: 'Asking the app server for a token…' } });
    try {
      await save();
      const info = await oss.testConnection();
      update({
        settings: info.settings,
        settingsStatus: {
          ok: true,
          text: `Connected. Token valid until ${new Date(info.expiration).toLocaleString()} ` +
            `(${duration(info.secondsLeft)} left); uploads go to ${info.endpoint}, bucket ${info.settings.bucket}, ` +
            `prefix "${info.settings.objectPrefix}".`,
        },
      });
    } catch (err) {
      update({ settingsStatus: { ok: false, text: message(err) } });
    }
  });
}
