/**
 * The report in a real browser: headless Chromium (Debian's `chromium` package, driven by
 * playwright-core) opens report.html (a ticket experiment, a run and a sweep folder) from disk; every request the page
 * makes is counted (only the
 * file itself may load), every figure must have drawn non-empty SVG marks, every raster picture (the
 * masks and spectra are PNG data: URLs) must decode in Chromium to the pixels the PNG holds, no
 * script may run, and a screenshot is saved. Without Chromium the test is skipped with a message saying how to install
 * it. GT_BROWSER_REPORT=<report.html> checks that report instead of the fixture's, and
 * GT_BROWSER_SCREENSHOT=<file.png> says where the screenshot goes (default: the temp folder).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createReport, writeReport } from '../src/index.js';
import { makeExperiment, makeRatesSweep, makeRun, prefixMasks, tmp } from './fixtures.js';
import { decodePng, pngOfDataUrl } from './png.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
if (!available) {
  console.warn(
    `browser test skipped: no Chromium at ${CHROMIUM}; install it with \`apt-get install chromium\` (Debian), or set CHROMIUM_PATH`,
  );
}

// Without the background-networking flags Chromium tries to reach its own services at start.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe.skipIf(!available)('report.html in headless Chromium', () => {
  it('opens offline: one request (the file), every figure drawn, no script run; screenshot saved', async () => {
    let file = process.env.GT_BROWSER_REPORT;
    if (!file) {
      const root = tmp('gt-browser-');
      const exp = await makeExperiment(path.join(root, 'exp'));
      const evil = await makeRun(path.join(root, `<script>window.__pwned=1;</b>`.replace('/', '')), {
        testAcc: [0, 0.4, 1],
        masks: prefixMasks(30),
        entropy: [3.4, 3.1],
      });
      const sweep = makeRatesSweep(path.join(root, 'sweep'));
      file = path.join(root, 'report.html');
      writeReport(await createReport([exp, evil, sweep, path.join(root, 'not-a-run')]), file);
    }
    const screenshot = process.env.GT_BROWSER_SCREENSHOT ?? path.join(path.dirname(file), 'report-screenshot.png');
    const context = await chromium.launchPersistentContext(tmp('gt-chromium-profile-'), {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 1600 },
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const requests: string[] = [];
      context.on('request', (r) => requests.push(r.url()));
      const consoleErrors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
      const url = pathToFileURL(path.resolve(file)).href;
      await page.goto(url, { waitUntil: 'load' });
      // Chromium's decoding of every raster picture, read back through a canvas.
      const pictures = await page.evaluate(async () => {
        const hrefs = [...document.querySelectorAll('figure.plot svg image')].map(
          (el) => el.getAttributeNS('http://www.w3.org/1999/xlink', 'href') ?? '',
        );
        return Promise.all(
          hrefs.map(async (href) => {
            const img = new Image();
            img.src = href;
            await img.decode();
            const canvas = document.createElement('canvas');
            canvas.width = img.naturalWidth;
            canvas.height = img.naturalHeight;
            const ctx = canvas.getContext('2d')!;
            ctx.drawImage(img, 0, 0);
            const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
            return { href, width: canvas.width, height: canvas.height, pixels: Array.from(pixels) };
          }),
        );
      });
      const result = await page.evaluate(() => {
        const figures = [...document.querySelectorAll('figure.plot')];
        return {
          pwned: (window as unknown as { __pwned?: unknown }).__pwned ?? null,
          scripts: document.querySelectorAll('script').length,
          figures: figures.map((f) => {
            const svg = f.querySelector('svg');
            // Drawn items of the data marks (not axes or legends), with a non-empty box.
            const items = svg
              ? [
                  ...svg.querySelectorAll(
                    'g.role-mark > path, g.role-mark > rect, g.role-mark > line, g.role-mark > circle, g.role-mark > image',
                  ),
                ]
              : [];
            const drawn = items.filter((el) => {
              const b = (el as SVGGraphicsElement).getBBox();
              return (b.width > 0 || b.height > 0) && el.getAttribute('opacity') !== '0';
            });
            const box = svg?.getBoundingClientRect();
            return {
              id: f.id,
              items: items.length,
              drawn: drawn.length,
              width: box?.width ?? 0,
              height: box?.height ?? 0,
            };
          }),
        };
      });
      fs.mkdirSync(path.dirname(screenshot), { recursive: true });
      await page.screenshot({ path: screenshot, fullPage: true });
      expect(requests).toEqual([url]);
      expect(consoleErrors).toEqual([]);
      expect(result.pwned).toBeNull();
      expect(result.scripts).toBe(0);
      expect(result.figures.length).toBeGreaterThanOrEqual(6);
      if (!process.env.GT_BROWSER_REPORT) {
        expect(result.figures.map((f) => f.id)).toEqual([
          'fig-sweep-rates-speedup',
          'fig-sweep-rates-steps',
          'fig-sweep-rates-final-test-accuracy',
          'fig-accuracy',
          'fig-loss',
          'fig-norms',
          'fig-frequency',
          'fig-spectrum-neurons',
          'fig-spectrum-summed',
          'fig-mask-exp-ticket',
          'fig-mask-exp-random',
          'fig-mask-script-window-pwned-1-b',
        ]);
      }
      for (const f of result.figures) {
        expect(f.drawn, `${f.id}: drawn marks`).toBeGreaterThan(0);
        expect(f.width * f.height, `${f.id}: size`).toBeGreaterThan(10000);
      }
      expect(fs.statSync(screenshot).size).toBeGreaterThan(10000);
      // spectra: 5 runs × 2 sides; masks: 3 runs × 4 tensors
      if (!process.env.GT_BROWSER_REPORT) expect(pictures.length).toBe(5 * 2 + 3 * 4);
      for (const p of pictures) {
        const png = decodePng(pngOfDataUrl(p.href));
        expect([p.width, p.height]).toEqual([png.width, png.height]);
        expect(p.pixels).toEqual(Array.from(png.rgba));
      }
      console.log(
        `browser test: ${result.figures.length} figures drawn, ${pictures.length} pictures decoded, 1 request; screenshot ${screenshot}`,
      );
    } finally {
      await context.close();
    }
  });
});
