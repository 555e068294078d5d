// Recording: MediaRecorder chunks, each PUT over HTTP with its sequence
// number and retried until the server acknowledges it.

const TIMESLICE_MS = 1000;
const MAX_ATTEMPTS = 6;
const FIRST_RETRY_MS = 500;
const MIME_CANDIDATES = [
  'video/webm;codecs=vp8,opus',
  'video/webm;codecs=vp9,opus',
  'video/webm;codecs=vp8',
  'video/webm',
];

export function chooseMime() {
  const mime = MIME_CANDIDATES.find((type) => MediaRecorder.isTypeSupported(type));
  if (mime === undefined) {
    throw new Error('this browser cannot record WebM');
  }
  return mime;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isFinal(status) {
  // A refusal that a retry cannot fix: drop the chunk, do not loop.
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

class RefusedChunk extends Error {}

async function sendChunk(url, token, seq, blob) {
  const response = await fetch(url, {
    method: 'PUT',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/octet-stream',
    },
    body: blob,
  });
  if (response.ok) {
    return;
  }
  const answer = await response.json().catch(() => ({}));
  const message = `chunk ${seq}: ${answer.error ?? response.status}`;
  if (isFinal(response.status)) {
    throw new RefusedChunk(message);
  }
  throw new Error(message);
}

async function putChunk(id, token, seq, blob) {
  const url = `/api/recordings/${encodeURIComponent(id)}/chunks/${seq}`;
  let lastError = null;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    try {
      await sendChunk(url, token, seq, blob);
      return;
    } catch (error) {
      if (error instanceof RefusedChunk) {
        throw error;
      }
      lastError = error;
    }
    await sleep(FIRST_RETRY_MS * 2 ** attempt);
  }
  throw lastError;
}

export class Recording {
  constructor({ stream, id, token, mime, onError }) {
    this.id = id;
    this.token = token;
    this.onError = onError;
    this.chunks = 0;
    this.failed = null;
    this.uploads = Promise.resolve();
    this.recorder = new MediaRecorder(stream, { mimeType: mime });
    this.recorder.ondataavailable = (event) => this.onDataAvailable(event);
    this.stopped = new Promise((resolve) => {
      this.recorder.onstop = () => resolve();
    });
  }

  start() {
    this.recorder.start(TIMESLICE_MS);
  }

  onDataAvailable(event) {
    if (event.data.size === 0) {
      return;
    }
    const seq = this.chunks;
    this.chunks += 1;
    this.uploads = this.uploads.then(() => this.upload(seq, event.data));
  }

  async upload(seq, blob) {
    try {
      await putChunk(this.id, this.token, seq, blob);
    } catch (error) {
      this.failed = error;
      this.onError(error);
    }
  }

  async stop() {
    if (this.recorder.state !== 'inactive') {
      this.recorder.stop();
    }
    await this.stopped;
    await this.uploads;
    return this.chunks;
  }
}
