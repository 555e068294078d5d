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

export async function request(socket, event, payload, timeoutMs = ACK_TIMEOUT_MS) {
  const ack = await socket.timeout(timeoutMs).emitWithAck(event, payload);
  if (ack === null || typeof ack !== 'object') {
    throw new Error(`${event}: the server sent no answer`);
  }
  if (ack.ok !== true) {
    throw new Error(`${event}: ${ack.error}: ${ack.message}`);
  }
  return ack;
}
