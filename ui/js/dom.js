// Small DOM helpers shared by the screens.
export const $ = (id) => document.getElementById(id);

/** The text of an error from the plugin ({ kind, code, message }), a string, or anything. */
export function message(err) {
  if (!err) return 'Unknown error';
  if (typeof err === 'string') return err;
  return err.message || JSON.stringify(err);
}

/** Shows `err` in the element `id`, or hides it when `err` is null. */
export function showError(id, err) {
  const el = $(id);
  el.hidden = !err;
  el.textContent = err ? message(err) : '';
  el.dataset.kind = err?.kind || '';
}

/** Sets an element's text and class only when they changed (keeps focus and selection). */
export function setText(id, text, className) {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
  if (className !== undefined && el.className !== className) el.className = className;
}
