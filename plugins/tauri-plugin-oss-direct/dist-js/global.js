// Generated from guest-js/index.ts by tauri-plugin-oss-direct/scripts/global-esm.mjs: do not edit.
// The typed JavaScript API of tauri-plugin-oss-direct. Every function calls one command,
// `plugin:oss-direct|<name>`; the types mirror `src/models.rs` (camelCase throughout).
//
// Files are named by the handles `pickImage()` returns, never by path: the webview cannot make
// the plugin read a file the user did not pick.
const { Channel, invoke } = window.__TAURI__?.core ?? {
  invoke: () => Promise.reject({ kind: 'input', code: null, message: 'This page runs outside the app: no back end.' }),
  Channel: class { onmessage() {} },
};
const call = (cmd, args) => invoke(`plugin:oss-direct|${cmd}`, args);
/** The saved settings. */
export async function getSettings() {
    return await call('get_settings');
}
/** Validates and saves the settings; resolves to them as saved. */
export async function saveSettings(settings) {
    return await call('save_settings', { settings });
}
/** Sets the App server (keeping the other settings) and saves. */
export async function configure(serverUrl) {
    return await saveSettings({ ...(await getSettings()), serverUrl });
}
/** Fetches a token from the App server: its expiry, and the settings filled from its hints. */
export async function testConnection() {
    return await call('test_connection');
}
/** A warning when the App server URL would send credentials in clear off the local network. */
export async function serverUrlWarning(url) {
    return await call('server_url_warning', { url });
}
/** Opens the system image picker; null when the user cancelled. */
export async function pickImage() {
    return await call('pick_image');
}
/** Describes a picked file again (its size now, its suggested object name). */
export async function describeFile(id) {
    return await call('describe_file', { id });
}
/** The picked image as a `data:` URL (null above 20 MB or for other files). */
export async function previewFile(id) {
    return await call('preview_file', { id });
}
function channel(onEvent) {
    const c = new Channel();
    if (onEvent)
        c.onmessage = onEvent;
    return c;
}
/** Uploads a picked file; `onEvent` receives `started` and then `progress` events. Rejects with
 * an `OssDirectError` (kind `paused` after `pauseUpload`). */
export async function startUpload(request, onEvent) {
    return await call('start_upload', { request, onEvent: channel(onEvent) });
}
/** Resumes a paused or failed upload from its checkpoint (also after an app restart). */
export async function resumeUpload(id, onEvent) {
    return await call('resume_upload', { id, onEvent: channel(onEvent) });
}
/** Pauses a running upload; its checkpoint stays. */
export async function pauseUpload(id) {
    await call('pause_upload', { id });
}
/** Cancels an upload: stops it, aborts it in OSS, removes its checkpoint. */
export async function cancelUpload(id) {
    return await call('cancel_upload', { id });
}
/** Every upload, newest first. */
export async function getHistory() {
    return await call('get_history');
}
/** Thumbnail and watermarked preview (`data:` URLs) and a signed link of an upload. */
export async function getPreviews(key) {
    return await call('get_previews', { key });
}
/** A presigned GET URL, e.g. of a thumbnail: `signedUrl({ key, process: 'image/resize,w_200' })`.
 * For an `<img>`, the app's CSP must allow images from the OSS endpoint. */
export async function signedUrl(request) {
    return await call('signed_url', { request });
}
/** A page of the uploads the app server recorded (with `data:` thumbnails). */
export async function listServerUploads(after) {
    return await call('list_server_uploads', { after: after ?? null });
}
/** Saves the original of an upload where the user picks; the bytes written, or null. */
export async function downloadUpload(key) {
    return await call('download_upload', { key });
}
/** Opens the system image picker for several files; empty when the user cancelled. */
export async function pickImages() {
    return await call('pick_images');
}
/** Adds picked files to the upload queue; they upload in the background, `jobs` at a time. */
export async function enqueue(files) {
    return await call('enqueue', { files });
}
/** The queue: this session's files and every unfinished one, oldest first. */
export async function queueList() {
    return await call('queue_list');
}
/** Files, bytes, speed and time left. */
export async function queueSummary() {
    return await call('queue_summary');
}
/** Pauses one file of the queue (its checkpoint stays). */
export async function queuePause(id) {
    await call('queue_pause', { id });
}
/** Resumes a paused file, or retries a failed one. */
export async function queueResume(id) {
    await call('queue_resume', { id });
}
/** Cancels one file and aborts its partial upload in OSS. */
export async function queueCancel(id) {
    await call('queue_cancel', { id });
}
/** Pauses every file the queue is working on. */
export async function queuePauseAll() {
    await call('queue_pause_all');
}
/** Resumes every paused file and retries every failed one. */
export async function queueResumeAll() {
    await call('queue_resume_all');
}
/** Follows the queue: `onMessage` gets each file's changes and progress (and `reset` when the
 * queue was opened again: list it again). */
export async function queueEvents(onMessage) {
    const c = new Channel();
    c.onmessage = onMessage;
    await call('queue_events', { onEvent: c });
}
