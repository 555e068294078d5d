// Recording: MediaRecorder chunks, each PUT over HTTP with its sequence
// number and retried until the server acknowledges it. A full store
// (507 storage_full) or a cap of the recording (recording_too_large,
// recording_too_long) ends it: no retry, no more chunks; the server
// keeps what came before. The stop is sent again after a reconnect (the
// server answers a repeated stop with the first one's result).

import { request } from './signaling.js';

const TIMESLICE_MS = 1000;
const MAX_ATTEMPTS = 6;
const FIRST_RETRY_MS = 500;
const STORAGE_FULL = 507;
// Refusals after which the server takes no more chunks of the recording.
const ENDING_ERRORS = new Set(['storage_full', 'recording_too_large', 'recording_too_long']);
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
  if (status === STORAGE_FULL) {
    return true;
  }
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

class RefusedChunk extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }

  // The server ended the recording: nothing more is worth sending.
  get ending() {
    return this.status === STORAGE_FULL || ENDING_ERRORS.has(this.code);
  }
}

class Disconnected extends Error {}

// Resolves on the socket's next `name` event; `cancel` removes the listener.
function nextEvent(socket, name) {
  let cancel = () => {};
  const promise = new Promise((resolve) => {
    const handler = () => resolve();
    socket.once(name, handler);
    cancel = () => socket.off(name, handler);
  });
  return { promise, cancel };
}

function withDeadline(promise, ms, what) {
  let timer = null;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// One record-stop, failing with Disconnected when the socket drops first.
async function stopOnce(socket, payload, timeoutMs) {
  const dropped = nextEvent(socket, 'disconnect');
  try {
    return await Promise.race([
      request(socket, 'record-stop', payload, timeoutMs),
      dropped.promise.then(() => {
        throw new Disconnected('record-stop: the connection dropped');
      }),
    ]);
  } finally {
    dropped.cancel();
  }
}

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
    throw new RefusedChunk(message, response.status, answer.error);
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
    this.halted = false;
    this.finishing = null;
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
    if (this.halted) {
      return;
    }
    try {
      await putChunk(this.id, this.token, seq, blob);
    } catch (error) {
      this.failed = error;
      if (error instanceof RefusedChunk && error.ending) {
        this.halt();
      }
      this.onError(error, this.halted);
    }
  }

  // Stop recording for good: nothing more is recorded or sent.
  halt() {
    this.halted = true;
    if (this.recorder.state !== 'inactive') {
      this.recorder.stop();
    }
  }

  // Stop, then ask the server to finalize; sent again after a reconnect
  // until `timeoutMs` has passed. The same promise for every caller.
  finish(socket, timeoutMs) {
    if (this.finishing === null) {
      this.finishing = this.stopOnServer(socket, timeoutMs);
    }
    return this.finishing;
  }

  async stopOnServer(socket, timeoutMs) {
    const chunks = await this.stop();
    const payload = { id: this.id, token: this.token, chunks };
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!socket.connected) {
        const back = nextEvent(socket, 'connect');
        try {
          await withDeadline(back.promise, deadline - Date.now(), 'record-stop');
        } finally {
          back.cancel();
        }
      }
      try {
        return await stopOnce(socket, payload, deadline - Date.now());
      } catch (error) {
        if (!(error instanceof Disconnected) || Date.now() >= deadline) {
          throw error;
        }
      }
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
