// The local camera and microphone.

export function readQuery(search) {
  const params = new URLSearchParams(search);
  const size = (name) => {
    const value = Number.parseInt(params.get(name) ?? '', 10);
    return Number.isInteger(value) && value > 0 ? value : null;
  };
  return {
    room: params.get('room') ?? '',
    name: params.get('name') ?? '',
    width: size('width'),
    height: size('height'),
  };
}

export function videoConstraints(width, height) {
  const video = {};
  if (width !== null) {
    video.width = { ideal: width };
  }
  if (height !== null) {
    video.height = { ideal: height };
  }
  return Object.keys(video).length === 0 ? true : video;
}

export async function openCamera(width, height) {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error('camera access needs a secure (https) page');
  }
  return navigator.mediaDevices.getUserMedia({
    audio: true,
    video: videoConstraints(width, height),
  });
}

export function stopStream(stream) {
  if (stream === null) {
    return;
  }
  for (const track of stream.getTracks()) {
    track.stop();
  }
}
