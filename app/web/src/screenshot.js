// Screenshots: the remote video drawn at its own size, sent as PNG bytes.

function canvasToPng(canvas) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => {
      if (blob === null || blob.size === 0) {
        reject(new Error('the canvas gave no image'));
      } else {
        resolve(blob);
      }
    }, 'image/png');
  });
}

export async function captureFrame(video) {
  if (video.videoWidth === 0 || video.videoHeight === 0) {
    throw new Error('no video to capture yet');
  }
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext('2d').drawImage(video, 0, 0, canvas.width, canvas.height);
  return canvasToPng(canvas);
}

export async function uploadScreenshot(blob) {
  const response = await fetch('/api/screenshots', {
    method: 'POST',
    headers: { 'Content-Type': blob.type || 'image/png' },
    body: blob,
  });
  const answer = await response.json().catch(() => ({}));
  if (response.status !== 201) {
    throw new Error(`${answer.error ?? response.status}: ${answer.message ?? ''}`);
  }
  return answer;
}
