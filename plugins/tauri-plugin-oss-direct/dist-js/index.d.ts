/** How a file is uploaded: `auto` is resumable from 4 MiB. */
export type UploadMode = 'auto' | 'simple' | 'resumable';
/** OSS request signature version. */
export type SignatureVersion = 'v1' | 'v4';
/** Everything a settings screen shows; saved in the app's data folder. */
export interface Settings {
    /** The app token server's URL ("App server"). */
    serverUrl: string;
    /** Bucket; filled from the token server's hints when empty. */
    bucket: string;
    /** Region, e.g. `cn-hangzhou`; filled from the hints when empty. */
    region: string;
    /** Endpoint override, e.g. `http://127.0.0.1:9000`; filled from the hints when empty. */
    endpoint: string;
    /** Object name prefix the token allows, e.g. `uploads/`. */
    objectPrefix: string;
    /** `v4` (default) or `v1`. */
    signatureVersion: SignatureVersion;
    /** Auto, simple or resumable. */
    uploadMode: UploadMode;
    /** Part size in bytes for resumable uploads (at least 100 KB). */
    partSize: number;
    /** Parts in flight (1 to 20). */
    concurrency: number;
    /** Sent as `Authorization: Bearer` when the token server requires sign-in. */
    userToken: string;
    /** Text of the watermarked preview. */
    watermarkText: string;
    /** Files uploading at once in the queue (1 to 10, default 3). */
    jobs: number;
    /** Unfinished files upload again by themselves when the app starts (default true). */
    autoResume: boolean;
    /** "Photo size": `original`, `large` (long edge 2048 px) or `medium` (1280 px). */
    photoSize: PhotoSize;
    /** "Remove location and camera data" from photos before upload (default true). */
    stripMetadata: boolean;
}
/** The "Photo size" setting. */
export type PhotoSize = 'original' | 'large' | 'medium';
/** What "Test connection" shows. */
export interface ConnectionInfo {
    /** The settings, with empty fields filled from the server's hints (and saved). */
    settings: Settings;
    /** When the token expires (RFC 3339). */
    expiration: string;
    /** Seconds it has left. */
    secondsLeft: number;
    /** The endpoint uploads go to. */
    endpoint: string;
}
/** A picked file: an opaque handle, never a path. */
export interface PickedFile {
    /** The handle; pass it to `describeFile`, `previewFile` and `startUpload`. */
    id: string;
    /** The file's name. */
    name: string;
    /** Bytes. */
    size: number;
    /** The object name suggested for it (prefix + name). */
    suggestedKey: string;
}
/** Starts an upload. */
export interface UploadRequest {
    /** Your id for this upload (to pause, resume and cancel it), e.g. `crypto.randomUUID()`. */
    id: string;
    /** The picked file's handle (`PickedFile.id`). */
    file: string;
    /** Object name; must start with the allowed prefix. */
    key: string;
    /** No longer used: the queue uploads with the settings' mode. */
    mode?: UploadMode | null;
}
/** Messages on an upload's channel. */
export type UploadEvent = {
    event: 'started';
    mode: 'simple' | 'resumable';
    bytesTotal: number;
} | {
    event: 'progress';
    bytesDone: number;
    bytesTotal: number;
    partsDone: number;
    partsTotal: number;
};
/** The state of an upload in the history. */
export type UploadState = 'queued' | 'uploading' | 'waiting' | 'paused' | 'failed' | 'done' | 'cancelled';
/** Where a file of the queue is. `waiting` is for the network (or the App server): the queue
 * tries again by itself, with no tap. */
export type FileState = 'queued' | 'preparing' | 'uploading' | 'paused' | 'waiting' | 'failed' | 'done' | 'cancelled';
/** A file to add to the queue. */
export interface EnqueueFile {
    /** The picked file's handle (`PickedFile.id`). */
    file: string;
    /** Object name (default: the suggested one). */
    key?: string | null;
}
/** One file of the upload queue (no local path). */
export interface QueueItem {
    /** The queue's id: pass it to `queuePause`, `queueResume`, `queueCancel`. */
    id: number;
    name: string;
    key: string;
    /** Bytes of the original. */
    size: number;
    state: FileState;
    /** Why it failed or waits, for the user. */
    reason: string | null;
    /** Bytes OSS has. */
    bytesDone: number;
    etag: string | null;
    crc64: string | null;
    /** What preparing the photo did, e.g. `4.2 MB → 1.1 MB, location removed`. */
    note: string | null;
    addedAtMs: number;
    updatedAtMs: number;
    /** Parts an earlier run had already sent (files stored by this run of the app). */
    resumedParts: number;
    /** What the app server said through the upload callback, when it asked for one. */
    callback: CallbackOutcome | null;
}
/** The queue at a glance (this session's files and every unfinished one). */
export interface QueueSummary {
    files: number;
    /** Queued, preparing or uploading. */
    active: number;
    /** Waiting for the network. */
    waiting: number;
    paused: number;
    failed: number;
    done: number;
    bytesTotal: number;
    bytesDone: number;
    bytesPerSecond: number;
    /** Seconds left, when known. */
    etaSeconds: number | null;
    /** False while the queue waits to connect to the App server. */
    running: boolean;
}
/** Messages on the queue's channel. */
export type QueueMessage = {
    type: 'file';
    file: QueueItem;
} | {
    type: 'progress';
    id: number;
    bytesDone: number;
    bytesTotal: number;
} | {
    type: 'reset';
};
/** One upload in the history. */
export interface HistoryEntry {
    id: string;
    key: string;
    bucket: string;
    /** The file as picked (a path or a `content://` URI). */
    source: string;
    /** The file uploaded from (a copy in the app cache on mobile). */
    localPath: string;
    name: string;
    size: number;
    resumable: boolean;
    state: UploadState;
    /** Bytes known to be in OSS. */
    bytesDone: number;
    etag: string | null;
    /** CRC-64/XZ, once done and verified. */
    crc64: string | null;
    /** The last error, for failed uploads. */
    error: string | null;
    /** Unix seconds. */
    startedAt: number;
    /** Unix seconds. */
    updatedAt: number;
}
/** What the app server said through OSS's upload callback. */
export type CallbackOutcome = {
    outcome: 'answered';
    body: string;
} | {
    outcome: 'failed';
    message: string;
};
/** What a finished upload shows. */
export interface UploadResult {
    entry: HistoryEntry;
    /** Parts an earlier run had already sent. */
    resumedParts: number;
    /** Why an earlier checkpoint was not used, if it was not. */
    restarted: string | null;
    /** Present when the token server asked for an upload callback. */
    callback: CallbackOutcome | null;
}
/** Thumbnail, watermark and link of an uploaded image. */
export interface Previews {
    /** `data:` URL of the OSS image-processing thumbnail. */
    thumbnail: string | null;
    /** `data:` URL of the watermarked preview. */
    watermarked: string | null;
    /** A presigned GET URL of the original. */
    signedUrl: string | null;
    thumbnailProcess: string;
    watermarkProcess: string;
    /** Why previews are missing, if they are. */
    error: string | null;
}
/** One upload the app server recorded from an upload callback. */
export interface RecordedUpload {
    id: string;
    user: string | null;
    bucket: string;
    key: string;
    etag: string;
    size: number | null;
    contentType: string | null;
    imageWidth: number | null;
    imageHeight: number | null;
    imageFormat: string | null;
    /** RFC 3339, UTC. */
    uploadedAt: string;
}
/** A page of the app server's recorded uploads, newest first. */
export interface ServerUploads {
    items: {
        upload: RecordedUpload;
        thumbnail: string | null;
    }[];
    /** Pass to `listServerUploads` for the next page; null on the last. */
    nextAfter: string | null;
}
/** A presigned URL request. */
export interface SignedUrlRequest {
    key: string;
    /** An `x-oss-process` value such as `image/resize,w_200`. */
    process?: string | null;
    /** 1 to 86400 (default 3600). */
    expiresInSecs?: number | null;
}
/** How a command fails: `kind` is `server`, `denied`, `network`, `file`, `paused`,
 * `cancelled`, `integrity`, `input` or `oss`; `code` is OSS's error code when there is one. */
export interface OssDirectError {
    kind: string;
    code: string | null;
    message: string;
}
/** The saved settings. */
export declare function getSettings(): Promise<Settings>;
/** Validates and saves the settings; resolves to them as saved. */
export declare function saveSettings(settings: Settings): Promise<Settings>;
/** Sets the App server (keeping the other settings) and saves. */
export declare function configure(serverUrl: string): Promise<Settings>;
/** Fetches a token from the App server: its expiry, and the settings filled from its hints. */
export declare function testConnection(): Promise<ConnectionInfo>;
/** A warning when the App server URL would send credentials in clear off the local network. */
export declare function serverUrlWarning(url: string): Promise<string | null>;
/** Opens the system image picker; null when the user cancelled. */
export declare function pickImage(): Promise<PickedFile | null>;
/** Describes a picked file again (its size now, its suggested object name). */
export declare function describeFile(id: string): Promise<PickedFile>;
/** The picked image as a `data:` URL (null above 20 MB or for other files). */
export declare function previewFile(id: string): Promise<string | null>;
/** Uploads a picked file; `onEvent` receives `started` and then `progress` events. Rejects with
 * an `OssDirectError` (kind `paused` after `pauseUpload`). */
export declare function startUpload(request: UploadRequest, onEvent?: (event: UploadEvent) => void): Promise<UploadResult>;
/** Resumes a paused or failed upload from its checkpoint (also after an app restart). */
export declare function resumeUpload(id: string, onEvent?: (event: UploadEvent) => void): Promise<UploadResult>;
/** Pauses a running upload; its checkpoint stays. */
export declare function pauseUpload(id: string): Promise<void>;
/** Cancels an upload: stops it, aborts it in OSS, removes its checkpoint. */
export declare function cancelUpload(id: string): Promise<HistoryEntry>;
/** Every upload, newest first. */
export declare function getHistory(): Promise<HistoryEntry[]>;
/** Thumbnail and watermarked preview (`data:` URLs) and a signed link of an upload. */
export declare function getPreviews(key: string): Promise<Previews>;
/** A presigned GET URL, e.g. of a thumbnail: `signedUrl({ key, process: 'image/resize,w_200' })`.
 * For an `<img>`, the app's CSP must allow images from the OSS endpoint. */
export declare function signedUrl(request: SignedUrlRequest): Promise<string>;
/** A page of the uploads the app server recorded (with `data:` thumbnails). */
export declare function listServerUploads(after?: string | null): Promise<ServerUploads>;
/** Saves the original of an upload where the user picks; the bytes written, or null. */
export declare function downloadUpload(key: string): Promise<number | null>;
/** Opens the system image picker for several files; empty when the user cancelled. */
export declare function pickImages(): Promise<PickedFile[]>;
/** Adds picked files to the upload queue; they upload in the background, `jobs` at a time. */
export declare function enqueue(files: EnqueueFile[]): Promise<QueueItem[]>;
/** The queue: this session's files and every unfinished one, oldest first. */
export declare function queueList(): Promise<QueueItem[]>;
/** Files, bytes, speed and time left. */
export declare function queueSummary(): Promise<QueueSummary>;
/** Pauses one file of the queue (its checkpoint stays). */
export declare function queuePause(id: number): Promise<void>;
/** Resumes a paused file, or retries a failed one. */
export declare function queueResume(id: number): Promise<void>;
/** Cancels one file and aborts its partial upload in OSS. */
export declare function queueCancel(id: number): Promise<void>;
/** Pauses every file the queue is working on. */
export declare function queuePauseAll(): Promise<void>;
/** Resumes every paused file and retries every failed one. */
export declare function queueResumeAll(): Promise<void>;
/** Follows the queue: `onMessage` gets each file's changes and progress (and `reset` when the
 * queue was opened again: list it again). */
export declare function queueEvents(onMessage: (message: QueueMessage) => void): Promise<void>;
