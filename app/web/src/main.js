// The call page: join a room, call its other member, record, capture.

import { byId, describe, show } from './dom.js';
import { Call } from './call.js';
import { openCamera, readQuery, stopStream } from './media.js';
import { Recording, chooseMime } from './recorder.js';
import { captureFrame, uploadScreenshot } from './screenshot.js';
import { connect, request } from './signaling.js';

const RECORD_STOP_TIMEOUT_MS = 330_000;
// A member whose signaling socket dropped has this long to rejoin before
// its call is ended; media flows peer to peer meanwhile.
const REJOIN_GRACE_MS = 15_000;
const REJOIN_RETRY_MS = 1_000;

const query = readQuery(window.location.search);
const state = {
  socket: null,
  sid: null,
  localStream: null,
  remoteStream: null,
  call: null,
  recording: null,
  room: null,
  inRoom: false,
  peerName: null,
  peerLeftTimer: null,
};

function setStatus(text) {
  show('status', text);
}

function setJoined(joined) {
  byId('join').disabled = joined;
  byId('leave').disabled = !joined;
  byId('record').disabled = !joined;
  byId('screenshot').disabled = !joined;
}

async function sendSignal(to, type, data) {
  await request(state.socket, 'signal', { to, type, data });
}

function onRemoteStream(stream) {
  state.remoteStream = stream;
  byId('remote-video').srcObject = stream;
}

// The newcomer offers; the member already in the room waits for that
// offer (see call.js for why the first offer must not collide).
function startCall(peer, { waitForOffer }) {
  endCall();
  state.peerName = peer.name;
  state.call = new Call({
    peerSid: peer.sid,
    polite: state.sid < peer.sid,
    waitForOffer,
    localStream: state.localStream,
    sendSignal,
    onRemoteStream,
    onState: (text) => setStatus(`call with ${peer.name}: ${text}`),
  });
  setStatus(`calling ${peer.name}`);
}

function endCall() {
  clearTimeout(state.peerLeftTimer);
  state.peerLeftTimer = null;
  if (state.call !== null) {
    state.call.close();
    state.call = null;
  }
  state.remoteStream = null;
  byId('remote-video').srcObject = null;
}

async function startLocalMedia() {
  if (state.localStream === null) {
    state.localStream = await openCamera(query.width, query.height);
    byId('local-video').srcObject = state.localStream;
  }
}

function stopLocalMedia() {
  stopStream(state.localStream);
  state.localStream = null;
  byId('local-video').srcObject = null;
}

async function joinRoom() {
  const room = byId('room').value.trim();
  const name = byId('name').value.trim();
  await startLocalMedia();
  let ack;
  try {
    ack = await request(state.socket, 'join', { room, name });
  } catch (error) {
    // Refused (a full room, a bad name) or no socket: the camera goes
    // off again, as it would after a leave.
    stopLocalMedia();
    throw error;
  }
  state.sid = ack.sid;
  state.room = { room, name };
  state.inRoom = true;
  setJoined(true);
  setStatus(`joined ${room}`);
  const [peer] = ack.members;
  if (peer !== undefined) {
    startCall(peer, { waitForOffer: false });
  }
}

async function leaveRoom() {
  if (state.recording !== null) {
    await stopRecording();
  }
  endCall();
  state.room = null;
  state.inRoom = false;
  await request(state.socket, 'leave', null);
  stopLocalMedia();
  setJoined(false);
  setStatus('left the room');
}

async function startRecording() {
  const stream = state.remoteStream ?? state.localStream;
  if (stream === null) {
    throw new Error('nothing to record yet');
  }
  const mime = chooseMime();
  const ack = await request(state.socket, 'record-start', { mime });
  state.recording = new Recording({
    stream,
    id: ack.id,
    token: ack.token,
    mime,
    onError: (error, final) => onRecordingError(error, final),
  });
  state.recording.start();
  byId('record').textContent = 'Stop recording';
  show('record-state', 'recording');
}

async function stopRecording() {
  const recording = state.recording;
  state.recording = null;
  byId('record').textContent = 'Record';
  show('record-state', 'saving');
  const ack = await recording.finish(state.socket, RECORD_STOP_TIMEOUT_MS);
  show('record-state', `saved ${ack.file}`);
}

// A final refusal (a full store or a cap) ended the recording: the server keeps
// what it has; the error stays on show.
function onRecordingError(error, final) {
  show('record-state', `error: ${describe(error)}`);
  if (final && state.recording !== null) {
    const recording = state.recording;
    state.recording = null;
    byId('record').textContent = 'Record';
    recording.finish(state.socket, RECORD_STOP_TIMEOUT_MS).then(
      (ack) => show('record-state', `error: ${describe(error)}; saved ${ack.file}`),
      (stopError) => show(
        'record-state', `error: ${describe(error)}; stop: ${describe(stopError)}`,
      ),
    );
  }
}

async function takeScreenshot() {
  const blob = await captureFrame(byId('remote-video'));
  const answer = await uploadScreenshot(blob);
  show('screenshot-state', `saved ${answer.name}`);
}

async function onJoinClick() {
  try {
    await joinRoom();
  } catch (error) {
    setStatus(`error: ${describe(error)}`);
  }
}

async function onLeaveClick() {
  try {
    await leaveRoom();
  } catch (error) {
    setStatus(`error: ${describe(error)}`);
  }
}

async function onRecordClick() {
  try {
    if (state.recording === null) {
      await startRecording();
    } else {
      await stopRecording();
    }
  } catch (error) {
    show('record-state', `error: ${describe(error)}`);
  }
}

async function onScreenshotClick() {
  try {
    await takeScreenshot();
  } catch (error) {
    show('screenshot-state', `error: ${describe(error)}`);
  }
}

function onPeerJoined(peer) {
  if (state.peerLeftTimer !== null && peer.name === state.peerName) {
    // The same member back on a new socket: the call goes on.
    clearTimeout(state.peerLeftTimer);
    state.peerLeftTimer = null;
    state.call.peerSid = peer.sid;
    setStatus(`${peer.name} rejoined`);
    return;
  }
  startCall(peer, { waitForOffer: true });
}

function onPeerLeft({ sid, reason }) {
  if (state.call === null || state.call.peerSid !== sid) {
    return;
  }
  if (reason === 'left') {
    endCall();
    setStatus('the other member left');
    return;
  }
  // Its socket dropped: the media may still flow, and it may rejoin.
  setStatus('the other member is reconnecting');
  clearTimeout(state.peerLeftTimer);
  state.peerLeftTimer = setTimeout(() => {
    endCall();
    setStatus('the other member left');
  }, REJOIN_GRACE_MS);
}

// After the signaling socket comes back, rejoin the room on the new
// socket; the peer connection, which never needed the socket, stays.
async function rejoinRoom() {
  const { room, name } = state.room;
  const ack = await request(state.socket, 'join', { room, name });
  state.sid = ack.sid;
  state.inRoom = true;
  setJoined(true);
  setStatus(`rejoined ${room}`);
  const [peer] = ack.members;
  if (peer !== undefined && (state.call === null || state.call.peerSid !== peer.sid)) {
    startCall(peer, { waitForOffer: false });
  }
}

async function onSignal({ from, type, data }) {
  try {
    if (state.call === null || state.call.peerSid !== from) {
      return;
    }
    await state.call.accept(type, data);
  } catch (error) {
    setStatus(`error: ${describe(error)}`);
  }
}

// The server may still hold the old socket in the room (it has not seen
// it drop yet), so a refused rejoin is retried until the grace runs out.
async function rejoinUntilDone() {
  const deadline = Date.now() + REJOIN_GRACE_MS;
  while (state.room !== null && state.socket.connected) {
    try {
      await rejoinRoom();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        setStatus(`error: ${describe(error)}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, REJOIN_RETRY_MS));
    }
  }
}

function onConnect() {
  setStatus(`connected (${state.socket.io.engine.transport.name})`);
  if (state.room !== null) {
    rejoinUntilDone();
  }
}

function onDisconnect(reason) {
  state.inRoom = false;
  if (state.room !== null && state.socket.active) {
    // socket.io reconnects by itself; onConnect rejoins the room.
    setStatus(`disconnected: ${reason}, reconnecting`);
    return;
  }
  state.room = null;
  endCall();
  setJoined(false);
  setStatus(`disconnected: ${reason}`);
}

function start() {
  byId('room').value = query.room;
  byId('name').value = query.name;
  setJoined(false);
  show('record-state', 'idle');
  state.socket = connect();
  state.socket.on('connect', onConnect);
  state.socket.on('disconnect', onDisconnect);
  state.socket.on('connect_error', (error) => setStatus(`error: ${describe(error)}`));
  state.socket.on('peer-joined', onPeerJoined);
  state.socket.on('peer-left', onPeerLeft);
  state.socket.on('signal', onSignal);
  byId('join').addEventListener('click', onJoinClick);
  byId('leave').addEventListener('click', onLeaveClick);
  byId('record').addEventListener('click', onRecordClick);
  byId('screenshot').addEventListener('click', onScreenshotClick);
}

window.parley = {
  peerConnection: () => (state.call === null ? null : state.call.pc),
  transport: () => state.socket?.io.engine?.transport.name ?? null,
  room: () => (state.inRoom ? state.room.room : null),
};

start();
