// The whole UI of the minimal app: the plugin's commands through window.__TAURI__.core.invoke
// (an app with a bundler imports the typed API from 'tauri-plugin-oss-direct-api' instead).
const { invoke, Channel } = window.__TAURI__.core;
const oss = (cmd, args) => invoke(`plugin:oss-direct|${cmd}`, args);
const $ = (id) => document.getElementById(id);
const say = (text) => { $('status').textContent = text; };
let picked = null;
let uploadId = null;

async function showHistory() {
  const items = await oss('get_history');
  $('history').replaceChildren(...items.map((e) => {
    const li = document.createElement('li');
    li.textContent = `${e.key} · ${e.state}`;
    return li;
  }));
}

$('connect').onclick = async () => {
  try {
    const settings = await oss('get_settings');
    await oss('save_settings', { settings: { ...settings, serverUrl: $('server').value.trim() } });
    const info = await oss('test_connection');
    say(`Connected: bucket ${info.settings.bucket}, prefix "${info.settings.objectPrefix}".`);
  } catch (e) { say(e.message ?? String(e)); }
};

$('pick').onclick = async () => {
  picked = await oss('pick_image').catch((e) => { say(e.message); return null; });
  $('picked').textContent = picked ? `${picked.name} → ${picked.suggestedKey}` : '';
  $('upload').disabled = !picked;
};

$('upload').onclick = async () => {
  const onEvent = new Channel();
  onEvent.onmessage = (m) => {
    if (m.event === 'progress') { $('progress').max = m.bytesTotal || 1; $('progress').value = m.bytesDone; }
  };
  uploadId = crypto.randomUUID();
  $('pause').disabled = false;
  try {
    const result = await oss('start_upload', {
      request: { id: uploadId, file: picked.id, key: picked.suggestedKey }, onEvent,
    });
    say(`Uploaded ${result.entry.key}, CRC-64 ${result.entry.crc64} verified.`);
    const previews = await oss('get_previews', { key: result.entry.key });
    if (previews.thumbnail) $('thumbnail').src = previews.thumbnail;
  } catch (e) { say(e.message ?? String(e)); }
  $('pause').disabled = true;
  showHistory();
};

$('pause').onclick = () => oss('pause_upload', { id: uploadId });

oss('get_settings').then((s) => { $('server').value = s.serverUrl; showHistory(); });
