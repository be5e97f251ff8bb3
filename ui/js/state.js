// The UI's state, in one place. Screens render from it; events change it through `update`,
// which re-renders every screen (each screen redraws only what changed).
export const state = {
  screen: 'upload',
  settings: null, // Settings as saved (camelCase, from the plugin)
  settingsStatus: null, // { ok: boolean, text: string }
  serverWarning: null, // text, or null
  picked: [], // PickedFile[]: { id, name, size, suggestedKey }, waiting for Start
  pickedPreview: null, // data: URL (one picked file)
  queue: [], // QueueItem[], oldest first
  live: {}, // id -> { done, total } from progress messages
  summary: null, // QueueSummary
  uploadError: null, // { kind, message }
  result: null, // the QueueItem shown as the result (a done file)
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
