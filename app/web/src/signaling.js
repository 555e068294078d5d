// The socket.io connection to the page's own origin.

import { io } from 'socket.io-client';

const ACK_TIMEOUT_MS = 10_000;

export function connect() {
  // No scheme or host: the socket follows the page's own origin, so an
  // https page always talks wss through the same edge.
  return io({
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
  });
}

// The server's limit for one socket.io message (PARLEY_MAX_MESSAGE_BYTES,
// also the edge's); a larger one would cost the sender its connection.
const MESSAGE_LIMIT_BYTES = Number(
  document.querySelector('meta[name="parley-max-message-bytes"]')?.content ?? 65536,
);

export function checkMessageSize(event, payload) {
  const bytes = new Blob([JSON.stringify([event, payload ?? null])]).size;
  if (bytes > MESSAGE_LIMIT_BYTES) {
    throw new Error(
      `${event}: too_large: the message has ${bytes} bytes, the limit is ${MESSAGE_LIMIT_BYTES}`,
    );
  }
}

export async function request(socket, event, payload, timeoutMs = ACK_TIMEOUT_MS) {
  checkMessageSize(event, payload);
  const ack = await socket.timeout(timeoutMs).emitWithAck(event, payload);
  if (ack === null || typeof ack !== 'object') {
    throw new Error(`${event}: the server sent no answer`);
  }
  if (ack.ok !== true) {
    throw new Error(`${event}: ${ack.error}: ${ack.message}`);
  }
  return ack;
}
