/**
 * A PNG reader for the tests, written from the PNG specification and independent of the encoder:
 * every chunk's CRC is checked with Node's own `zlib.crc32`, the image data is inflated with zlib,
 * every filter type (None, Sub, Up, Average, Paeth) is undone, and 8-bit grey, grey + alpha, RGB and
 * RGBA are expanded to RGBA.
 */
import zlib from 'node:zlib';

export interface DecodedPng {
  width: number;
  height: number;
  colourType: number;
  rgba: Uint8Array;
}

/** The bytes of a `data:image/png;base64,…` URL. */
export function pngOfDataUrl(url: string): Buffer {
  const m = /^data:image\/png;base64,([A-Za-z0-9+/]+=*)$/.exec(url);
  if (!m) throw new Error(`not a PNG data URL: ${url.slice(0, 40)}`);
  return Buffer.from(m[1]!, 'base64');
}

export function decodePng(png: Buffer): DecodedPng {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!signature.every((b, i) => png[i] === b)) throw new Error('no PNG signature');
  let pos = 8;
  let header: Buffer | null = null;
  const idat: Buffer[] = [];
  let ended = false;
  while (pos < png.length) {
    const length = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + length);
    const crc = png.readUInt32BE(pos + 8 + length);
    if (zlib.crc32(png.subarray(pos + 4, pos + 8 + length)) !== crc) throw new Error(`bad CRC in ${type}`);
    if (type === 'IHDR') header = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') ended = true;
    else throw new Error(`unexpected chunk ${type}`);
    pos += 12 + length;
  }
  if (!header || !ended || pos !== png.length) throw new Error('truncated PNG');
  const width = header.readUInt32BE(0);
  const height = header.readUInt32BE(4);
  const [depth, colourType, compression, filter, interlace] = [...header.subarray(8, 13)];
  if (depth !== 8 || compression !== 0 || filter !== 0 || interlace !== 0) throw new Error('unsupported PNG header');
  const bpp = { 0: 1, 4: 2, 2: 3, 6: 4 }[colourType as 0 | 4 | 2 | 6];
  if (!bpp) throw new Error(`unsupported colour type ${colourType}`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  if (raw.length !== height * (stride + 1)) throw new Error('wrong amount of image data');
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const type = raw[y * (stride + 1)]!;
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= bpp ? out[y * stride + i - bpp]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + i]! : 0;
      const c = i >= bpp && y > 0 ? out[(y - 1) * stride + i - bpp]! : 0;
      let predictor: number;
      if (type === 0) predictor = 0;
      else if (type === 1) predictor = a;
      else if (type === 2) predictor = b;
      else if (type === 3) predictor = Math.floor((a + b) / 2);
      else if (type === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else throw new Error(`bad filter type ${type}`);
      out[y * stride + i] = (x + predictor) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const s = out.subarray(p * bpp, (p + 1) * bpp);
    const grey = bpp <= 2;
    rgba[p * 4] = s[0]!;
    rgba[p * 4 + 1] = grey ? s[0]! : s[1]!;
    rgba[p * 4 + 2] = grey ? s[0]! : s[2]!;
    rgba[p * 4 + 3] = bpp === 2 ? s[1]! : bpp === 4 ? s[3]! : 255;
  }
  return { width, height, colourType, rgba };
}
