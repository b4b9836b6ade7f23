import type { TopLevelSpec } from 'vega-lite';
import { blockPicture, gridPicture, schemeColour, TRANSPARENT } from './raster.js';
import { baselineOf, maskBlocks, neuronSpectrum, runStats, seriesOf, tokenMatrices } from './stats.js';
import { structureFigures } from './structure.js';
import { CONFIG, H, SCHEMA, W } from './style.js';
import { sweepFigures } from './sweepFigures.js';
import type { Figure, ReportData, ReportRun } from './types.js';

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

/**
 * A colour legend with no visible mark: the pictures of a raster layer carry no colour encoding, so
 * an invisible rect with the picture's scale (domain [0, 1]) makes Vega-Lite draw the vector legend.
 */
function legendLayer(field: string, title: string, scheme: string) {
  return {
    mark: { type: 'rect' as const, opacity: 0 },
    encoding: {
      color: {
        field,
        type: 'quantitative' as const,
        title,
        scale: { domain: [0, 1], scheme },
        legend: { format: '.0%' },
      },
    },
  };
}

/** An `image` mark stretching each datum's picture `url` over [x, x2] × [y, y2] of the panel's scales. */
function rasterLayer(x: Record<string, unknown>, y: Record<string, unknown>) {
  return {
    mark: { type: 'image' as const, aspect: false, smooth: false },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, ...x },
      x2: { field: 'x2' },
      y: { field: 'y', type: 'quantitative' as const, ...y },
      y2: { field: 'y2' },
      url: { field: 'url', type: 'nominal' as const },
    },
  };
}

/** The final spectrum: per-neuron heat maps (one panel per run and side) and the spectrum summed over neurons. */
function spectrumFigures(data: ReportData): Figure[] {
  const names = data.runs.map((r) => r.name);
  const pictures: Array<Record<string, unknown>> = [];
  const summed: Array<Record<string, unknown>> = [];
  const shown: string[] = [];
  const blues = schemeColour('blues');
  let rowsMax = 0;
  let fMax = 1;
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
      const k = s.frequencies.length;
      fMax = Math.max(fMax, k);
      // One pixel per neuron and frequency; shares under 1 % are left blank.
      const url = gridPicture(m.rows, k, (rank, i) => {
        const share = s.neurons[rank]!.shares[i]!;
        return share >= 0.01 ? blues(share) : TRANSPARENT;
      });
      pictures.push({ run: r.name, side, url, x: 0.5, x2: k + 0.5, y: 0, y2: m.rows, legend: 0 });
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
      data: { values: pictures },
      facet: {
        row: { field: 'side', type: 'nominal', title: null, sort: ['input side', 'output side'] },
        column: { field: 'run', type: 'nominal', title: null, sort: shown },
      },
      spec: {
        width: 150,
        height: 150,
        layer: [
          rasterLayer(
            {
              title: 'frequency f',
              scale: { domain: [0.5, fMax + 0.5], nice: false },
              axis: { tickCount: 5, grid: false },
            },
            {
              title: 'neuron (sorted)',
              scale: { domain: [0, rowsMax], nice: false, reverse: true },
              axis: { tickCount: 4, grid: false },
            },
          ),
          legendLayer('legend', 'share of power', 'blues'),
        ],
      },
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
  const greys = schemeColour('greys');
  for (const r of data.runs) {
    if (!r.masks) continue;
    const panels = Object.entries(r.masks).map(([name, mask]) => {
      const shape = r.shapes[name] ?? [mask.length];
      const rows = shape[0] ?? 1;
      const cols = shape.slice(1).reduce((a, b) => a * b, 1);
      const blocks = maskBlocks(mask, shape).map((b) => ({ ...b, colour: greys(b.kept) }));
      let kept = 0;
      for (const v of mask) if (v !== 0) kept++;
      return {
        title: `${name} [${shape.join(' × ')}]: ${((100 * kept) / mask.length).toFixed(1)} % kept`,
        width: 150,
        height: 150,
        data: { values: [{ url: blockPicture(rows, cols, blocks), x: 0, x2: cols, y: 0, y2: rows, kept: 0 }] },
        layer: [
          rasterLayer(
            { title: 'column', scale: { domain: [0, cols], nice: false }, axis: { tickCount: 4, grid: false } },
            {
              title: 'row',
              scale: { domain: [0, rows], nice: false, reverse: true },
              axis: { tickCount: 4, grid: false },
            },
          ),
          legendLayer('kept', 'kept', 'greys'),
        ],
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
