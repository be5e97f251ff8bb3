// The app's UI: one module per screen (screens/*.js), each drawing itself from the state in
// state.js; the plugin's typed API (oss-direct.js, generated from the plugin's guest-js) is
// the only way to the Rust side.
import * as oss from './oss-direct.js';
import { $ } from './dom.js';
import { register, state, update } from './state.js';
import * as settings from './screens/settings.js';
import * as upload from './screens/upload.js';
import * as history from './screens/history.js';

const SCREENS = ['upload', 'history', 'settings'];
let shownScreen = null;

// Navigation, from state.screen.
function renderNav(s) {
  if (s.screen === shownScreen) return;
  shownScreen = s.screen;
  for (const name of SCREENS) {
    $(`screen-${name}`).hidden = name !== s.screen;
    const tab = $(`nav-${name}`);
    if (name === s.screen) tab.setAttribute('aria-current', 'page'); else tab.removeAttribute('aria-current');
  }
  $(`h-${s.screen}`).focus?.();
}

function show(screen) {
  update({ screen });
  if (screen === 'history') { history.loadHistory(); history.loadServerUploads(); }
}

async function init() {
  for (const screen of [renderNav, upload.render, history.render, settings.render]) register(screen);
  for (const screen of [upload, history, settings]) screen.mount();
  document.querySelectorAll('.tab').forEach((b) => b.addEventListener('click', () => show(b.dataset.screen)));
  document.querySelectorAll('[data-goto]').forEach((a) => a.addEventListener('click', (e) => { e.preventDefault(); show(a.dataset.goto); }));
  update({});
  if (!window.__TAURI__) {
    update({ uploadError: { kind: 'input', message: 'This page runs outside the app: no back end.' } });
    return;
  }
  try {
    const saved = await oss.getSettings();
    update({ settings: saved, screen: saved.serverUrl ? state.screen : 'settings' });
  } catch (err) { update({ uploadError: err }); }
}
init();
