import type { TopLevelSpec } from 'vega-lite';
import { baselineOf, maskBlocks, neuronSpectrum, runStats, seriesOf, tokenMatrices } from './stats.js';
import { structureFigures } from './structure.js';
import { CONFIG, H, SCHEMA, W } from './style.js';
import { sweepFigures } from './sweepFigures.js';
import type { ReportData, ReportRun } from './types.js';

/** One figure of a report: a Vega-Lite spec with its title and caption. */
export interface Figure {
  /** Stable identifier, used for file names (`accuracy`, `mask-ticket`, `sweep-e3-speedup`, ...). */
  id: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
  /** The part of the report it belongs to: `sweep:<name>` for a sweep's figures; absent for the runs'. */
  section?: string;
}

/** One colour per run, the same in every figure of a report. */
function colorOf(names: string[]) {
  return {
    field: 'run',
    type: 'nominal' as const,
    title: 'run',
    sort: names,
    scale: { domain: names, scheme: names.length > 10 ? 'tableau20' : 'tableau10' },
  };
}

/** Axis for steps on a log scale from the first evaluated step after 0 to the last. */
function logStep(runs: ReportRun[]) {
  const positive = runs.flatMap((r) => r.rows.map((x) => x.step).filter((s) => s > 0));
  const lo = positive.length ? Math.min(...positive) : 1;
  const hi = Math.max(lo * 10, ...runs.flatMap((r) => r.rows.map((x) => x.step)));
  return {
    field: 'step',
    type: 'quantitative' as const,
    title: 'step (log scale)',
    scale: { type: 'log' as const, domain: [lo, hi], nice: false },
    axis: { format: '~s', tickCount: 6 },
  };
}

const value = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * Accuracy and loss against step on a log axis, one colour per run, train and test side by side,
 * with each run's first evaluation at ≥ 95 % accuracy marked by a dot on the dashed 95 % line.
 */
function curveFigures(data: ReportData): Figure[] {
  const names = data.runs.map((r) => r.name);
  const curves: Array<Record<string, unknown>> = [];
  const marks: Array<Record<string, unknown>> = [];
  for (const r of data.runs) {
    const s = runStats(r, baselineOf(data, r));
    for (const row of r.rows) {
      if (row.step <= 0) continue;
      for (const split of ['train', 'test']) {
        curves.push({
          run: r.name,
          step: row.step,
          split,
          acc: value(row[`${split}_acc`]),
          loss: value(row[`${split}_loss`]),
        });
      }
    }
    if (s.stepsToTrain95 !== null && s.stepsToTrain95 > 0)
      marks.push({ run: r.name, step: s.stepsToTrain95, split: 'train', acc: 0.95 });
    if (s.stepsToTest95 !== null && s.stepsToTest95 > 0)
      marks.push({ run: r.name, step: s.stepsToTest95, split: 'test', acc: 0.95 });
  }
  const x = logStep(data.runs);
  const color = colorOf(names);
  const panel = (split: string, y: 'acc' | 'loss') => ({
    title: `${split} ${y === 'acc' ? 'accuracy' : 'loss'}`,
    width: W,
    height: H,
    layer: [
      {
        data: { values: curves },
        transform: [
          { filter: `datum.split === '${split}' && isValid(datum.${y})${y === 'loss' ? ` && datum.${y} > 0` : ''}` },
        ],
        mark: { type: 'line' as const, strokeWidth: 1.6, clip: true },
        encoding: {
          x,
          y:
            y === 'acc'
              ? {
                  field: 'acc',
                  type: 'quantitative' as const,
                  title: 'accuracy',
                  scale: { domain: [0, 1] },
                  axis: { format: '.0%' },
                }
              : {
                  field: 'loss',
                  type: 'quantitative' as const,
                  title: 'cross-entropy loss (log scale)',
                  scale: { type: 'log' as const },
                  axis: { format: '.0e' },
                },
          color,
        },
      },
      ...(y === 'acc'
        ? [
            {
              data: { values: [{ y: 0.95 }] },
              mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#888' },
              encoding: { y: { field: 'y', type: 'quantitative' as const } },
            },
            {
              data: {
                values: marks.length ? marks : [{ run: names[0], step: x.scale.domain[0], split: '-', acc: 0.95 }],
              },
              transform: [{ filter: `datum.split === '${split}'` }],
              mark: { type: 'point' as const, filled: true, size: 70, opacity: 1, stroke: 'black', strokeWidth: 0.6 },
              encoding: { x, y: { field: 'acc', type: 'quantitative' as const }, color },
            },
          ]
        : []),
    ],
  });
  const fig = (id: string, title: string, caption: string, y: 'acc' | 'loss'): Figure => ({
    id,
    title,
    caption,
    spec: {
      $schema: SCHEMA,
      config: CONFIG,
      hconcat: [panel('train', y), panel('test', y)],
      resolve: { scale: { y: 'shared' } },
    },
  });
  return [
    fig(
      'accuracy',
      'Accuracy',
      'Train and test accuracy against step (log scale), one colour per run. Dots: the first evaluation at or above 95 % (dashed line); the true crossing lies between it and the evaluation before.',
      'acc',
    ),
    fig('loss', 'Loss', 'Train and test cross-entropy against step, both on log scales.', 'loss'),
  ];
}

/** Global L1 and L2 norms of the effective weights W ⊙ M against step. */
function normFigure(data: ReportData): Figure {
  const names = data.runs.map((r) => r.name);
  const values: Array<Record<string, unknown>> = [];
  for (const r of data.runs) {
    for (const row of r.rows) {
      if (row.step <= 0) continue;
      values.push({
        run: r.name,
        step: row.step,
        l1: value(row.l1_global ?? row.l1mask_norm),
        l2: value(row.l2_global ?? row.l2mask_norm),
      });
    }
  }
  const x = logStep(data.runs);
  const panel = (key: 'l1' | 'l2', title: string) => ({
    title,
    width: W,
    height: H,
    transform: [{ filter: `isValid(datum.${key})` }],
    mark: { type: 'line' as const, strokeWidth: 1.6, clip: true },
    encoding: {
      x,
      y: {
        field: key,
        type: 'quantitative' as const,
        title: key === 'l1' ? '‖θ ⊙ m‖₁' : '‖θ ⊙ m‖₂',
        scale: { zero: false },
      },
      color: colorOf(names),
    },
  });
  return {
    id: 'norms',
    title: 'Weight norms',
    caption:
      'Global norms of the effective weights W ⊙ M (pruned weights count as zero) against step (log scale): L1 = Σ|w|, L2 = sqrt(Σw²) over every weight matrix.',
    spec: {
      $schema: SCHEMA,
      config: CONFIG,
      data: { values },
      hconcat: [panel('l1', 'L1 norm'), panel('l2', 'L2 norm')],
      resolve: { scale: { y: 'independent' } },
    },
  };
}

const ANALYSIS_FIELDS: Array<[string, string]> = [
  ['freq_entropy', 'frequency entropy (reference statistic)'],
  ['freq_shannon', 'Shannon entropy of the spectrum (nats)'],
  ['gini', 'Gini coefficient of the summed spectrum'],
];

/**
 * The frequency statistics over time, input and output side, with each run's step to 95 % test accuracy as a dashed
 * rule.
 */
function frequencyFigure(data: ReportData): Figure | null {
  const runs = data.runs.filter((r) => r.analysis.length > 0);
  if (runs.length === 0) return null;
  const names = data.runs.map((r) => r.name);
  const values: Array<Record<string, unknown>> = [];
  const groks: Array<Record<string, unknown>> = [];
  for (const r of runs) {
    for (const [field] of ANALYSIS_FIELDS) {
      for (const side of ['in', 'out'])
        for (const p of seriesOf(r.analysis, `${field}_${side}`))
          values.push({ run: r.name, step: p.step, field, side, value: p.value });
    }
    const t = runStats(r, null).stepsToTest95;
    if (t !== null) groks.push({ run: r.name, step: t });
  }
  const maxStep = Math.max(...runs.map((r) => r.steps));
  const x = {
    field: 'step',
    type: 'quantitative' as const,
    title: 'step',
    scale: { domain: [0, maxStep], nice: false },
    axis: { format: '~s' },
  };
  const color = colorOf(names);
  const panel = (field: string, label: string, side: string) => ({
    title: `${label}, ${side === 'in' ? 'input side' : 'output side'}`,
    width: W,
    height: 170,
    layer: [
      {
        data: { values: groks.length ? groks : [{ run: names[0], step: -1 }] },
        transform: [{ filter: 'datum.step >= 0' }],
        mark: { type: 'rule' as const, strokeDash: [3, 3], opacity: 0.6 },
        encoding: { x, color },
      },
      {
        data: { values },
        transform: [{ filter: `datum.field === '${field}' && datum.side === '${side}'` }],
        mark: { type: 'line' as const, strokeWidth: 1.6 },
        encoding: {
          x,
          y: {
            field: 'value',
            type: 'quantitative' as const,
            title: field === 'gini' ? 'Gini' : 'nats',
            scale: { zero: false },
          },
          color,
        },
      },
    ],
  });
  return {
    id: 'frequency',
    title: 'Fourier structure over time',
    caption:
      "Per analysed step, for the token-axis weights (MLP: input side A = (W_in⊙M)(W_E⊙M), output side B = (W_out⊙M)ᵀ(W_U⊙M)): the reference code's frequency \"entropy\" (a softmax cross-entropy of each neuron's spectrum shares; 3.466 flat, 2.518 one frequency), the Shannon entropy of the same shares, and the Gini coefficient of the spectrum summed over neurons. Dashed rules: each run's first step at ≥ 95 % test accuracy.",
    spec: {
      $schema: SCHEMA,
      config: CONFIG,
      vconcat: ANALYSIS_FIELDS.map(([field, label]) => ({
        hconcat: ['in', 'out'].map((side) => panel(field, label, side)),
      })),
      resolve: { scale: { color: 'shared' } },
    } as TopLevelSpec,
  };
}

/** The final spectrum: per-neuron heat maps (one panel per run and side) and the spectrum summed over neurons. */
function spectrumFigures(data: ReportData): Figure[] {
  const names = data.runs.map((r) => r.name);
  const cells: Array<Record<string, unknown>> = [];
  const summed: Array<Record<string, unknown>> = [];
  const shown: string[] = [];
  let rowsMax = 0;
  for (const r of data.runs) {
    const m = tokenMatrices(r);
    if (!m) continue;
    shown.push(r.name);
    rowsMax = Math.max(rowsMax, m.rows);
    for (const [side, matrix] of [
      ['input side', m.in],
      ['output side', m.out],
    ] as const) {
      const s = neuronSpectrum(matrix, m.rows, m.p);
      s.neurons.forEach((n, rank) =>
        n.shares.forEach(
          (share, i) => share >= 0.01 && cells.push({ run: r.name, side, f: s.frequencies[i], rank, share }),
        ),
      );
      s.summedShares.forEach((share, i) => summed.push({ run: r.name, side, f: s.frequencies[i], share }));
    }
  }
  if (shown.length === 0) return [];
  const last = Object.fromEntries(data.runs.map((r) => [r.name, r.lastCheckpoint]));
  const which = [...new Set(Object.values(last))].join(' / ');
  const heat: Figure = {
    id: 'spectrum-neurons',
    title: 'Final spectrum per neuron',
    caption: `Each row is one hidden neuron's effective weights over the tokens (${which} checkpoint, masks applied), as the share of its non-constant power at each frequency f (f and p − f folded); neurons sorted by their dominant frequency. A periodic network has one bright cell per row.`,
    spec: {
      $schema: SCHEMA,
      config: CONFIG,
      data: { values: cells },
      facet: {
        row: { field: 'side', type: 'nominal', title: null, sort: ['input side', 'output side'] },
        column: { field: 'run', type: 'nominal', title: null, sort: shown },
      },
      spec: {
        width: 150,
        height: 150,
        mark: { type: 'rect' },
        encoding: {
          x: {
            field: 'f',
            type: 'quantitative',
            title: 'frequency f',
            scale: { domain: [0.5, Math.max(...cells.map((c) => Number(c.f)), 1) + 0.5], nice: false },
            axis: { tickCount: 5, grid: false },
          },
          x2: { field: 'f2' },
          y: {
            field: 'rank',
            type: 'quantitative',
            title: 'neuron (sorted)',
            scale: { domain: [0, rowsMax], nice: false, reverse: true },
            axis: { tickCount: 4, grid: false },
          },
          y2: { field: 'rank2' },
          color: {
            field: 'share',
            type: 'quantitative',
            title: 'share of power',
            scale: { domain: [0, 1], scheme: 'blues' },
            legend: { format: '.0%' },
          },
        },
      },
      transform: [
        { calculate: 'datum.f + 0.5', as: 'f2' },
        { calculate: 'datum.f - 0.5', as: 'f' },
        { calculate: 'datum.rank + 1', as: 'rank2' },
      ],
    },
  };
  const sum: Figure = {
    id: 'spectrum-summed',
    title: 'Final spectrum summed over neurons',
    caption:
      'The Fourier amplitude of every neuron summed per frequency, as a share of the total over f ≥ 1: a few key frequencies stand out in a periodic network.',
    spec: {
      $schema: SCHEMA,
      config: CONFIG,
      data: { values: summed },
      hconcat: ['input side', 'output side'].map((side) => ({
        title: side,
        width: W,
        height: H,
        transform: [{ filter: `datum.side === '${side}'` }],
        mark: { type: 'line', strokeWidth: 1.4, point: { size: 16 } },
        encoding: {
          x: { field: 'f', type: 'quantitative', title: 'frequency f' },
          y: { field: 'share', type: 'quantitative', title: 'share of summed amplitude', axis: { format: '.0%' } },
          color: colorOf(names),
        },
      })),
    },
  };
  return [heat, sum];
}

/** One picture per masked run: each tensor's mask, averaged over blocks, dark where kept. */
function maskFigures(data: ReportData): Figure[] {
  const out: Figure[] = [];
  for (const r of data.runs) {
    if (!r.masks) continue;
    const panels = Object.entries(r.masks).map(([name, mask]) => {
      const shape = r.shapes[name] ?? [mask.length];
      const blocks = maskBlocks(mask, shape);
      let kept = 0;
      for (const v of mask) if (v !== 0) kept++;
      const cols = shape.slice(1).reduce((a, b) => a * b, 1);
      return {
        title: `${name} [${shape.join(' × ')}]: ${((100 * kept) / mask.length).toFixed(1)} % kept`,
        width: 150,
        height: 150,
        data: { values: blocks },
        mark: { type: 'rect' as const },
        encoding: {
          x: {
            field: 'c0',
            type: 'quantitative' as const,
            title: 'column',
            scale: { domain: [0, cols], nice: false },
            axis: { tickCount: 4, grid: false },
          },
          x2: { field: 'c1' },
          y: {
            field: 'r0',
            type: 'quantitative' as const,
            title: 'row',
            scale: { domain: [0, shape[0] ?? 1], nice: false, reverse: true },
            axis: { tickCount: 4, grid: false },
          },
          y2: { field: 'r1' },
          color: {
            field: 'kept',
            type: 'quantitative' as const,
            title: 'kept',
            scale: { domain: [0, 1], scheme: 'greys' },
            legend: { format: '.0%' },
          },
        },
      };
    });
    out.push({
      id: `mask-${r.name}`,
      title: `Mask of ${r.name}`,
      caption: `Which weights the mask of ${r.name} keeps, per tensor (rows × columns as stored), averaged over blocks so that no side has more than 32 of them: black = every weight of the block kept, light grey = all pruned.`,
      spec: {
        $schema: SCHEMA,
        config: CONFIG,
        hconcat: panels,
        resolve: { scale: { color: 'shared' } },
      },
    });
  }
  return out;
}

/**
 * The Vega-Lite specs of every figure a report draws from its data: each sweep's figures (see
 * `sweepFigures`), then for the runs accuracy and loss curves, norm curves, the Fourier statistics
 * over time, the final spectrum (per neuron, and summed), a picture of each mask, and the structural
 * dynamics of each run with a `structure.json` (under its accuracy curve). Figures whose
 * data no run has (no analysis, no token axis, no mask) are left out. Pure: render them with
 * `renderSvg`.
 */
export function buildFigures(data: ReportData): Figure[] {
  const figures = data.sweeps.flatMap(sweepFigures);
  if (data.runs.length === 0) return figures;
  figures.push(...curveFigures(data), normFigure(data));
  const freq = frequencyFigure(data);
  if (freq) figures.push(freq);
  figures.push(...spectrumFigures(data), ...maskFigures(data), ...structureFigures(data));
  return figures;
}
