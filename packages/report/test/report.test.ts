import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ReportError,
  buildReport,
  createReport,
  escapeMarkdown,
  listSourceKinds,
  loadReportData,
  maskBlocks,
  neuronSpectrum,
  registerSourceKind,
  reportHtml,
  reportMarkdown,
  halfwayStep,
  settlingStep,
  tokenMatrices,
  writeReport,
} from '../src/index.js';
import {
  D_MODEL,
  TOTAL,
  makeExperiment,
  makeRun,
  makeSweepExperiment,
  periodicWeights,
  prefixMasks,
  tmp,
} from './fixtures.js';

/**
 * Vega's SVG puts each mark set in a `<g class="mark-… role-mark …">`; count the visible items inside (raster pictures
 * included; the invisible rects that carry a picture's legend are not).
 */
const markItems = (svg: string) =>
  (svg.match(/<g class="mark-[a-z]+ role-mark[^"]*"[^>]*>(.*?)<\/g>/gs) ?? []).reduce(
    (n, g) =>
      n + (g.match(/<(path|line|rect|circle|image)\b[^>]*>/g) ?? []).filter((e) => !/ opacity="0"/.test(e)).length,
    0,
  );

describe('pure pieces', () => {
  it('settlingStep: first step from which the value stays within 10 % of its total change', () => {
    // change 3.45 → 3.25 = 0.2; band 0.02: 3.26 (step 2000) is within, 3.30 (1000) is not
    expect(
      settlingStep([
        { step: 0, value: 3.45 },
        { step: 1000, value: 3.3 },
        { step: 2000, value: 3.26 },
        { step: 3000, value: 3.25 },
      ]),
    ).toBe(2000);
    // a late drop (the dense network at grokking): settles only at the end
    expect(
      settlingStep([
        { step: 0, value: 3.45 },
        { step: 10000, value: 3.44 },
        { step: 20000, value: 3.3 },
        { step: 30000, value: 3.23 },
      ]),
    ).toBe(30000);
    expect(
      settlingStep([
        { step: 0, value: 1 },
        { step: 5, value: 1 },
      ]),
    ).toBe(0);
    expect(settlingStep([])).toBeNull();
  });

  it('halfwayStep: first step with half of the total change made', () => {
    // 3.46 → 3.14: half = 0.16; 3.40 (−0.06) is not there yet, 3.25 (−0.21) is
    expect(
      halfwayStep([
        { step: 0, value: 3.46 },
        { step: 10000, value: 3.4 },
        { step: 20000, value: 3.25 },
        { step: 30000, value: 3.14 },
      ]),
    ).toBe(20000);
    // a rise counts the same way (the Gini coefficient grows)
    expect(
      halfwayStep([
        { step: 0, value: 0.1 },
        { step: 500, value: 0.5 },
        { step: 1000, value: 0.6 },
      ]),
    ).toBe(500);
    expect(
      halfwayStep([
        { step: 0, value: 2 },
        { step: 9, value: 2 },
      ]),
    ).toBe(0);
    expect(halfwayStep([])).toBeNull();
  });

  it('maskBlocks averages a mask over blocks of at most maxCells per side', () => {
    // 4 × 4, blocks of 2 × 2 (maxCells 2): top-left all kept, top-right half, bottom all pruned
    const m = [1, 1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    expect(maskBlocks(m, [4, 4], 2)).toEqual([
      { r0: 0, r1: 2, c0: 0, c1: 2, kept: 1 },
      { r0: 0, r1: 2, c0: 2, c1: 4, kept: 0.5 },
      { r0: 2, r1: 4, c0: 0, c1: 2, kept: 0 },
      { r0: 2, r1: 4, c0: 2, c1: 4, kept: 0 },
    ]);
    // a ragged edge: 5 columns in blocks of 3 → widths 3 and 2
    expect(maskBlocks([1, 1, 1, 1, 0], [1, 5], 2).map((b) => [b.c0, b.c1, b.kept])).toEqual([
      [0, 3, 1],
      [3, 5, 0.5],
    ]);
  });

  it("neuronSpectrum: a pure cosine puts all of a neuron's power at its frequency", () => {
    const p = 7;
    const m = new Float64Array(2 * p);
    for (let x = 0; x < p; x++) {
      m[x] = Math.cos((2 * Math.PI * 3 * x) / p); // row 0: f = 3
      m[p + x] = Math.sin((2 * Math.PI * x) / p) + 5; // row 1: f = 1 plus a constant (left out)
    }
    const s = neuronSpectrum(m, 2, p);
    expect(s.frequencies).toEqual([1, 2, 3]);
    // sorted by dominant frequency: row 1 (f = 1) first
    expect(s.neurons.map((n) => [n.row, n.dominant])).toEqual([
      [1, 1],
      [0, 3],
    ]);
    s.neurons[0]!.shares.forEach((x, i) => expect(x).toBeCloseTo(i === 0 ? 1 : 0, 12));
    s.neurons[1]!.shares.forEach((x, i) => expect(x).toBeCloseTo(i === 2 ? 1 : 0, 12));
    // summed amplitude: √(2/p)·|Y_f| = √(2/p)·p/2 = √(p/2) for both rows, so half each at f = 1 and f = 3
    expect(s.summedShares[0]).toBeCloseTo(0.5, 12);
    expect(s.summedShares[2]).toBeCloseTo(0.5, 12);
  });

  it('escapeMarkdown neutralises emphasis, links, code, tables and HTML', () => {
    expect(escapeMarkdown('a|b *c* [d](e) `f` <script>&')).toBe('a\\|b \\*c\\* \\[d\\](e) \\`f\\` &lt;script&gt;&amp;');
  });
});

describe('loading', () => {
  it('a ticket experiment made by a sweep: the shared dense run and dense arm named in ticket.json', async () => {
    const runs = path.join(tmp(), 'runs');
    const dir = await makeSweepExperiment(runs);
    const data = await loadReportData(['runs/ticket-abc'], { cwd: path.dirname(runs) });
    expect(data.skipped).toEqual([]);
    expect(data.runs.map((r) => [r.name, r.dir])).toEqual([
      ['ticket', 'runs/ticket-abc/arms/ticket'],
      ['dense', 'runs/add67-mlp-s0-wd0'],
      ['dense-source', 'runs/add67-mlp-s0-dense'],
    ]);
    expect(data.groups[0]).toMatchObject({ name: path.basename(dir), baseline: 'dense' });
    // without the dense arm's record, the dense run is the dense arm (retrained with its own settings)
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'ticket.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'ticket.json'), JSON.stringify({ ...record, denseArm: undefined }));
    expect((await loadReportData([dir])).runs.map((r) => r.name)).toEqual(['ticket', 'dense']);
  });

  it('a ticket experiment: every arm, the reused dense run as the dense arm, speed-ups against it', async () => {
    const dir = await makeExperiment(path.join(tmp(), 'exp'));
    const data = await loadReportData([dir]);
    expect(data.title).toBe('Ticket experiment exp');
    expect(data.runs.map((r) => r.name)).toEqual(['ticket', 'dense', 'same-l2', 'random']);
    // shown relative to the working directory when inside it, else in full
    expect(data.runs.find((r) => r.name === 'dense')!.dir).toBe(path.join(dir, 'dense-source'));
    expect((await loadReportData(['exp'], { cwd: path.dirname(dir) })).runs.map((r) => r.dir)).toEqual([
      'exp/arms/ticket',
      'exp/dense-source',
      'exp/arms/same-l2',
      'exp/arms/random',
    ]);
    expect(data.groups).toHaveLength(1);
    expect(data.groups[0]).toMatchObject({
      name: 'exp',
      kind: 'ticket-experiment',
      baseline: 'dense',
      runs: ['ticket', 'dense', 'same-l2', 'random'],
    });
    expect(data.groups[0]!.description).toBe(
      "pruner magnitude on the dense run's final weights, pruning rate 0.6 (keep 0.4), rewound to θ0",
    );
    expect(data.skipped).toEqual([]);
    const report = await buildReport(data);
    const s = Object.fromEntries(report.stats.map((x) => [x.name, x]));
    expect(s.dense).toMatchObject({
      stepsToTest95: 300,
      stepsToTrain95: 100,
      speedup: null,
      kept: TOTAL,
      keptFraction: 1,
      finalTestAcc: 1,
      finalL1: 36,
      finalL2: 19.6,
    });
    expect(s.ticket).toMatchObject({
      stepsToTest95: 100,
      speedup: 3,
      baseline: 'dense',
      kept: 20 * 4,
      keptFraction: 80 / TOTAL,
    });
    expect(s['same-l2']).toMatchObject({ stepsToTest95: 200, speedup: 1.5 });
    expect(s.random).toMatchObject({ stepsToTest95: null, speedup: null, kept: 40, finalTestAcc: 0.04 });
    // entropy logged at 0, 200, 400: the ticket settles at 200, the dense run only at 400
    expect(s.ticket).toMatchObject({
      entropyInStart: 3.4,
      entropyInEnd: 3,
      entropyInSettled: 200,
      entropyInHalfway: 200,
    });
    expect(s.dense).toMatchObject({ entropyInSettled: 400, entropyInHalfway: 400 });
    // mask tables: kept per run and the overlap of the two masks (first 20 vs first 10 of each tensor)
    const overlap = report.tables.find((t) => t.id === 'mask-overlap')!;
    expect(overlap.rows).toEqual([['ticket – random', (40 / 80).toFixed(4), '40', '80']]);
  });

  it('token matrices of the fixture weights: every neuron at its one frequency', async () => {
    const dir = await makeRun(path.join(tmp(), 'periodic'), { testAcc: [0, 1], weights: periodicWeights(2, 3) });
    const [run] = (await loadReportData([dir])).runs;
    const m = tokenMatrices(run!)!;
    expect(m.rows).toBe(D_MODEL);
    expect(neuronSpectrum(m.in, m.rows, m.p).neurons.map((n) => n.dominant)).toEqual([2, 2, 2, 2]);
    expect(neuronSpectrum(m.out, m.rows, m.p).neurons.map((n) => n.dominant)).toEqual([3, 3, 3, 3]);
  });

  it('bad inputs are skipped with the file and line at fault; the valid runs are reported', async () => {
    const root = tmp();
    const good = await makeRun(path.join(root, 'good'), { testAcc: [0, 0.5, 1] });
    const notRun = fs.mkdirSync(path.join(root, 'not-a-run'), { recursive: true })!;
    const noCkpt = await makeRun(path.join(root, 'no-checkpoints'), { testAcc: [0, 1], checkpoints: false });
    const badLine = await makeRun(path.join(root, 'bad-line'), { testAcc: [0, 0.5, 1] });
    const metrics = path.join(badLine, 'metrics.jsonl');
    const lines = fs.readFileSync(metrics, 'utf8').split('\n');
    lines[1] = lines[1]!.slice(0, 20); // a line cut in the middle of the file
    fs.writeFileSync(metrics, lines.join('\n'));
    const torn = await makeRun(path.join(root, 'torn-last-line'), { testAcc: [0, 0.5, 1] });
    fs.appendFileSync(path.join(torn, 'metrics.jsonl'), '{"step": 300, "train_lo');
    const noNumbers = await makeRun(path.join(root, 'not-a-metrics-row'), { testAcc: [0, 1] });
    fs.appendFileSync(path.join(noNumbers, 'metrics.jsonl'), '{"step": 200, "train_acc": "high"}\n');
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, 'x');

    const data = await loadReportData([
      good,
      notRun,
      noCkpt,
      badLine,
      torn,
      noNumbers,
      file,
      path.join(root, 'missing'),
    ]);
    expect(data.runs.map((r) => r.name)).toEqual(['good', 'torn-last-line']);
    const reasons = data.skipped.map((s) => s.reason);
    expect(reasons).toEqual([
      `${notRun} is not a run, experiment or sweep folder (it has no sweep.json, no ticket.json, no config.json)`,
      `${path.join(noCkpt, 'checkpoints')}: no checkpoints (init, step-NNNNNN, final)`,
      `${metrics}:2: not valid JSON`,
      `${path.join(noNumbers, 'metrics.jsonl')}:3: "train_loss" is missing`,
      `${file} is not a folder`,
      `${path.join(root, 'missing')} does not exist`,
    ]);
    // the torn last line is left out with a note naming the file and line; its valid rows stay
    const tornRun = data.runs[1]!;
    expect(tornRun.rows).toHaveLength(3);
    expect(tornRun.notes).toEqual([
      `${path.join(torn, 'metrics.jsonl')}:4: a line cut short (an interrupted write); left out`,
    ]);
    const html = reportHtml(await buildReport(data));
    expect(html).toContain('<h2>Skipped inputs</h2>');
    for (const r of reasons) expect(html).toContain(r.replace(/"/g, '&quot;'));
    expect(html).toContain(`${path.join(torn, 'metrics.jsonl')}:4: a line cut short`);
    // nothing usable at all: one error listing why
    await expect(loadReportData([notRun, noCkpt])).rejects.toThrow(ReportError);
    await expect(loadReportData([notRun, noCkpt])).rejects.toThrow(
      /^nothing to report: every input was skipped \(.*not-a-run is not a run.*no checkpoints/,
    );
  });

  it('a damaged checkpoint or an edited config skips the run, naming the file', async () => {
    const root = tmp();
    const flipped = await makeRun(path.join(root, 'flipped'), { testAcc: [0, 1] });
    const f = path.join(flipped, 'checkpoints', 'final.safetensors');
    const bytes = fs.readFileSync(f);
    bytes[bytes.length - 5]! ^= 0x10;
    fs.writeFileSync(f, bytes);
    const edited = await makeRun(path.join(root, 'edited'), { testAcc: [0, 1] });
    const cfg = path.join(edited, 'config.json');
    fs.writeFileSync(cfg, fs.readFileSync(cfg, 'utf8').replace('"seed": 0', '"seed": 1'));
    const ok = await makeRun(path.join(root, 'ok'), { testAcc: [0, 1] });
    const data = await loadReportData([flipped, edited, ok]);
    expect(data.runs.map((r) => r.name)).toEqual(['ok']);
    expect(data.skipped[0]!.reason).toMatch(new RegExp(`^checkpoint ${f}: `));
    expect(data.skipped[1]!.reason).toBe(
      `${cfg}: config does not match its hash ${JSON.parse(fs.readFileSync(cfg, 'utf8')).configHash}: the file was edited`,
    );
  });

  it('an experiment with a missing arm reports the rest and lists the arm; names are qualified across experiments', async () => {
    const root = tmp();
    const a = await makeExperiment(path.join(root, 'a'));
    const b = await makeExperiment(path.join(root, 'b'));
    fs.rmSync(path.join(b, 'arms', 'random'), { recursive: true });
    const data = await loadReportData([a, b]);
    expect(data.runs.map((r) => r.name)).toEqual([
      'a/ticket',
      'a/dense',
      'a/same-l2',
      'a/random',
      'b/ticket',
      'b/dense',
      'b/same-l2',
    ]);
    expect(data.skipped).toEqual([
      {
        path: path.join(b, 'arms', 'random'),
        reason: `${path.join(b, 'arms', 'random')} does not exist (the arm has not run yet)`,
      },
    ]);
    expect(data.groups.map((g) => g.baseline)).toEqual(['a/dense', 'b/dense']);
    const report = await buildReport(data);
    expect(report.stats.find((s) => s.name === 'b/ticket')).toMatchObject({ speedup: 3, baseline: 'b/dense' });
  });

  it('new folder kinds register by name and are tried before the built-in ones', async () => {
    const root = tmp();
    const sweep = path.join(root, 'sweep');
    await makeRun(path.join(sweep, 'runs', 'r1'), { testAcc: [0, 1] });
    await makeRun(path.join(sweep, 'runs', 'r2'), { testAcc: [0, 0.5, 1] });
    fs.writeFileSync(path.join(sweep, 'sweep.json'), '{}');
    fs.writeFileSync(path.join(sweep, 'config.json'), '{}'); // would look like a (broken) run to the built-in kind
    registerSourceKind({
      name: 'test-sweep',
      marker: 'sweep.json',
      detect: (dir) => fs.existsSync(path.join(dir, 'sweep.json')),
      async load(dir, ctx) {
        const runs = [];
        for (const r of ['r1', 'r2'])
          runs.push(await ctx.loadRun(path.join(dir, 'runs', r), { name: r, group: 'sweep' }));
        return {
          group: { name: 'sweep', kind: 'test-sweep', dir: ctx.display(dir), description: 'two runs', baseline: 'r1' },
          runs,
          skipped: [],
        };
      },
    });
    expect(listSourceKinds()[0]).toBe('test-sweep');
    const report = await createReport([sweep]);
    expect(report.data.runs.map((r) => r.name)).toEqual(['r1', 'r2']);
    expect(report.stats[1]).toMatchObject({ stepsToTest95: 200, speedup: 0.5, baseline: 'r1' });
  });
});

describe('output', () => {
  it('one self-contained HTML file: inline SVG with marks for every figure, no script, no external reference', async () => {
    const dir = await makeExperiment(path.join(tmp(), 'exp'));
    const report = await createReport([dir]);
    expect(report.figures.map((f) => f.id)).toEqual([
      'accuracy',
      'loss',
      'norms',
      'frequency',
      'spectrum-neurons',
      'spectrum-summed',
      'mask-ticket',
      'mask-random',
    ]);
    for (const f of report.figures) expect(markItems(f.svg), f.id).toBeGreaterThan(0);
    const html = reportHtml(report);
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    );
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\((?!#[\w-]+\))/i);
    expect(html).not.toMatch(/\s(src|href)\s*=/i);
    // the dense figures are pictures: PNG data: URLs, and nothing else is referenced
    const links = [...html.matchAll(/xlink:href="([^"]*)"/g)].map((m) => m[1]!);
    expect(links.length).toBe(4 * 2 + 2 * 4); // spectra: 4 runs × 2 sides; masks: 2 runs × 4 tensors
    for (const l of links) expect(l).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
    for (const f of report.figures.filter((g) => /^(spectrum-neurons|mask-)/.test(g.id)))
      expect((f.svg.match(/<path /g) ?? []).length, f.id).toBeLessThan(120); // axes and legends, not one per cell
    // the only URLs are SVG namespace declarations
    expect(
      [...html.matchAll(/https?:\/\/[^"'\s<>]+/g)].map((m) => m[0]).filter((u) => !u.startsWith('http://www.w3.org/')),
    ).toEqual([]);
    expect((html.match(/<svg /g) ?? []).length).toBe(report.figures.length);
    // element ids are unique across the inlined figures (gradients and clip paths must not clash)
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(report.figures.length);
    expect(new Set(ids).size).toBe(ids.length);
    // the summary table has a row per run with the hand-checked values
    expect(html).toMatch(/<td>ticket<\/td><td>45\.5 % \(80\)<\/td><td>100<\/td><td>100<\/td><td>3\.0x vs dense<\/td>/);
  });

  it('escapes run names and every other user string (a run folder named <script>…)', async () => {
    const root = tmp();
    const name = `<script>window.__pwned=1;'"&<b>`; // a folder name cannot hold the closing tag's slash
    const evil = await makeRun(path.join(root, name), {
      testAcc: [0, 0.5, 1],
      masks: prefixMasks(12),
      entropy: [3.4, 3.2],
    });
    const plain = await makeRun(path.join(root, 'plain'), { testAcc: [0, 1] });
    const report = await createReport([evil, plain], { title: 'a "title" & <b>' });
    expect(report.data.runs[0]!.name).toBe(name);
    const html = reportHtml(report);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<b>');
    expect(html).toContain('&lt;script&gt;window.__pwned=1;&#39;&quot;&amp;&lt;b&gt;');
    expect(html).toContain('<title>a &quot;title&quot; &amp; &lt;b&gt;</title>');
    for (const f of report.figures) expect(f.svg).not.toContain('<script');
    const { markdown, files } = reportMarkdown(report, 'r');
    expect(markdown).not.toContain('<script');
    expect(markdown).toContain(`&lt;script&gt;window.\\_\\_pwned=1;'"&amp;&lt;b&gt;`);
    // figure files are named from a slug, never from the raw name
    expect(files.map((f) => f.name)).toContain('r-mask-script-window-pwned-1-b.svg');
  });

  it('Markdown with the SVG files beside it', async () => {
    const dir = await makeExperiment(path.join(tmp(), 'exp'));
    const out = path.join(tmp(), 'docs', 'exp-report.md');
    const written = writeReport(await createReport([dir]), out);
    expect(written[0]).toBe(out);
    const md = fs.readFileSync(out, 'utf8');
    const names = written.slice(1).map((f) => path.basename(f));
    expect(names).toEqual(
      [
        'accuracy',
        'loss',
        'norms',
        'frequency',
        'spectrum-neurons',
        'spectrum-summed',
        'mask-ticket',
        'mask-random',
      ].map((id) => `exp-report-${id}.svg`),
    );
    for (const n of names) {
      expect(md).toContain(`](${n})`);
      expect(fs.readFileSync(path.join(path.dirname(out), n), 'utf8')).toMatch(/^<svg /);
    }
    expect(md).toMatch(/^# Ticket experiment exp\n/);
    expect(md).toContain(
      '| ticket | 45.5 % (80) | 100 | 100 | 3.0x vs dense | 100.00 % | 100.00 % | 36.0 | 19.60 | 3.4000 → 3.0000 | step 200 | step 200 |',
    );
    expect(md).toContain('| ticket – random | 0.5000 | 40 | 80 |');
  });
});
