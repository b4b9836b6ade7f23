/**
 * Sweep folders in a report: hand-written sweep.json / sweep-results.jsonl fixtures (test/fixtures.ts)
 * whose every band, median and r* is computed by hand in the comments below. The end-to-end path
 * from `grokking-tickets sweep` to `grokking-tickets report` is tested in runner-cli.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildFigures,
  buildReport,
  createReport,
  criticalRates,
  listSourceKinds,
  loadReportData,
  loadSweepFolder,
  medianOf,
  rateBands,
  reportHtml,
  reportMarkdown,
  stepsToGeneralise,
  sweepGroups,
  writeReport,
  type Figure,
  type ReportSweep,
} from '../src/index.js';
import { EVIL_VARIANT, makeExperiment, makePhasesSweep, makeRatesSweep, makeTrainSweep, tmp } from './fixtures.js';

const E = EVIL_VARIANT;
const sweepOf = async (dir: string): Promise<ReportSweep> => (await loadReportData([dir])).sweeps[0]!;
const figure = (figures: Figure[], suffix: string) => figures.find((f) => f.id.endsWith(suffix))!;
/** The inline datasets and the layers of a figure's spec, and the main view (the one with a y scale). */
const specOf = (f: Figure) =>
  f.spec as unknown as {
    datasets: Record<string, Array<Record<string, unknown>>>;
    vconcat?: Array<Record<string, unknown>>;
    layer?: Array<{ encoding?: { y?: { scale?: { type?: string } } } }>;
  };
const yScales = (f: Figure) => {
  const s = specOf(f);
  const views = s.vconcat ?? [s];
  return views.flatMap((v) =>
    ((v as { layer?: Array<{ encoding?: { y?: { scale?: { type?: string } } } }> }).layer ?? []).map(
      (l) => l.encoding?.y?.scale?.type ?? 'linear',
    ),
  );
};
const close = (rows: Array<Record<string, unknown>>) =>
  rows.map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? +v.toFixed(9) : v])),
  );

describe('reading a sweep folder', () => {
  it('is recognised by sweep.json before the run and experiment kinds, and read from its results only', async () => {
    expect(listSourceKinds().slice(0, 3)).toEqual(['sweep', 'ticket-experiment', 'run']);
    const dir = makeRatesSweep(path.join(tmp(), 'rates'));
    const data = await loadReportData([dir]);
    expect(data.title).toBe('Sweep rates');
    expect(data.runs).toEqual([]);
    expect(data.skipped).toEqual([]);
    const s = data.sweeps[0]!;
    expect(s).toMatchObject({
      name: 'rates',
      kind: 'ticket',
      dir,
      description: 'E3 in miniature: tickets retrained without weight decay',
      resultsFile: path.join(dir, 'sweep-results.jsonl'),
    });
    expect(s.axes).toEqual([
      { name: 'seed', values: [0, 1, 2] },
      { name: 'pruningRate', values: [0.2, 0.5, 0.8] },
    ]);
    expect(s.points.map((p) => p.axes)).toEqual(
      [0, 1, 2].flatMap((seed) => [0.2, 0.5, 0.8].map((pruningRate) => ({ seed, pruningRate }))),
    );
    expect(s.rows).toHaveLength(24);
    expect(s.rows[2]).toEqual({
      runId: 'dense-arm-0',
      role: 'arm',
      arm: 'dense',
      status: 'finished',
      error: null,
      points: [0, 1, 2],
      seed: 0,
      steps: 2000,
      pruner: null,
      pruningRate: null,
      fromStep: null,
      retrainWeightDecay: 0,
      weightDecay: 1,
      stepsToTest95: 1000,
      denseStepsToTest95: 1000,
      speedupVsDense: 1,
      finalTestAcc: 1,
      dir: '../runs/dense-arm-0',
      line: 3,
    });
    // Shown relative to the working directory when inside it.
    expect((await loadReportData(['rates'], { cwd: path.dirname(dir) })).sweeps[0]!.resultsFile).toBe(
      path.join('rates', 'sweep-results.jsonl'),
    );
  });

  it('a damaged results line is left out and listed with its file and line; the other rows are reported', async () => {
    const dir = makeRatesSweep(path.join(tmp(), 'rates'));
    const file = path.join(dir, 'sweep-results.jsonl');
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines[2] = lines[2]!.slice(0, 40); // line 3: cut in the middle (the dense arm of seed 0)
    lines[4] = lines[4]!.replace('"stepsToTest95":100,', '"stepsToTest95":"100",'); // line 5: ticket 0.5 of seed 0, a string
    lines[6] = lines[6]!.replace('"points":[2]', '"points":[40]'); // line 7: a point the sweep does not have
    lines.splice(8, 0, '', '[1, 2]'); // a blank line (ignored) and line 10: not an object
    fs.writeFileSync(file, lines.join('\n'));
    const data = await loadReportData([dir]);
    expect(data.skipped.map((s) => s.reason)).toEqual([
      `${file}:3: not valid JSON; row left out`,
      `${file}:5: "stepsToTest95" must be a finite number or null, got "100"; row left out`,
      `${file}:7: point 40 is not in sweep.json (it has 9 points); row left out`,
      `${file}:10: not a results row (a JSON object); row left out`,
    ]);
    expect(data.skipped[0]!.path).toBe(`${file}:3`);
    const s = data.sweeps[0]!;
    expect(s.rows).toHaveLength(21);
    expect(s.rows.map((r) => r.runId)).not.toContain('dense-arm-0');
    // Rows after the inserted lines keep their own line numbers.
    expect(s.rows.find((r) => r.runId === 'e10-ticket')!.line).toBe(12);
    // Without the dense arm of seed 0 its group has two runs left.
    expect(sweepGroups(s).find((g) => g.arm === 'dense')).toMatchObject({
      finished: 2,
      stepsMedian: Infinity,
      reached: 1,
    });
    const html = reportHtml(await buildReport(data));
    expect(html).toContain('<h2>Skipped inputs</h2>');
    expect(html).toContain(`<li>${file}:3: not valid JSON; row left out</li>`);
    expect(html).toContain(
      `<li>${file}:5: &quot;stepsToTest95&quot; must be a finite number or null, got &quot;100&quot;; row left out</li>`,
    );
  });

  it('folders that are not usable sweeps are skipped with the file at fault', async () => {
    const root = tmp();
    const noResults = makeRatesSweep(path.join(root, 'no-results'));
    fs.rmSync(path.join(noResults, 'sweep-results.jsonl'));
    const badJson = makeRatesSweep(path.join(root, 'bad-json'));
    fs.writeFileSync(path.join(badJson, 'sweep.json'), '{"format": 1,');
    const newer = makeRatesSweep(path.join(root, 'newer'));
    fs.writeFileSync(
      path.join(newer, 'sweep.json'),
      JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(newer, 'sweep.json'), 'utf8')), format: 2 }),
    );
    const allDamaged = makeRatesSweep(path.join(root, 'all-damaged'));
    fs.writeFileSync(path.join(allDamaged, 'sweep-results.jsonl'), 'oops\n');
    const good = makeRatesSweep(path.join(root, 'good'));
    const data = await loadReportData([noResults, badJson, newer, allDamaged, good]);
    expect(data.sweeps.map((s) => s.dir)).toEqual([good]);
    expect(data.skipped.map((s) => s.reason)).toEqual([
      `${path.join(noResults, 'sweep-results.jsonl')} is missing (the sweep has not written its results yet)`,
      `${path.join(badJson, 'sweep.json')}: not valid JSON`,
      `${path.join(newer, 'sweep.json')}: format 2; this report reads format 1`,
      `${path.join(allDamaged, 'sweep-results.jsonl')}:1: not valid JSON; row left out`,
      `${path.join(allDamaged, 'sweep-results.jsonl')}: holds no readable rows; sweep left out`,
    ]);
    await expect(loadReportData([noResults])).rejects.toThrow(
      /^nothing to report: every input was skipped \(.*sweep-results\.jsonl is missing/,
    );
    expect(() => loadSweepFolder(badJson)).toThrow(`${path.join(badJson, 'sweep.json')}: not valid JSON`);
  });
});

describe('the numbers a sweep is drawn from (hand-computed, see makeRatesSweep)', () => {
  it('speed-up against pruning rate: min, max and mean over the seeds that have one; the others kept as "not reached"', async () => {
    const s = await sweepOf(makeRatesSweep(path.join(tmp(), 'rates')));
    const d = rateBands(s, 'speedupVsDense');
    expect(d.series).toEqual(['ticket', 'dense', 'random']);
    expect(d.rates).toEqual([0.2, 0.5, 0.8]);
    // ticket: 0.2 → seed 1 only (1200/400 = 3); 0.5 → 1000/100 = 10 and 1200/200 = 6 (seed 2 failed); 0.8 → seed 1:
    // 1200/50 = 24.
    // The mask-free dense arm serves every rate: 1 (its own steps) for seeds 0 and 1 at each. Random never reaches 95
    // %.
    expect(close(d.bands as unknown as Array<Record<string, unknown>>)).toEqual([
      { series: 'ticket', rate: 0.2, min: 3, max: 3, mean: 3, seeds: [1] },
      { series: 'ticket', rate: 0.5, min: 6, max: 10, mean: 8, seeds: [0, 1] },
      { series: 'ticket', rate: 0.8, min: 24, max: 24, mean: 24, seeds: [1] },
      ...[0.2, 0.5, 0.8].map((rate) => ({ series: 'dense', rate, min: 1, max: 1, mean: 1, seeds: [0, 1] })),
      ...[0.2, 0.5, 0.8].map((rate) => ({ series: 'random', rate, min: null, max: null, mean: null, seeds: [] })),
    ]);
    expect(d.unreached).toEqual([
      { series: 'ticket', x: 0.2, reason: 'not reached', seeds: [0, 2], of: 3 },
      { series: 'ticket', x: 0.8, reason: 'not reached', seeds: [0], of: 3 },
      { series: 'ticket', x: 0.8, reason: 'dense not reached', seeds: [2], of: 3 },
      ...[0.2, 0.5, 0.8].map((x) => ({ series: 'dense', x, reason: 'not reached', seeds: [2], of: 3 })),
      ...[0.2, 0.5, 0.8].map((x) => ({ series: 'random', x, reason: 'not reached', seeds: [0, 1, 2], of: 3 })),
    ]);
    expect(d.unfinished).toBe(1);
    // The figure carries exactly these numbers, and a log axis (speed-ups from 1 to 24 span more than a decade).
    const f = figure(
      buildFigures({ title: '', runs: [], groups: [], sweeps: [s], skipped: [], baseline: null }),
      'speedup',
    );
    expect(f.id).toBe('sweep-rates-speedup');
    const spec = specOf(f);
    expect(spec.datasets.bands).toEqual(d.bands);
    expect(spec.datasets.values!.filter((v) => v.series === 'ticket').map((v) => [v.rate, v.seed, v.value])).toEqual([
      [0.2, 1, 3],
      [0.5, 0, 10],
      [0.5, 1, 6],
      [0.8, 1, 24],
    ]);
    expect(spec.datasets.unreached!.find((u) => u.series === 'random' && u.rate === 0.5)).toEqual({
      series: 'random',
      rate: 0.5,
      reason: 'not reached',
      seeds: [0, 1, 2],
      count: 3,
      of: 3,
      label: '3/3',
    });
    expect(spec.vconcat).toHaveLength(2); // the plot, and the strip counting the seeds without a speed-up
    expect(yScales(f).slice(0, 3)).toEqual(['log', 'log', 'log']);
    expect(f.caption).toContain('1 run of these arms did not finish');
  });

  it('final test accuracy against pruning rate, and the critical pruning rate r* per seed', async () => {
    const s = await sweepOf(makeRatesSweep(path.join(tmp(), 'rates')));
    const d = rateBands(s, 'finalTestAcc');
    // ticket: 0.2 → 0.6, 0.97, 0.4; 0.5 → 1, 0.99 (seed 2 failed); 0.8 → 0.3, 0.96, 0.97. dense: 1, 1, 0.5 at every
    // rate.
    expect(close(d.bands.filter((b) => b.series !== 'random') as unknown as Array<Record<string, unknown>>)).toEqual(
      close([
        { series: 'ticket', rate: 0.2, min: 0.4, max: 0.97, mean: (0.6 + 0.97 + 0.4) / 3, seeds: [0, 1, 2] },
        { series: 'ticket', rate: 0.5, min: 0.99, max: 1, mean: 0.995, seeds: [0, 1] },
        { series: 'ticket', rate: 0.8, min: 0.3, max: 0.97, mean: (0.3 + 0.96 + 0.97) / 3, seeds: [0, 1, 2] },
        ...[0.2, 0.5, 0.8].map((rate) => ({
          series: 'dense',
          rate,
          min: 0.5,
          max: 1,
          mean: 2.5 / 3,
          seeds: [0, 1, 2],
        })),
      ]),
    );
    expect(d.unreached).toEqual([]);
    const f = figure(
      buildFigures({ title: '', runs: [], groups: [], sweeps: [s], skipped: [], baseline: null }),
      'final-test-accuracy',
    );
    expect(specOf(f).datasets.bands).toEqual(d.bands);
    // The 95 % line.
    expect(JSON.stringify(specOf(f).layer)).toContain('{"data":{"values":[{"y":0.95}]}');
    expect(f.caption).toContain('retrained with weight decay λ = 0 (the no-weight-decay experiment)');
    // r*: seed 0 reaches 95 % at 0.5 only, seed 1 at every rate, seed 2 at 0.8 (its 0.5 failed: r* may be lower);
    // random never.
    expect(criticalRates(s).map((c) => [c.arm, c.seed, c.rate, c.reached, c.finished, c.unknownBelow])).toEqual([
      ['ticket', 0, 0.5, [0.5], [0.2, 0.5, 0.8], []],
      ['ticket', 1, 0.2, [0.2, 0.5, 0.8], [0.2, 0.5, 0.8], []],
      ['ticket', 2, 0.8, [0.8], [0.2, 0.8], [0.5]],
      ['random', 0, null, [], [0.2, 0.5, 0.8], []],
      ['random', 1, null, [], [0.2, 0.5, 0.8], []],
      ['random', 2, null, [], [0.2, 0.5, 0.8], []],
    ]);
    const report = await buildReport(await loadReportData([s.dir]));
    const table = report.tables.find((t) => t.id === 'sweep-rates-critical-rate')!;
    expect(table.header).toEqual(['arm', 'seed', 'r*', 'rates reaching 95 %', 'finished', 'note']);
    expect(table.rows).toEqual([
      ['ticket', '0', '0.5', '0.5', '3 of 3 rates', ''],
      ['ticket', '1', '0.2', '0.2, 0.5, 0.8', '3 of 3 rates', ''],
      ['ticket', '2', '0.8', '0.8', '2 of 3 rates', '1 rate not finished (0.5): r* may be lower'],
      ['random', '0', 'none', '–', '3 of 3 rates', ''],
      ['random', '1', 'none', '–', '3 of 3 rates', ''],
      ['random', '2', 'none', '–', '3 of 3 rates', ''],
    ]);
  });

  it('steps to generalise per arm and pruning rate: a dot per seed, the median, "not reached" kept', async () => {
    const s = await sweepOf(makeRatesSweep(path.join(tmp(), 'rates')));
    const d = stepsToGeneralise(s);
    // The dense source runs (λ 1; not the dense arm, which is retrained with λ 0) are a series of their own.
    expect(d.series).toEqual(['dense source', 'ticket', 'dense', 'random']);
    expect(d.xAxes).toEqual(['pruningRate']);
    expect(d.xs).toEqual(['0.2', '0.5', '0.8']);
    const median = (series: string, x: string) => d.medians.find((m) => m.series === series && m.x === x)!.median;
    // ticket 0.2: [∞, 400, ∞] → not reached; 0.5: [100, 200] → 150; 0.8: [∞, 50, 40] → 50. dense: [1000, 1200, ∞] →
    // 1200.
    expect(['0.2', '0.5', '0.8'].map((x) => median('ticket', x))).toEqual([null, 150, 50]);
    expect(['0.2', '0.5', '0.8'].map((x) => median('dense', x))).toEqual([1200, 1200, 1200]);
    expect(median('dense source', '0.5')).toBe(1000);
    expect(median('random', '0.8')).toBeNull();
    expect(d.values.filter((v) => v.series === 'ticket').map((v) => [v.x, v.seed, v.value])).toEqual([
      ['0.2', 1, 400],
      ['0.5', 0, 100],
      ['0.5', 1, 200],
      ['0.8', 1, 50],
      ['0.8', 2, 40],
    ]);
    expect(d.unreached.filter((u) => u.series === 'ticket')).toEqual([
      { series: 'ticket', x: '0.2', reason: 'not reached', seeds: [0, 2], of: 3 },
      { series: 'ticket', x: '0.8', reason: 'not reached', seeds: [0], of: 3 },
    ]);
    const f = figure(
      buildFigures({ title: '', runs: [], groups: [], sweeps: [s], skipped: [], baseline: null }),
      'steps',
    );
    expect(f.title).toBe('Steps to generalise per pruning rate');
    const spec = specOf(f);
    expect(spec.datasets.medians).toEqual(d.medians);
    expect(spec.datasets.unreached!.filter((u) => u.series === 'random').map((u) => u.label)).toEqual([
      '3/3',
      '3/3',
      '3/3',
    ]);
    expect(yScales(f)).toContain('log'); // 40 to 1200 steps
  });

  it('steps to generalise per checkpoint (E4) and variant; the dense source left out when it is the dense arm', async () => {
    const s = await sweepOf(makePhasesSweep(path.join(tmp(), 'phases')));
    const d = stepsToGeneralise(s);
    expect(d.series).toEqual([`ticket · mlp`, 'dense · mlp', `ticket · ${E}`, `dense · ${E}`]);
    expect(d.xAxes).toEqual(['fromStep']);
    expect(d.xs).toEqual(['100', 'final']);
    expect(d.medians.map((m) => [m.series, m.x, m.median])).toEqual([
      ['ticket · mlp', '100', 300],
      ['ticket · mlp', 'final', 100],
      ['dense · mlp', '100', 500],
      ['dense · mlp', 'final', 500],
      [`ticket · ${E}`, '100', 250],
      [`ticket · ${E}`, 'final', 150],
      [`dense · ${E}`, '100', null],
      [`dense · ${E}`, 'final', null],
    ]);
    expect(d.unreached).toEqual([
      { series: `dense · ${E}`, x: '100', reason: 'not reached', seeds: [0], of: 1 },
      { series: `dense · ${E}`, x: 'final', reason: 'not reached', seeds: [0], of: 1 },
    ]);
    // No pruning-rate axis: no speed-up or accuracy-against-rate figure, no r* table; 100 to 500 steps: a linear axis.
    const figures = buildFigures({ title: '', runs: [], groups: [], sweeps: [s], skipped: [], baseline: null });
    expect(figures.map((f) => f.id)).toEqual(['sweep-phases-steps']);
    expect(figures[0]!.title).toBe('Steps to generalise per ticket checkpoint');
    expect(yScales(figures[0]!)).not.toContain('log');
  });

  it('a train sweep: steps per weight decay, one series', async () => {
    const s = await sweepOf(makeTrainSweep(path.join(tmp(), 'decay')));
    const d = stepsToGeneralise(s);
    expect(d.series).toEqual(['run']);
    expect(d.medians.map((m) => [m.x, m.median])).toEqual([
      ['0', null],
      ['1', 700],
    ]);
    // Both values of λ are on the x axis, also the one where no run generalised.
    const f = buildFigures({ title: '', runs: [], groups: [], sweeps: [s], skipped: [], baseline: null })[0]!;
    expect(f.title).toBe('Steps to generalise per weight decay λ');
    expect(JSON.stringify(f.spec)).toContain('"scale":{"domain":["0","1"]}');
    expect(sweepGroups(s).map((g) => [g.arm, g.axes.weightDecay, g.stepsMedian, g.stepsMin, g.stepsMax])).toEqual([
      ['run', 0, Infinity, null, null],
      ['run', 1, 700, 600, 800],
    ]);
  });

  it('medianOf counts "not reached" (Infinity) as later than any step', () => {
    expect(medianOf([100, Infinity, 200])).toBe(200);
    expect(medianOf([100, Infinity, Infinity])).toBe(Infinity);
    expect(medianOf([300, 100, 200, 400])).toBe(250);
    expect(medianOf([100, Infinity])).toBe(Infinity);
    expect(medianOf([])).toBeNull();
  });
});

describe('the summary table', () => {
  it('one line per arm × pruning rate, over seeds: counts, median and range of steps, speed-up and final accuracy', async () => {
    const report = await createReport([makeRatesSweep(path.join(tmp(), 'rates'))]);
    expect(report.tables.map((t) => t.id)).toEqual(['sweep-rates-summary', 'sweep-rates-critical-rate']);
    const t = report.tables[0]!;
    expect(t.header).toEqual([
      'arm',
      'pruning rate',
      'finished',
      'failed',
      'not run',
      'generalised at (median)',
      'generalised at (range)',
      'generalised',
      'speed-up (median)',
      'speed-up (range)',
      'final test acc (median)',
      'final test acc (range)',
    ]);
    expect(t.rows).toEqual([
      ['dense source', 'all', '3', '0', '0', '1 000', '900–1 100', '3 of 3', '–', '–', '100.0 %', '100.0 %'],
      ['ticket', '0.2', '3', '0', '0', 'not reached', '400', '1 of 3', '3.0x', '3.0x', '60.0 %', '40.0–97.0 %'],
      ['ticket', '0.5', '2', '1', '0', '150', '100–200', '2 of 2', '8.0x', '6.0–10.0x', '99.5 %', '99.0–100.0 %'],
      ['ticket', '0.8', '3', '0', '0', '50', '40–50', '2 of 3', '24.0x', '24.0x', '96.0 %', '30.0–97.0 %'],
      ['dense', 'all', '3', '0', '0', '1 200', '1 000–1 200', '2 of 3', '1.0x', '1.0x', '100.0 %', '50.0–100.0 %'],
      ['random', '0.2', '3', '0', '0', 'not reached', '–', '0 of 3', '–', '–', '6.0 %', '5.0–7.0 %'],
      ['random', '0.5', '3', '0', '0', 'not reached', '–', '0 of 3', '–', '–', '11.0 %', '10.0–12.0 %'],
      ['random', '0.8', '3', '0', '0', 'not reached', '–', '0 of 3', '–', '–', '16.0 %', '15.0–17.0 %'],
    ]);
    // The failed run's error is a note of the sweep's section.
    const html = reportHtml(report);
    expect(html).toContain(
      `sweep-results.jsonl:21: ticket (e21-ticket) seed 2, pruning rate 0.5 failed: a tensor was NaN at step 120</li>`,
    );
  });

  it('variant × checkpoint groups; a dense source run that is itself the dense arm is counted once, as the arm', async () => {
    const s = await sweepOf(makePhasesSweep(path.join(tmp(), 'phases')));
    expect(s.rows.filter((r) => r.role === 'dense-source')).toHaveLength(2);
    expect(sweepGroups(s).map((g) => [g.arm, g.axes.variant, g.axes.fromStep, g.finished, g.stepsMedian])).toEqual([
      ['ticket', 'mlp', 100, 1, 300],
      ['ticket', 'mlp', 'final', 1, 100],
      ['ticket', E, 100, 1, 250],
      ['ticket', E, 'final', 1, 150],
      ['dense', 'mlp', 100, 1, 500],
      ['dense', 'mlp', 'final', 1, 500],
      ['dense', E, 100, 1, Infinity],
      ['dense', E, 'final', 1, Infinity],
    ]);
  });
});

describe('output', () => {
  it('HTML: one self-contained page; every user string of a sweep escaped', async () => {
    const root = tmp();
    const evil = makePhasesSweep(path.join(root, 'phases'), `<i>x</i>"'&`, `a <b>"description"</b> & more`);
    const rates = makeRatesSweep(path.join(root, 'rates'));
    const report = await createReport([evil, rates]);
    expect(report.figures.map((f) => f.id)).toEqual([
      'sweep-i-x-i-steps',
      'sweep-rates-speedup',
      'sweep-rates-steps',
      'sweep-rates-final-test-accuracy',
    ]);
    const html = reportHtml(report);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\((?!#[\w-]+\))/i);
    expect(html).not.toMatch(/\s(src|href)\s*=/i);
    expect(html).not.toContain('<i>');
    expect(html).not.toContain('<b>');
    expect(html).toContain('<h2>Sweep &lt;i&gt;x&lt;/i&gt;&quot;&#39;&amp;</h2>');
    expect(html).toContain('a &lt;b&gt;&quot;description&quot;&lt;/b&gt; &amp; more; ticket sweep in');
    expect(html).toContain(`<td>&lt;script&gt;window.__pwned=1&lt;/script&gt;&quot;&amp;&#39;</td>`);
    // The variant name inside the figures is SVG text, escaped by Vega.
    expect(figure(report.figures, 'steps').svg).toContain('ticket · &lt;script&gt;window.__pwned=');
    expect(
      [...html.matchAll(/https?:\/\/[^"'\s<>]+/g)].map((m) => m[0]).filter((u) => !u.startsWith('http://www.w3.org/')),
    ).toEqual([]);
    expect((html.match(/<svg /g) ?? []).length).toBe(4);
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    // Each sweep is a part with its heading, summary table first, figures, then its other tables.
    const order = [
      '<h2>Sweep &lt;i&gt;',
      'id="table-sweep-&lt;i&gt;',
      'id="fig-sweep-i-x-i-steps"',
      '<h2>Sweep rates</h2>',
      'id="table-sweep-rates-summary"',
      'id="fig-sweep-rates-speedup"',
      'id="fig-sweep-rates-final-test-accuracy"',
      'id="table-sweep-rates-critical-rate"',
    ];
    const at = order.map((s) => html.indexOf(s));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    const { markdown } = reportMarkdown(report, 'r');
    expect(markdown).not.toContain('<script');
    expect(markdown).toContain('## Sweep &lt;i&gt;x&lt;/i&gt;"\'&amp;');
  });

  it('Markdown: the SVG files beside it', async () => {
    const out = path.join(tmp(), 'docs', 'e3.md');
    const written = writeReport(await createReport([makeRatesSweep(path.join(tmp(), 'rates'))]), out);
    expect(written.map((f) => path.basename(f))).toEqual([
      'e3.md',
      'e3-sweep-rates-speedup.svg',
      'e3-sweep-rates-steps.svg',
      'e3-sweep-rates-final-test-accuracy.svg',
    ]);
    for (const f of written.slice(1)) expect(fs.readFileSync(f, 'utf8')).toMatch(/^<svg /);
    const md = fs.readFileSync(out, 'utf8');
    expect(md).toMatch(/^# Sweep rates\n\nMade by `grokking-tickets report` from sweep rates \(24 runs\)\.\n/);
    // One part: no part heading, tables at level 2.
    expect(md).not.toContain('## Sweep rates');
    expect(md).toContain('![Speed-up over dense against pruning rate](e3-sweep-rates-speedup.svg)');
    expect(md).toContain(
      '| ticket | 0.5 | 2 | 1 | 0 | 150 | 100–200 | 2 of 2 | 8.0x | 6.0–10.0x | 99.5 % | 99.0–100.0 % |',
    );
    expect(md).toContain('| ticket | 2 | 0.8 | 0.8 | 2 of 3 rates | 1 rate not finished (0.5): r\\* may be lower |');
  });

  it('a sweep and an experiment folder in one report: the sweep part, then the runs part', async () => {
    const root = tmp();
    const rates = makeRatesSweep(path.join(root, 'rates'));
    const exp = await makeExperiment(path.join(root, 'exp'));
    const report = await createReport([exp, rates]);
    expect(report.data.title).toBe('grokking-tickets report');
    expect(report.data.runs.map((r) => r.name)).toEqual(['ticket', 'dense', 'same-l2', 'random']);
    expect(report.figures.map((f) => f.id)).toEqual([
      'sweep-rates-speedup',
      'sweep-rates-steps',
      'sweep-rates-final-test-accuracy',
      'accuracy',
      'loss',
      'norms',
      'frequency',
      'spectrum-neurons',
      'spectrum-summed',
      'mask-ticket',
      'mask-random',
    ]);
    const html = reportHtml(report);
    expect(html).toContain('from sweep rates (24 runs) and 4 runs.');
    expect(html.indexOf('<h2>Sweep rates</h2>')).toBeLessThan(html.indexOf('<h2>Runs</h2>'));
    expect(html.indexOf('<h2>Runs</h2>')).toBeLessThan(html.indexOf('<section id="table-summary"><h3>Summary</h3>'));
    expect(html).toMatch(/<td>ticket<\/td><td>45\.5 % \(80\)<\/td><td>100<\/td><td>100<\/td><td>3\.0x vs dense<\/td>/);
  });
});
