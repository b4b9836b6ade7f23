/**
 * What a figure may hold, checked by parsing the SVG (not by matching its text), and the raster
 * pictures of the dense figures (masks, per-neuron spectra).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReportError, assertSafeSvg, createReport, renderSvg, reportHtml, reportMarkdown } from '../src/index.js';
import { blockPicture, encodePng, gridPicture, pngDataUrl, schemeColour, TRANSPARENT } from '../src/raster.js';
import { makeRun, prefixMasks, tmp } from './fixtures.js';
import { decodePng, pngOfDataUrl } from './png.js';

const escapedText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

describe('report figures are checked by parsing the SVG', () => {
  it('a run named <img src=x onerror=alert(1)> is escaped and reported', async () => {
    const name = '<img src=x onerror=alert(1)>';
    const dir = await makeRun(path.join(tmp(), name), {
      testAcc: [0, 0.5, 1],
      masks: prefixMasks(12),
      entropy: [3.4, 3],
    });
    const report = await createReport([dir]);
    expect(report.data.runs.map((r) => r.name)).toEqual([name]);
    expect(report.figures.map((f) => f.id)).toContain('mask-img-src-x-onerror-alert-1');
    // the name is drawn as text in the figures (legends, titles), escaped, and never as markup
    expect(report.figures.some((f) => f.svg.includes(escapedText(name)))).toBe(true);
    for (const f of report.figures) {
      expect(f.svg).not.toContain('<img');
      assertSafeSvg(f.svg);
    }
    const html = reportHtml(report);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    const { markdown } = reportMarkdown(report, 'r');
    expect(markdown).not.toContain('<img');
    expect(markdown).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('a run named "grok onset=2000" is reported (text that looks like an event handler is text)', async () => {
    const name = 'grok onset=2000';
    const dir = await makeRun(path.join(tmp(), name), {
      testAcc: [0, 0.5, 1],
      masks: prefixMasks(12),
      entropy: [3.4, 3],
    });
    const report = await createReport([dir]);
    expect(report.data.runs.map((r) => r.name)).toEqual([name]);
    expect(report.figures.length).toBeGreaterThanOrEqual(6);
    const withName = report.figures.filter((f) => f.svg.includes(`>${name}<`));
    expect(withName.length).toBeGreaterThan(0);
    // a text search for " on…=" finds it; the parsed document has no such attribute
    expect(withName[0]!.svg).toMatch(/\son[a-z]+\s*=/i);
    expect(reportHtml(report)).toContain('grok onset=2000');
  });

  const SVG = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"';
  const PNG = pngDataUrl(1, 1, Uint8Array.from([10, 20, 30, 255]));
  const base = (inner: string, attrs = '') => `<svg ${SVG} width="10" height="10"${attrs}>${inner}</svg>`;

  it('passes what Vega draws, a picture, fragment references and text that looks like markup', async () => {
    const svg = await renderSvg({
      data: { values: [{ x: 1, y: 2, run: '<script>alert(1)</script> onload=x href="http://e"' }] },
      mark: 'point',
      encoding: {
        x: { field: 'x', type: 'quantitative' },
        y: { field: 'y', type: 'quantitative' },
        color: { field: 'run', type: 'nominal' },
      },
    });
    expect(svg).toContain('&lt;script&gt;');
    expect(() => assertSafeSvg(svg)).not.toThrow();
    expect(() =>
      assertSafeSvg(
        base(
          `<defs><linearGradient id="g1"><stop offset="0" stop-color="#fff"/></linearGradient><clipPath id="c1"><rect width="1" height="1"/></clipPath></defs>` +
            `<g clip-path="url(#c1)"><path d="M0,0h5v5h-5Z" fill="url(#g1)"/><image xlink:href="${PNG}" width="5" height="5" preserveAspectRatio="none" style="image-rendering: optimizeSpeed; image-rendering: pixelated;"/></g>` +
            `<text aria-label="a \\ b">onload="x" &lt;script&gt;</text>`,
        ),
      ),
    ).not.toThrow();
  });

  it.each([
    ['a script element', base('<script>alert(1)</script>'), /an element <script>/],
    [
      'a script in a foreign namespace',
      base('<h:script xmlns:h="http://www.w3.org/1999/xhtml">x</h:script>'),
      /namespace/,
    ],
    [
      'an on* attribute',
      base('<rect width="1" height="1"/>', ' onload="alert(1)"'),
      /an event handler onload= on <svg>/,
    ],
    ['an on* attribute on a mark', base('<path d="M0,0" onmouseover="alert(1)"/>'), /an event handler onmouseover=/],
    [
      'an external href',
      base('<image href="https://example.org/x.png" width="1" height="1"/>'),
      /external reference href=/,
    ],
    [
      'an external xlink:href',
      base('<image xlink:href="http://example.org/x.png"/>'),
      /external reference xlink:href=/,
    ],
    [
      'a data URL that is not PNG',
      base('<image xlink:href="data:image/svg+xml;base64,PHN2Zz4="/>'),
      /external reference/,
    ],
    ['a PNG data URL outside <image>', base(`<pattern id="p" xlink:href="${PNG}"/>`), /external reference/],
    ['a javascript: link', base('<a xlink:href="javascript:alert(1)"><text>x</text></a>'), /an element <a>/],
    ['a use of another document', base('<use href="https://example.org/s.svg#a"/>'), /an element <use>/],
    ['an animation setting href', base('<set attributeName="href" to="javascript:alert(1)"/>'), /an element <set>/],
    ['foreign content', base('<foreignObject><p>x</p></foreignObject>'), /an element <foreignObject>/],
    ['a style element', base('<style>@import url(https://example.org/a.css);</style>'), /an element <style>/],
    [
      'a url() paint to another document',
      base('<rect fill="url(https://example.org/p.svg#g)"/>'),
      /external reference fill=/,
    ],
    ['a url() in a style', base('<rect style="fill: url(https://example.org/x)"/>'), /a style/],
    ['a CSS escape', base('<rect fill="u\\72 l(https://example.org/x)"/>'), /a backslash in fill=/],
    ['an unknown attribute', base('<rect formaction="x"/>'), /an attribute formaction= on <rect>/],
    ['a comment', base('<!-- --><rect/>'), /a comment/],
    [
      'a processing instruction',
      `<?xml-stylesheet href="https://example.org/s.css"?>${base('')}`,
      /processing instruction/,
    ],
    ['a doctype with an entity', `<!DOCTYPE svg [<!ENTITY e "x">]>${base('')}`, /a doctype/],
    ['CDATA', base('<text><![CDATA[<script>alert(1)</script>]]></text>'), /a CDATA section/],
    ['a root that is not <svg>', `<g xmlns="http://www.w3.org/2000/svg"/>`, /a root element <g>/],
    ['malformed XML', base('<g>'), /malformed XML/],
    ['no markup at all', 'not svg', /malformed XML|no <svg>/],
  ])('refuses %s', (_what, svg, why) => {
    let err: unknown = null;
    try {
      assertSafeSvg(svg);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReportError);
    expect((err as Error).message).toMatch(why);
    expect((err as Error).message).toMatch(/^a rendered figure holds .*; refusing to write it$/);
    expect((err as Error).message).not.toContain('\n');
  });

  it('renderSvg refuses a figure that asks for an image by URL', async () => {
    await expect(
      renderSvg({
        data: { values: [{ x: 1, y: 1, url: 'https://example.org/x.png' }] },
        mark: { type: 'image', width: 5, height: 5 },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          y: { field: 'y', type: 'quantitative' },
          url: { field: 'url', type: 'nominal' },
        },
      }),
    ).rejects.toThrow(/external reference xlink:href=""/);
  });
});

describe('raster pictures of the dense figures', () => {
  it('encodes PNGs that an independent reader decodes to the same pixels, in each colour type', () => {
    const w = 7;
    const h = 5;
    const cases: Record<string, (x: number, y: number) => number[]> = {
      grey: (x) => [x * 30, x * 30, x * 30, 255],
      'grey + alpha': (x, y) => [y * 40, y * 40, y * 40, x === 3 ? 0 : 255],
      rgb: (x, y) => [x * 30, y * 50, (x * y * 17) % 256, 255],
      rgba: (x, y) => [x * 30, y * 50, 200, (x + y) % 2 ? 128 : 255],
    };
    const types: Record<string, number> = { grey: 0, 'grey + alpha': 4, rgb: 2, rgba: 6 };
    for (const [name, f] of Object.entries(cases)) {
      const rgba = new Uint8Array(w * h * 4);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgba.set(f(x, y), (y * w + x) * 4);
      const decoded = decodePng(encodePng(w, h, rgba));
      expect(decoded.colourType, name).toBe(types[name]);
      expect([decoded.width, decoded.height], name).toEqual([w, h]);
      expect(Array.from(decoded.rgba), name).toEqual(Array.from(rgba));
      expect(pngOfDataUrl(pngDataUrl(w, h, rgba))).toEqual(encodePng(w, h, rgba));
    }
    expect(() => encodePng(2, 2, new Uint8Array(15))).toThrow(/needs 16 bytes/);
    expect(() => encodePng(0, 2, new Uint8Array(0))).toThrow(/positive integer size/);
  });

  it("the pictures' colours are the ones Vega gives the same values (greys for masks, blues for spectra)", async () => {
    const values = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1];
    for (const scheme of ['greys', 'blues']) {
      const svg = await renderSvg({
        data: { values: values.map((v, i) => ({ i, v })) },
        mark: 'rect',
        encoding: {
          x: { field: 'i', type: 'ordinal' },
          color: { field: 'v', type: 'quantitative', scale: { domain: [0, 1], scheme } },
        },
      });
      const fills = [...svg.matchAll(/<g class="mark-rect role-mark[^>]*>(.*?)<\/g>/gs)]
        .flatMap((g) => [...g[1]!.matchAll(/fill="(rgb\([^)]*\))"/g)])
        .map((m) => m[1]);
      const colour = schemeColour(scheme);
      expect(fills, scheme).toEqual(values.map((v) => `rgb(${colour(v).slice(0, 3).join(', ')})`));
    }
  });

  it('a grid picture has one pixel per cell, row 0 on top; blank cells are transparent', () => {
    const url = gridPicture(3, 2, (r, c) => (r === 1 && c === 0 ? TRANSPARENT : [r * 100, c * 100, 7, 255]));
    const { width, height, rgba } = decodePng(pngOfDataUrl(url));
    expect([width, height]).toEqual([2, 3]);
    expect(Array.from(rgba.subarray(0, 8))).toEqual([0, 0, 7, 255, 0, 100, 7, 255]);
    expect(Array.from(rgba.subarray(8, 12))).toEqual([0, 0, 0, 0]);
    expect(Array.from(rgba.subarray(20, 24))).toEqual([200, 100, 7, 255]);
  });

  it('a block picture draws uneven blocks exactly, at the coarsest resolution that can', () => {
    // 10 rows in blocks of 4, 4, 2; 6 columns in blocks of 3, 3: one pixel per 2 rows × 3 columns
    const g = (v: number): [number, number, number, number] => [v, v, v, 255];
    const blocks = [
      { r0: 0, r1: 4, c0: 0, c1: 3, colour: g(0) },
      { r0: 0, r1: 4, c0: 3, c1: 6, colour: g(50) },
      { r0: 4, r1: 8, c0: 0, c1: 3, colour: g(100) },
      { r0: 4, r1: 8, c0: 3, c1: 6, colour: g(150) },
      { r0: 8, r1: 10, c0: 0, c1: 3, colour: g(200) },
      { r0: 8, r1: 10, c0: 3, c1: 6, colour: g(250) },
    ];
    const { width, height, colourType, rgba } = decodePng(pngOfDataUrl(blockPicture(10, 6, blocks)));
    expect([width, height, colourType]).toEqual([2, 5, 0]);
    expect(Array.from({ length: 10 }, (_, p) => rgba[p * 4])).toEqual([0, 50, 0, 50, 100, 150, 100, 150, 200, 250]);
  });

  it('a mask figure is a few kilobytes: a 500 × 67 mask', async () => {
    const { maskBlocks } = await import('../src/index.js');
    const mask = Float32Array.from({ length: 500 * 67 }, (_, i) => ((i * 2654435761) % 97 < 40 ? 1 : 0));
    const greys = schemeColour('greys');
    const blocks = maskBlocks(mask, [500, 67]).map((b) => ({ ...b, colour: greys(b.kept) }));
    const url = blockPicture(500, 67, blocks);
    const { width, height } = decodePng(pngOfDataUrl(url));
    expect([width, height]).toEqual([67, 125]); // blocks of 16 rows (4 at the end) × 3 columns (1 at the end)
    expect(url.length).toBeLessThan(8000);
  });
});
