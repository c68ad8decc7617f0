// Reads the publisher's send time (Unix ms) back from a displayed frame: the barcode drawn by
// benchmarks/_live_clock.py (320x240 gray, 40 bits in two rows of 20 blocks, 16x48 px each,
// white for 1), sampled at the centre of each block. Returns null when no plausible time is read.
const CLOCK = { width: 320, height: 240, bits: 40, perRow: 20, blockW: 16, blockH: 48, top: 48, gap: 16 };
const clockCanvas = document.getElementById("canvas");
const clockContext = clockCanvas.getContext("2d", { willReadFrequently: true });

function readClock(video, nowMs) {
  if (!video.videoWidth) return null;
  clockContext.drawImage(video, 0, 0, CLOCK.width, CLOCK.height);
  const pixels = clockContext.getImageData(0, 0, CLOCK.width, CLOCK.height).data;
  let value = 0;
  for (let bit = 0; bit < CLOCK.bits; bit++) {
    const row = Math.floor(bit / CLOCK.perRow), column = bit % CLOCK.perRow;
    const y = CLOCK.top + row * (CLOCK.blockH + CLOCK.gap) + CLOCK.blockH / 2;
    const x = column * CLOCK.blockW + CLOCK.blockW / 2;
    let sum = 0, count = 0;
    for (let dy = -4; dy < 4; dy++) {
      for (let dx = -2; dx < 2; dx++) {
        sum += pixels[((y + dy) * CLOCK.width + (x + dx)) * 4];
        count += 1;
      }
    }
    if (sum / count > 128) value += 2 ** bit;
  }
  const period = 2 ** CLOCK.bits;
  const sent = nowMs - ((((nowMs - value) % period) + period) % period);
  return nowMs - sent < 60000 ? sent : null;
}
