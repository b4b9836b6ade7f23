/**
 * Dense figures as pictures: a mask or a per-neuron spectrum has thousands of cells, and one SVG
 * element per cell made such a figure weigh up to a megabyte. Drawn as one PNG (zlib from Node, no
 * dependency) placed in the plot by a Vega-Lite `image` mark, the cells cost a few kilobytes, while
 * axes, titles and legends stay vector.
 */
import zlib from 'node:zlib';
import * as vega from 'vega';

/** An RGBA colour, 0–255 per channel. */
export type Rgba = readonly [number, number, number, number];

/** A fully transparent pixel: the plot's background shows through. */
export const TRANSPARENT: Rgba = [0, 0, 0, 0];

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 as PNG chunks use it (ISO 3309). */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encodes an 8-bit RGBA picture (row-major, `width × height × 4` bytes) as PNG: greyscale and/or
 * without alpha when every pixel allows it, each row filtered with whichever of None, Sub and Up
 * leaves the smallest residuals, deflated at level 9. Deterministic for a given zlib.
 */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new RangeError(`a PNG needs a positive integer size, got ${width} × ${height}`);
  if (rgba.length !== width * height * 4)
    throw new RangeError(`${width} × ${height} RGBA needs ${width * height * 4} bytes, got ${rgba.length}`);
  let grey = true;
  let opaque = true;
  for (let i = 0; i < rgba.length; i += 4) {
    if (rgba[i] !== rgba[i + 1] || rgba[i] !== rgba[i + 2]) grey = false;
    if (rgba[i + 3] !== 255) opaque = false;
  }
  // PNG colour types: 0 grey, 4 grey + alpha, 2 RGB, 6 RGBA.
  const channels = grey ? (opaque ? [0] : [0, 3]) : opaque ? [0, 1, 2] : [0, 1, 2, 3];
  const colourType = grey ? (opaque ? 0 : 4) : opaque ? 2 : 6;
  const bpp = channels.length;
  const stride = width * bpp;
  const raw = new Uint8Array(width * height * bpp);
  for (let p = 0; p < width * height; p++) for (let c = 0; c < bpp; c++) raw[p * bpp + c] = rgba[p * 4 + channels[c]!]!;
  const filtered = new Uint8Array(height * (stride + 1));
  const candidate = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = raw.subarray(y * stride, (y + 1) * stride);
    const above = y > 0 ? raw.subarray((y - 1) * stride, y * stride) : null;
    let bestCost = Infinity;
    for (const type of [0, 1, 2]) {
      let cost = 0;
      for (let i = 0; i < stride; i++) {
        const left = i >= bpp ? row[i - bpp]! : 0;
        const up = above ? above[i]! : 0;
        const v = (row[i]! - (type === 1 ? left : type === 2 ? up : 0)) & 0xff;
        candidate[i] = v;
        cost += v < 128 ? v : 256 - v;
      }
      if (cost < bestCost) {
        bestCost = cost;
        filtered[y * (stride + 1)] = type;
        filtered.set(candidate, y * (stride + 1) + 1);
      }
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per channel
  header[9] = colourType;
  // compression 0, filter method 0, no interlace: header[10..12] stay 0
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(filtered, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/**
 * The PNG of an 8-bit RGBA picture (row-major, `width × height × 4` bytes) as a `data:` URL, the
 * form a figure's `image` mark carries (and the only URL `assertSafeSvg` lets a figure hold).
 *
 * @example
 * ```ts
 * const url = pngDataUrl(2, 1, Uint8Array.from([0, 0, 0, 255, 255, 255, 255, 255])); // black, white
 * console.log(url.startsWith('data:image/png;base64,'));                               // true
 * ```
 */
export function pngDataUrl(width: number, height: number, rgba: Uint8Array): string {
  return `data:image/png;base64,${encodePng(width, height, rgba).toString('base64')}`;
}

/** Parses the colours Vega's schemes give (`rgb(r, g, b)` or `#rrggbb`). */
function parseColour(css: string): Rgba {
  const rgb = /^rgb\(\s*(\d+),\s*(\d+),\s*(\d+)\s*\)$/.exec(css);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3]), 255];
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(css);
  if (hex) return [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16), parseInt(hex[3]!, 16), 255];
  throw new Error(`cannot read the colour "${css}"`);
}

/**
 * The colour a Vega-Lite quantitative scale with `scheme` and domain [0, 1] gives to `t`: the
 * scheme's interpolator at t, so that the picture's cells match the vector legend drawn beside it.
 */
export function schemeColour(scheme: string): (t: number) => Rgba {
  const interpolate = vega.scheme(scheme) as unknown;
  if (typeof interpolate !== 'function') throw new Error(`"${scheme}" is not a continuous Vega colour scheme`);
  return (t) => parseColour(String((interpolate as (t: number) => string)(Math.min(1, Math.max(0, t)))));
}

/**
 * A picture of a `rows × cols` grid, one pixel per cell, `colourOf(r, c)` giving each cell's colour
 * (row 0 at the top).
 */
export function gridPicture(rows: number, cols: number, colourOf: (r: number, c: number) => Rgba): string {
  const rgba = new Uint8Array(rows * cols * 4);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) rgba.set(colourOf(r, c), (r * cols + c) * 4);
  return pngDataUrl(cols, rows, rgba);
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * A picture of rectangles tiling a `rows × cols` grid (integer edges, such as the blocks of a mask
 * picture), at the coarsest resolution that draws every edge exactly: one pixel per g × h cells,
 * g and h the greatest common divisors of the row and column edges.
 */
export function blockPicture(
  rows: number,
  cols: number,
  blocks: ReadonlyArray<{ r0: number; r1: number; c0: number; c1: number; colour: Rgba }>,
): string {
  let gr = rows;
  let gc = cols;
  for (const b of blocks) {
    gr = gcd(gcd(gr, b.r0), b.r1);
    gc = gcd(gcd(gc, b.c0), b.c1);
  }
  const h = rows / gr;
  const w = cols / gc;
  const rgba = new Uint8Array(w * h * 4);
  for (const b of blocks)
    for (let r = b.r0 / gr; r < b.r1 / gr; r++)
      for (let c = b.c0 / gc; c < b.c1 / gc; c++) rgba.set(b.colour, (r * w + c) * 4);
  return pngDataUrl(w, h, rgba);
}
