// Human-readable sizes, speeds and durations.
export function bytes(n) {
  if (!Number.isFinite(n)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '…';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds % 60)} s`;
}

// Tracks speed over a sliding window of recent samples.
export class Speed {
  constructor(windowMs = 3000) { this.windowMs = windowMs; this.samples = []; }
  add(done, t = performance.now()) {
    this.samples.push([t, done]);
    while (this.samples.length > 2 && t - this.samples[0][0] > this.windowMs) this.samples.shift();
  }
  perSecond() {
    if (this.samples.length < 2) return 0;
    const [t0, b0] = this.samples[0];
    const [t1, b1] = this.samples[this.samples.length - 1];
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  }
}

export function when(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleString();
}

// What preparing a photo did, as worth a line ("nothing to change" is not).
export function photoNote(note) {
  return !note || note === 'uploaded unchanged (nothing to change)' ? '' : note;
}

// "1 file", "3 files".
export function files(n) {
  return `${n} file${n === 1 ? '' : 's'}`;
}
