// Storyboard thumbnails from a WebVTT file whose cues point into sprite sheets
// (``sprite_001.jpg#xywh=x,y,w,h``): the picture for any time on the seek bar.

export interface Tile {
  start: number;
  end: number;
  url: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

function seconds(stamp: string): number {
  const parts = stamp.trim().split(":").map(Number);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

export function parseStoryboard(text: string, base: string): Tile[] {
  const tiles: Tile[] = [];
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const arrow = lines[i].indexOf("-->");
    if (arrow < 0) continue;
    const target = (lines[i + 1] ?? "").trim();
    const hash = target.indexOf("#xywh=");
    if (hash < 0) continue;
    const [x, y, w, h] = target.slice(hash + 6).split(",").map(Number);
    tiles.push({
      start: seconds(lines[i].slice(0, arrow)),
      end: seconds(lines[i].slice(arrow + 3).trim().split(/\s/)[0]),
      url: new URL(target.slice(0, hash), base).href,
      x,
      y,
      w,
      h,
    });
  }
  return tiles;
}

export function tileAt(tiles: Tile[], time: number): Tile | null {
  for (const tile of tiles) if (time >= tile.start && time < tile.end) return tile;
  return tiles.length && time >= tiles[tiles.length - 1].end ? tiles[tiles.length - 1] : null;
}

export async function loadStoryboard(url: string, signal: AbortSignal): Promise<Tile[]> {
  const response = await fetch(url, { signal });
  if (!response.ok) return [];
  return parseStoryboard(await response.text(), response.url || url);
}
