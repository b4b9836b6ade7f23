import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertSafeSvg, renderSvg } from '@grokking-tickets/report';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { DOC_REPORTS, drawDocFigures, missingFolders, unlinkedFigures } from '../docs-figures.mjs';
// @ts-expect-error plain ESM script without types
import { rasterizeRectGrids } from '../svg-rect-grid-to-png.mjs';
// The report package's own fixtures (run folders written in the run-store format) and PNG reader.
import { makeRun, prefixMasks } from '../../../packages/report/test/fixtures.js';
import { decodePng, pngOfDataUrl } from '../../../packages/report/test/png.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gt-docs-figures-'));

interface DocReport {
  doc: string;
  folders: string[];
  title?: string;
  make: string;
}
const entries = DOC_REPORTS as DocReport[];

describe('docs:figures', () => {
  it('knows every report the docs hold, and how to make the folders of each', () => {
    const made = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
        const p = path.join(dir, d.name);
        if (d.isDirectory()) return made(p);
        if (!d.name.endsWith('.md')) return [];
        return /^Made by `grokking-tickets report`/m.test(fs.readFileSync(p, 'utf8')) ? [path.relative(ROOT, p)] : [];
      });
    expect(entries.map((e) => e.doc).sort()).toEqual(made(path.join(ROOT, 'docs')).sort());
    for (const e of entries) {
      expect(e.folders.length, e.doc).toBeGreaterThan(0);
      for (const f of e.folders) expect(f, e.doc).toMatch(/^(runs|sweeps)\/[a-z0-9-]+$/);
      // the sweep files the commands name exist
      for (const m of e.make.matchAll(/examples\/paper\/[a-z0-9-]+\.yaml/g))
        expect(fs.existsSync(path.join(ROOT, m[0])), m[0]).toBe(true);
      // a title given here is the one the committed report has
      if (e.title) expect(fs.readFileSync(path.join(ROOT, e.doc), 'utf8').split('\n')[0]).toBe(`# ${e.title}`);
    }
  });

  it('the docs keep only figures that a Markdown file links', () => {
    expect(unlinkedFigures(path.join(ROOT, 'docs'))).toEqual([]);
  });

  it('names each missing folder with the command that makes it', () => {
    const from = tmp();
    fs.mkdirSync(path.join(from, 'runs', 'ticket-f60062f292'), { recursive: true });
    const e7 = entries.filter((e) => e.doc === 'docs/paper/e7-fourier.md');
    expect(missingFolders(e7, from)).toEqual(
      ['runs/ticket-22554bde54', 'runs/ticket-be6bbc04e2'].map(
        (f) =>
          `docs/paper/e7-fourier.md needs ${f}, which is missing in ${from}; make it with: npx grokking-tickets sweep examples/paper/e7-fourier.yaml --jobs 2`,
      ),
    );
  });

  it('draws a report from its folders: Markdown and small figures, paths as the commands show them; stale figures go', async () => {
    const root = tmp();
    const from = tmp();
    await makeRun(path.join(from, 'runs', 'r0'), { testAcc: [0, 0.5, 1], masks: prefixMasks(12), entropy: [3.4, 3] });
    fs.mkdirSync(path.join(root, 'docs', 'paper'), { recursive: true });
    fs.writeFileSync(path.join(root, 'docs', 'paper', 'x-old-figure.svg'), '<svg/>');
    fs.writeFileSync(path.join(root, 'docs', 'kept.md'), '![a](kept.svg)\n');
    fs.writeFileSync(path.join(root, 'docs', 'kept.svg'), '<svg/>');
    const entry = { doc: 'docs/paper/x.md', folders: ['runs/r0'], title: 'X', make: 'train it' };
    const logs: string[] = [];
    const { written, removed } = await drawDocFigures([entry], { root, from, log: (m: string) => logs.push(m) });
    const md = fs.readFileSync(path.join(root, 'docs/paper/x.md'), 'utf8');
    expect(md.split('\n')[0]).toBe('# X');
    expect(md).toContain('| r0 | runs/r0 |');
    expect(written.length).toBeGreaterThan(6);
    for (const f of written.slice(1)) {
      expect(md).toContain(`](${path.basename(f)})`);
      const svg = fs.readFileSync(f, 'utf8');
      assertSafeSvg(svg);
      expect(svg.length, f).toBeLessThan(100_000);
    }
    expect(fs.readFileSync(path.join(root, 'docs/paper/x-mask-r0.svg'), 'utf8')).toContain('<image ');
    expect(removed).toEqual([path.join(root, 'docs', 'paper', 'x-old-figure.svg')]);
    expect(fs.existsSync(path.join(root, 'docs', 'kept.svg'))).toBe(true);
    expect(logs[0]).toMatch(/^docs\/paper\/x\.md: \d+ figures, \d+ KB with the Markdown$/);
  });
});

describe('svg-rect-grid-to-png', () => {
  it('turns a rect grid drawn by Vega into one picture with the same cells, leaving the rest', async () => {
    // 5 rows × 3 columns of uneven blocks, as an old mask figure drew them: one rect per block
    const rows = [0, 2, 4, 5];
    const cols = [0, 1, 3];
    const cells = rows
      .slice(0, -1)
      .flatMap((r0, i) =>
        cols.slice(0, -1).map((c0, j) => ({ r0, r1: rows[i + 1], c0, c1: cols[j + 1], kept: (i * 2 + j) / 5 })),
      );
    const old = await renderSvg({
      config: { aria: false }, // as report figures are drawn: no per-item labels
      width: 150,
      height: 150,
      data: { values: cells },
      mark: 'rect',
      encoding: {
        x: { field: 'c0', type: 'quantitative', scale: { domain: [0, 3], nice: false } },
        x2: { field: 'c1' },
        y: { field: 'r0', type: 'quantitative', scale: { domain: [0, 5], nice: false, reverse: true } },
        y2: { field: 'r1' },
        color: { field: 'kept', type: 'quantitative', scale: { domain: [0, 1], scheme: 'greys' } },
      },
    });
    const fills = [...old.matchAll(/<path d="M[^"]*" fill="rgb\((\d+), (\d+), (\d+)\)"\/>/g)].map((m) => Number(m[1]));
    expect(fills).toHaveLength(6);
    const { svg, grids } = rasterizeRectGrids(old);
    expect(grids).toBe(1);
    expect(svg).not.toMatch(/<path d="M[^"]*" fill="rgb/);
    expect(svg).toContain('<g class="mark-image role-mark');
    // the legend and axes are untouched
    expect(svg.replace(/<g class="mark-image.*?<\/g>/s, '')).toBe(
      old.replace(/<g class="mark-rect role-mark.*?<\/g>/s, ''),
    );
    const href = /xlink:href="([^"]+)"/.exec(svg)![1]!;
    const png = decodePng(pngOfDataUrl(href));
    // one pixel per unit: the edges 0, 2, 4, 5 and 0, 1, 3 fall on a 1 × 1 grid
    expect([png.width, png.height]).toEqual([3, 5]);
    const at = (r: number, c: number) => png.rgba[(r * 3 + c) * 4];
    expect([at(0, 0), at(0, 1), at(0, 2), at(2, 0), at(4, 1)]).toEqual([
      fills[0],
      fills[1],
      fills[1],
      fills[2],
      fills[5],
    ]);
    expect(svg).toMatch(/transform="translate\(0,0\)" width="150" height="150" preserveAspectRatio="none"/);
    // a figure with no rect grid is left as it is
    expect(rasterizeRectGrids(svg)).toEqual({ svg, grids: 0 });
  });
});
