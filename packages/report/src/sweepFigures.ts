import type { TopLevelSpec } from 'vega-lite';
import { int, pct } from './format.js';
import { CONFIG, H, SCHEMA } from './style.js';
import {
  axisTitle,
  criticalRates,
  rateBands,
  stepsToGeneralise,
  sweepGroups,
  variedAxes,
  variesPruningRate,
  type AxisValue,
  type Unreached,
} from './sweepStats.js';
import type { Figure, ReportSweep, ReportTable } from './types.js';

/** Width of a figure against the pruning rate (px). */
const RATE_W = 440;

/** The section key of a sweep's figures and tables. */
export function sweepSection(sweep: ReportSweep): string {
  return `sweep:${sweep.name}`;
}

const idOf = (sweep: ReportSweep, what: string) => `sweep-${sweep.name}-${what}`;

/** One colour per series, the same order in the legend as in the data. */
function seriesColor(series: string[], title: string | null = 'arm') {
  // Solid legend symbols: the bands are drawn faint, the legend should not be.
  return {
    field: 'series',
    type: 'nominal' as const,
    title,
    sort: series,
    scale: { domain: series, scheme: series.length > 10 ? 'tableau20' : 'tableau10' },
    legend: { symbolOpacity: 1 },
  };
}

/** Whether values span more than a decade (then a log axis shows them better). */
function spansDecade(values: number[]): boolean {
  const positive = values.filter((v) => v > 0);
  if (positive.length !== values.length || positive.length === 0) return false;
  return Math.max(...positive) / Math.min(...positive) > 10;
}

/** The pruning-rate axis: the rates of the grid as ticks, a little room at both ends. */
function rateX(rates: number[]) {
  const lo = Math.min(...rates);
  const hi = Math.max(...rates);
  const pad = (hi - lo || 1) * 0.07;
  return {
    field: 'rate',
    type: 'quantitative' as const,
    title: 'pruning rate',
    scale: { domain: [lo - pad, hi + pad], nice: false, zero: false },
    axis:
      rates.length <= 12
        ? { values: rates, format: '~g', grid: false, labelFlush: false }
        : { format: '~g', grid: false },
  };
}

const BREAK = 'break-paths-show-domains' as const;

/** Band (min–max over seeds), mean line and per-seed dots against the pruning rate. */
function bandLayers(x: ReturnType<typeof rateX>, y: Record<string, unknown>, color: ReturnType<typeof seriesColor>) {
  return [
    {
      data: { name: 'bands' },
      mark: { type: 'area' as const, opacity: 0.18, invalid: BREAK },
      encoding: { x, y: { ...y, field: 'min' }, y2: { field: 'max' }, color },
    },
    {
      data: { name: 'bands' },
      mark: { type: 'line' as const, strokeWidth: 1.8, invalid: BREAK, point: { filled: true, size: 36 } },
      encoding: { x, y: { ...y, field: 'mean' }, color },
    },
    {
      data: { name: 'values' },
      mark: { type: 'point' as const, size: 16, opacity: 0.65, strokeWidth: 1 },
      encoding: { x, y: { ...y, field: 'value' }, color },
    },
  ];
}

/**
 * The rows of an "unreached" strip: one mark per series, x and reason, with seeds out of finished runs as its label.
 */
function unreachedValues(unreached: Unreached[], xKey: 'rate' | 'x') {
  return unreached.map((u) => ({
    series: u.series,
    [xKey]: u.x,
    reason: u.reason,
    seeds: u.seeds,
    count: u.seeds.length,
    of: u.of,
    label: `${u.seeds.length}/${u.of}`,
  }));
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const leftOut = (n: number) =>
  n > 0
    ? ` ${plural(n, 'run')} of these arms did not finish and ${n === 1 ? 'is' : 'are'} not drawn (see the summary table).`
    : '';

/** Speed-up over dense against the pruning rate (when the sweep varies it). */
function speedupFigure(sweep: ReportSweep): Figure | null {
  const d = rateBands(sweep, 'speedupVsDense');
  if (d.series.length === 0) return null;
  const log = spansDecade(d.values.map((v) => v.value));
  const x = rateX(d.rates);
  const y = {
    type: 'quantitative' as const,
    title: log ? ['speed-up over dense', '(log scale)'] : 'speed-up over dense',
    scale: log ? { type: 'log' as const } : { zero: true },
    axis: { format: '~g' },
  };
  const color = seriesColor(d.series);
  const main = {
    width: RATE_W,
    height: H,
    layer: [
      ...bandLayers(x, y, color),
      {
        data: { values: [{ one: 1 }] },
        mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#888' },
        encoding: { y: { field: 'one', type: 'quantitative' as const } },
      },
    ],
  };
  const reasons = [...new Set(d.unreached.map((u) => u.reason))].sort((a, b) =>
    a === 'not reached' ? -1 : b === 'not reached' ? 1 : a.localeCompare(b),
  );
  const strip = {
    width: RATE_W,
    height: reasons.length * Math.max(18, 14 * d.series.length),
    title: { text: 'no speed-up: seeds / finished runs', fontSize: 11 },
    data: { name: 'unreached' },
    encoding: {
      x,
      y: {
        field: 'reason',
        type: 'nominal' as const,
        title: null,
        sort: reasons,
        axis: { grid: false, domain: false, ticks: false },
      },
      yOffset: { field: 'series', type: 'nominal' as const, sort: d.series },
      color,
    },
    layer: [
      { mark: { type: 'point' as const, shape: 'triangle-down', filled: false, size: 55, strokeWidth: 1.6 } },
      {
        mark: { type: 'text' as const, align: 'left' as const, dx: 7, fontSize: 10 },
        encoding: { text: { field: 'label' } },
      },
    ],
  };
  const datasets = {
    bands: d.bands,
    values: d.values.map((v) => ({ series: v.series, rate: v.x, seed: v.seed, value: v.value })),
    unreached: unreachedValues(d.unreached, 'rate'),
  };
  return {
    id: idOf(sweep, 'speedup'),
    section: sweepSection(sweep),
    title: 'Speed-up over dense against pruning rate',
    caption:
      `Speed-up = the dense arm's steps to 95 % test accuracy / the arm's (the sweep's speedupVsDense), one colour per arm${d.series.some((s) => s.includes(' · ')) ? ' and setting' : ''}: the line is the mean over seeds, the band their range (min–max), dots the seeds. Dashed: as fast as dense. ` +
      `A run shared by every rate (the mask-free dense arm) is drawn at each rate it serves.${log ? ' Log axis: the speed-ups span more than a decade.' : ''} ` +
      `Seeds without a speed-up are not in the band: they are counted below the plot, "not reached" when the arm never reached 95 % test accuracy within its steps, "dense not reached" when its dense arm never did.` +
      leftOut(d.unfinished),
    spec: {
      $schema: SCHEMA,
      config: CONFIG,
      datasets,
      ...(d.unreached.length ? { vconcat: [main, strip] } : main),
      resolve: { scale: { color: 'shared' } },
    } as TopLevelSpec,
  };
}

/** Steps to 95 % test accuracy per arm (and pruner, variant), per value of the other varied axes. */
function stepsFigure(sweep: ReportSweep): Figure | null {
  const d = stepsToGeneralise(sweep);
  if (d.medians.length === 0) return null;
  const byX = d.xAxes.length > 0;
  const log = spansDecade(d.values.map((v) => v.value));
  const x = byX
    ? {
        field: 'x',
        type: 'ordinal' as const,
        sort: d.xs,
        title: d.xAxes.map((a) => axisTitle(a, sweep.kind)).join(' · '),
        scale: { domain: d.xs },
        axis: { labelAngle: 0, grid: false },
      }
    : {
        field: 'series',
        type: 'nominal' as const,
        sort: d.series,
        title: null,
        scale: { domain: d.series },
        axis: { labelAngle: d.series.length > 4 ? -30 : 0, grid: false },
      };
  const xOffset = byX ? { xOffset: { field: 'series', type: 'nominal' as const, sort: d.series } } : {};
  const y = {
    type: 'quantitative' as const,
    title: log ? ['steps to 95 % test accuracy', '(log scale)'] : 'steps to 95 % test accuracy',
    scale: log ? { type: 'log' as const } : { zero: true },
    axis: { format: '~s' },
  };
  const color = seriesColor(d.series, sweep.kind === 'train' ? null : 'arm');
  const width = Math.min(900, Math.max(240, (byX ? d.xs.length * d.series.length : d.series.length) * (byX ? 24 : 48)));
  const main = {
    width,
    height: H,
    layer: [
      {
        data: { name: 'values' },
        mark: { type: 'point' as const, filled: true, size: 38, opacity: 0.75 },
        encoding: { x, ...xOffset, y: { ...y, field: 'value' }, color },
      },
      {
        data: { name: 'medians' },
        transform: [{ filter: 'isValid(datum.median)' }],
        mark: { type: 'tick' as const, thickness: 2.5, size: byX ? 14 : 26 },
        encoding: { x, ...xOffset, y: { ...y, field: 'median' }, color },
      },
    ],
  };
  const strip = {
    width,
    height: 30,
    title: { text: 'not reached 95 %: seeds / finished runs', fontSize: 11 },
    data: { name: 'unreached' },
    encoding: { x: { ...x, axis: null }, ...xOffset, color },
    // The count goes under its triangle: side by side, the labels of neighbouring arms would collide.
    layer: [
      { mark: { type: 'point' as const, shape: 'triangle-up', filled: false, size: 50, strokeWidth: 1.6, y: 8 } },
      {
        mark: { type: 'text' as const, align: 'center' as const, baseline: 'top' as const, y: 16, fontSize: 9 },
        encoding: { text: { field: 'label' } },
      },
    ],
  };
  const datasets = {
    values: d.values.map((v) => ({ series: v.series, x: v.x, seed: v.seed, value: v.value })),
    medians: d.medians,
    unreached: unreachedValues(d.unreached, 'x'),
  };
  const per = byX ? ` per ${d.xAxes.map((a) => axisTitle(a, sweep.kind)).join(' and ')}` : '';
  return {
    id: idOf(sweep, 'steps'),
    section: sweepSection(sweep),
    title: `Steps to generalise${per}`,
    caption:
      `First evaluated step with test accuracy ≥ 95 %${per}, one colour per arm${d.series.some((s) => s.includes(' · ')) ? ' and setting' : ''}: a dot per seed, a bar at the median over the finished seeds (a run that never reached it counts as later than any step, so a median that is "not reached" has no bar). ` +
      `Runs that never reached 95 % within their steps are counted above the plot (seeds / finished runs).${log ? ' Log axis: the steps span more than a decade.' : ''} The dense source run is shown when it is not itself the dense arm.` +
      leftOut(d.unfinished),
    spec: {
      $schema: SCHEMA,
      config: CONFIG,
      datasets,
      ...(d.unreached.length ? { vconcat: [strip, main] } : main),
      resolve: { scale: { color: 'shared' } },
    } as TopLevelSpec,
  };
}

/** Final test accuracy against the pruning rate, with the 95 % line (spec E3: grokking without weight decay). */
function accuracyFigure(sweep: ReportSweep): Figure | null {
  const d = rateBands(sweep, 'finalTestAcc');
  if (d.series.length === 0) return null;
  const x = rateX(d.rates);
  const y = {
    type: 'quantitative' as const,
    title: 'final test accuracy',
    scale: { domain: [0, 1] },
    axis: { format: '.0%' },
  };
  const color = seriesColor(d.series);
  const lambdas = [
    ...new Set(
      sweep.rows.filter((r) => r.role === 'arm' && r.retrainWeightDecay !== null).map((r) => r.retrainWeightDecay),
    ),
  ];
  const retrained =
    lambdas.length === 1
      ? ` The arms were retrained with weight decay λ = ${lambdas[0]}${lambdas[0] === 0 ? ' (the no-weight-decay experiment)' : ''}.`
      : lambdas.length > 1
        ? ` The arms were retrained with weight decay λ ∈ {${lambdas.join(', ')}}.`
        : '';
  return {
    id: idOf(sweep, 'final-test-accuracy'),
    section: sweepSection(sweep),
    title: 'Final test accuracy against pruning rate',
    caption:
      `Test accuracy at each run's last step, one colour per arm: the line is the mean over seeds, the band their range (min–max), dots the seeds; dashed: 95 %.${retrained} ` +
      `The critical pruning rate r* (the smallest rate whose ticket reaches 95 % test accuracy within the run) is in the table below.` +
      leftOut(d.unfinished),
    spec: {
      $schema: SCHEMA,
      config: CONFIG,
      datasets: {
        bands: d.bands,
        values: d.values.map((v) => ({ series: v.series, rate: v.x, seed: v.seed, value: v.value })),
      },
      width: RATE_W,
      height: H,
      layer: [
        ...bandLayers(x, y, color),
        {
          data: { values: [{ y: 0.95 }] },
          mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#888' },
          encoding: { y: { field: 'y', type: 'quantitative' as const } },
        },
      ],
    } as TopLevelSpec,
  };
}

/**
 * The figures of one sweep, chosen by what it varies: speed-up over dense against the pruning rate
 * (when it varies `pruningRate`), steps to generalise per arm (per pruner and variant when varied,
 * and per value of the other varied axes such as `fromStep`), and final test accuracy against the
 * pruning rate (when it varies `pruningRate`). Pure: render them with `renderSvg`.
 */
export function sweepFigures(sweep: ReportSweep): Figure[] {
  const rate = variesPruningRate(sweep);
  return [rate ? speedupFigure(sweep) : null, stepsFigure(sweep), rate ? accuracyFigure(sweep) : null].filter(
    (f): f is Figure => f !== null,
  );
}

const axisCell = (v: AxisValue | null) => (v === null ? 'all' : String(v));
const range = (lo: number | null, hi: number | null, f: (x: number) => string, unit = '') =>
  lo === null || hi === null ? '–' : lo === hi ? `${f(lo)}${unit}` : `${f(lo)}–${f(hi)}${unit}`;

/**
 * The sweep's tables: a summary per point group, and the critical pruning rate per seed when the sweep varies the rate.
 */
export function sweepTables(sweep: ReportSweep): ReportTable[] {
  const section = sweepSection(sweep);
  const axes = variedAxes(sweep).filter((a) => a !== 'arm');
  const groups = sweepGroups(sweep);
  const tables: ReportTable[] = [
    {
      id: `sweep-${sweep.name}-summary`,
      section,
      title: 'Summary per point group',
      caption:
        `One line per arm${axes.length ? ` × ${axes.map((a) => axisTitle(a, sweep.kind)).join(' × ')}` : ''}, over its seeds (every row of the results counted once; "all": a run shared by every value of that axis, like the mask-free dense arm across rates). Not run: interrupted or pending. ` +
        'Generalised: the first evaluated step with test accuracy ≥ 95 %; the median counts a run that never got there as later than any step ("not reached" when more than half of the finished runs did not), the range is over those that did. ' +
        "Speed-up = the dense arm's steps / the arm's, over the runs where both reached 95 %. Final test accuracy at the last step. Only finished runs have metrics.",
      header: [
        sweep.kind === 'train' ? 'runs' : 'arm',
        ...axes.map((a) => axisTitle(a, sweep.kind)),
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
      ],
      rows: groups.map((g) => [
        g.arm,
        ...axes.map((a) => axisCell(g.axes[a] ?? null)),
        String(g.finished),
        String(g.failed),
        String(g.unfinished),
        g.stepsMedian === null ? '–' : int(Number.isFinite(g.stepsMedian) ? g.stepsMedian : null),
        range(g.stepsMin, g.stepsMax, (s) => int(s)),
        `${g.reached} of ${g.finished}`,
        g.speedupMedian === null ? '–' : `${g.speedupMedian.toFixed(1)}x`,
        range(g.speedupMin, g.speedupMax, (s) => s.toFixed(1), 'x'),
        pct(g.accMedian),
        range(g.accMin, g.accMax, (a) => (a * 100).toFixed(1), ' %'),
      ]),
    },
  ];
  if (variesPruningRate(sweep)) {
    const other = axes.filter((a) => a !== 'pruningRate');
    const rows = criticalRates(sweep);
    if (rows.length > 0) {
      tables.push({
        id: `sweep-${sweep.name}-critical-rate`,
        section,
        title: 'Critical pruning rate r* per seed',
        caption:
          'r* = the smallest pruning rate whose run reaches 95 % test accuracy within its steps (with λ 0, the rate from which the paper finds that tickets grok without weight decay), per arm with a mask rate (every arm but the mask-free dense arm) and seed; "none" when no rate did. ' +
          'A rate whose run has not finished could lower r*: the note lists those.',
        header: [
          'arm',
          ...other.map((a) => axisTitle(a, sweep.kind)),
          'seed',
          'r*',
          'rates reaching 95 %',
          'finished',
          'note',
        ],
        rows: rows.map((c) => [
          c.arm,
          ...other.map((a) => axisCell(c.axes[a] ?? null)),
          String(c.seed),
          c.rate === null ? 'none' : String(c.rate),
          c.reached.length ? c.reached.join(', ') : '–',
          `${c.finished.length} of ${plural(c.rates.length, 'rate')}`,
          c.unknownBelow.length
            ? `${plural(c.unknownBelow.length, 'rate')} not finished (${c.unknownBelow.join(', ')}): r* ${c.rate === null ? 'may exist' : 'may be lower'}`
            : '',
        ]),
      });
    }
  }
  return tables;
}

/**
 * Lines that introduce a sweep in a report: where it is, what it varies, how its runs stand, and why failed runs
 * failed.
 */
export function sweepIntro(sweep: ReportSweep): { summary: string; notes: string[] } {
  const counts = new Map<string, number>();
  for (const r of sweep.rows) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const axes = sweep.axes.map(
    (a) => `${a.name} (${a.values.length}: ${a.values.slice(0, 12).join(', ')}${a.values.length > 12 ? ', …' : ''})`,
  );
  const summary = [
    sweep.description,
    `${sweep.kind} sweep in ${sweep.dir}`,
    `${plural(sweep.points.length, 'point')}${axes.length ? ` over ${axes.join(' × ')}` : ''}`,
    `${plural(sweep.rows.length, 'run')}: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`,
    `rows from ${sweep.resultsFile}`,
  ]
    .filter(Boolean)
    .join('; ');
  const notes = sweep.rows
    .filter((r) => r.status === 'failed')
    .map(
      (r) =>
        `${sweep.resultsFile}:${r.line}: ${r.arm ?? r.role} (${r.runId}) seed ${r.seed}${r.pruningRate !== null ? `, pruning rate ${r.pruningRate}` : ''} failed${r.error ? `: ${r.error}` : ''}`,
    );
  return { summary, notes };
}
