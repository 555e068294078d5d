// One peer connection, negotiated with the perfect negotiation pattern:
// both sides may offer at any time; on a collision the polite side rolls
// back its own offer and the impolite side ignores the incoming one.
//
// The first offer is never a collision, though: the member already in
// the room (waitForOffer) adds its tracks only once the newcomer's offer
// has arrived. Chromium can lose its ICE gathering when the polite side
// rolls back an offer whose candidates are still being gathered: it then
// answers with no candidates at all and the call never connects.

export class Call {
  constructor({
    peerSid, polite, waitForOffer, localStream, sendSignal, onRemoteStream, onState,
  }) {
    this.peerSid = peerSid;
    this.polite = polite;
    this.sendSignal = sendSignal;
    this.onRemoteStream = onRemoteStream;
    this.onState = onState;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.isSettingRemoteAnswerPending = false;
    this.pc = new RTCPeerConnection();
    this.pc.onnegotiationneeded = () => this.onNegotiationNeeded();
    this.pc.onicecandidate = (event) => this.onIceCandidate(event);
    this.pc.ontrack = (event) => this.onTrack(event);
    this.pc.onconnectionstatechange = () => this.onState(this.pc.connectionState);
    this.localStream = localStream;
    this.tracksAdded = false;
    if (!waitForOffer) {
      this.addLocalTracks();
    }
  }

  addLocalTracks() {
    this.tracksAdded = true;
    for (const track of this.localStream.getTracks()) {
      this.pc.addTrack(track, this.localStream);
    }
  }

  async onNegotiationNeeded() {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      await this.sendSignal(this.peerSid, 'offer', this.pc.localDescription.toJSON());
    } catch (error) {
      this.onState(`negotiation failed: ${error.message}`);
    } finally {
      this.makingOffer = false;
    }
  }

  async onIceCandidate(event) {
    if (event.candidate === null) {
      return;
    }
    try {
      await this.sendSignal(this.peerSid, 'candidate', event.candidate.toJSON());
    } catch (error) {
      this.onState(`candidate not sent: ${error.message}`);
    }
  }

  onTrack(event) {
    const [stream] = event.streams;
    if (stream !== undefined) {
      this.onRemoteStream(stream);
    }
  }

  async acceptDescription(description) {
    const readyForOffer = !this.makingOffer
      && (this.pc.signalingState === 'stable' || this.isSettingRemoteAnswerPending);
    const offerCollision = description.type === 'offer' && !readyForOffer;
    this.ignoreOffer = !this.polite && offerCollision;
    if (this.ignoreOffer) {
      return;
    }

    this.isSettingRemoteAnswerPending = description.type === 'answer';
    await this.pc.setRemoteDescription(description);
    this.isSettingRemoteAnswerPending = false;
    if (description.type === 'offer') {
      if (!this.tracksAdded) {
        // The tracks take the transceivers the offer made, so the
        // answer sends both ways and no second negotiation follows.
        this.addLocalTracks();
      }
      await this.pc.setLocalDescription();
      await this.sendSignal(this.peerSid, 'answer', this.pc.localDescription.toJSON());
    }
  }

  async acceptCandidate(candidate) {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      if (!this.ignoreOffer) {
        throw error;
      }
    }
  }

  async accept(type, data) {
    if (type === 'candidate') {
      await this.acceptCandidate(data);
    } else {
      await this.acceptDescription(data);
    }
  }

  close() {
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
  }
}
