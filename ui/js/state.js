// The UI's state, in one place. Screens render from it; events change it through `update`,
// which re-renders every screen (each screen redraws only what changed).
export const state = {
  screen: 'upload',
  settings: null, // Settings as saved (camelCase, from the plugin)
  settingsStatus: null, // { ok: boolean, text: string }
  serverWarning: null, // text, or null
  picked: null, // PickedFile: { id, name, size, suggestedKey }
  pickedPreview: null, // data: URL
  upload: { id: null, running: false, paused: false, visible: false, percent: 0, done: 0, total: 1, text: '' },
  uploadError: null, // { kind, message }
  result: null, // UploadResult
  previews: null, // Previews, or { error }
  history: [], // HistoryEntry[]
  server: { items: [], after: null, status: '' }, // "My uploads"
};

const screens = [];

/** Registers a screen's render function. */
export function register(render) {
  screens.push(render);
}

/** Changes the state and re-renders. */
export function update(patch) {
  Object.assign(state, patch);
  for (const render of screens) render(state);
}

/** Changes the upload part of the state. */
export function updateUpload(patch) {
  update({ upload: { ...state.upload, ...patch } });
}
