#!/usr/bin/env node
// Shrinks report figures written before dense figures became pictures: in each SVG given, every
// Vega rect mark group that is a grid of plain cells (`<path d="Mx,yhWvHh-WZ" fill="rgb(…)"/>`, one
// per mask block or neuron × frequency) becomes one <image> holding the cells as a PNG data: URL,
// at the coarsest resolution that draws every cell edge exactly; axes, titles and legends are left
// as they are. The result is checked with the report's own `assertSafeSvg` and written atomically.
//   node tools/repo-scripts/svg-rect-grid-to-png.mjs <file.svg>...
// For figures whose run folders are at hand, `npm run docs:figures` draws them anew instead.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertSafeSvg, pngDataUrl } from '@grokking-tickets/report';

const NUM = '(-?[\\d.]+(?:e-?\\d+)?)';
const CELL = new RegExp(`^<path d="M${NUM},${NUM}h${NUM}v${NUM}h-?${NUM}Z" fill="rgb\\((\\d+), (\\d+), (\\d+)\\)"/>$`);
const GROUP = /(<g class="mark-rect role-mark[^"]*"[^>]*>)((?:<path [^>]*\/>)+)(<\/g>)/g;

/**
 * The pixel size that puts every edge on a pixel boundary: the smallest gap between edges, or a
 * whole fraction of it (down to 1/64), or null when the edges are not on a common grid.
 */
function unitOf(edges) {
  const sorted = [...new Set(edges.map((e) => Math.round(e * 1e6) / 1e6))].sort((a, b) => a - b);
  if (sorted.length < 2) return null;
  let gap = Infinity;
  for (let i = 1; i < sorted.length; i++) gap = Math.min(gap, sorted[i] - sorted[i - 1]);
  for (let k = 1; k <= 64; k++) {
    const u = gap / k;
    if (sorted.every((e) => Math.abs((e - sorted[0]) / u - Math.round((e - sorted[0]) / u)) < 1e-3)) return u;
  }
  return null;
}

/** The group's cells as one picture, or null when it is not a grid of plain cells. */
function pictureOf(paths) {
  const cells = [];
  for (const p of paths) {
    const m = CELL.exec(p);
    if (!m) return null;
    const [x, y, w, h] = m.slice(1, 5).map(Number);
    cells.push({ x, y, w, h, rgb: m.slice(6, 9).map(Number) });
  }
  if (cells.length < 2) return null;
  const ux = unitOf(cells.flatMap((c) => [c.x, c.x + c.w]));
  const uy = unitOf(cells.flatMap((c) => [c.y, c.y + c.h]));
  if (!ux || !uy) return null;
  const x0 = Math.min(...cells.map((c) => c.x));
  const y0 = Math.min(...cells.map((c) => c.y));
  const x1 = Math.max(...cells.map((c) => c.x + c.w));
  const y1 = Math.max(...cells.map((c) => c.y + c.h));
  const width = Math.round((x1 - x0) / ux);
  const height = Math.round((y1 - y0) / uy);
  const rgba = new Uint8Array(width * height * 4); // cells left out stay transparent
  for (const c of cells) {
    const [c0, c1] = [c.x, c.x + c.w].map((v) => Math.round((v - x0) / ux));
    const [r0, r1] = [c.y, c.y + c.h].map((v) => Math.round((v - y0) / uy));
    for (let r = r0; r < r1; r++) for (let col = c0; col < c1; col++) rgba.set([...c.rgb, 255], (r * width + col) * 4);
  }
  const round = (v) => Math.round(v * 1e6) / 1e6;
  return (
    `<image xlink:href="${pngDataUrl(width, height, rgba)}" transform="translate(${round(x0)},${round(y0)})" ` +
    `width="${round(x1 - x0)}" height="${round(y1 - y0)}" preserveAspectRatio="none" ` +
    'style="image-rendering: optimizeSpeed; image-rendering: pixelated;"/>'
  );
}

/** Replaces every rect grid of an SVG figure by a picture; returns the new SVG and how many grids it replaced. */
export function rasterizeRectGrids(svg) {
  let grids = 0;
  const out = svg.replace(GROUP, (whole, open, body, close) => {
    const image = pictureOf(body.match(/<path [^>]*\/>/g));
    if (!image) return whole;
    grids++;
    const group = open
      .replace('mark-rect role-mark', 'mark-image role-mark')
      .replace('rect mark container', 'image mark container');
    return group + image + close;
  });
  if (grids) assertSafeSvg(out);
  return { svg: out, grids };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node tools/repo-scripts/svg-rect-grid-to-png.mjs <file.svg>...');
    process.exit(2);
  }
  let status = 0;
  for (const file of files) {
    try {
      const before = fs.readFileSync(file, 'utf8');
      const { svg, grids } = rasterizeRectGrids(before);
      if (grids === 0) {
        console.log(`${file}: no rect grid, left as it is (${Buffer.byteLength(before)} bytes)`);
        continue;
      }
      const tmp = `${file}.${process.pid}.partial`;
      fs.writeFileSync(tmp, svg);
      fs.renameSync(tmp, file);
      console.log(
        `${file}: ${grids} rect grids -> pictures, ${Buffer.byteLength(before)} -> ${Buffer.byteLength(svg)} bytes`,
      );
    } catch (e) {
      console.error(`${file}: ${e.message}`);
      status = 1;
    }
  }
  process.exit(status);
}
