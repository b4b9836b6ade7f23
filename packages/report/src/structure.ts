import fs from 'node:fs';
import type { TopLevelSpec } from 'vega-lite';
import { fixed, int, pct } from './format.js';
import { CONFIG, SCHEMA, W } from './style.js';
import type { ReportData, ReportGraphMask, ReportRun, ReportStructure, ReportStructureRow } from './types.js';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const numOrNull = (v: unknown): v is number | null => v === null || isNum(v);

/** Reads and checks a JSON file with a format tag; a one-line reason when it cannot be used. */
function readTagged(file: string, format: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return `${file}: ${(e as NodeJS.ErrnoException).code ?? 'not valid JSON'}`;
  }
  if (!isObject(value) || value.format !== format) return `${file}: not a ${format} file`;
  return value;
}

/**
 * A run's `structure.json` (null when the file is absent), or a one-line reason it cannot be drawn.
 * Rows must have a step and finite distances and sparsity; the change fields may be null.
 */
export function readStructure(file: string): ReportStructure | null | string {
  if (!fs.existsSync(file)) return null;
  const v = readTagged(file, 'grokking-tickets/structure@1');
  if (typeof v === 'string') return v;
  const rows = v.rows;
  const ticket = v.ticket;
  const sparsity = v.sparsity;
  const change = v.change;
  const final = v.final;
  if (!Array.isArray(rows) || !isObject(ticket) || !isObject(sparsity) || !isObject(change) || !isObject(final))
    return `${file}: rows, ticket, sparsity, final or change is missing`;
  for (const [i, r] of rows.entries()) {
    if (
      !isObject(r) ||
      !isNum(r.step) ||
      !isNum(r.distanceToFinal) ||
      !numOrNull(r.distanceFromPrevious) ||
      !numOrNull(r.previousStep) ||
      !isNum(r.sparsity) ||
      !isObject(r.distanceToFinalPerTensor) ||
      !isObject(r.sparsityPerTensor)
    )
      return `${file}: row ${i + 1} lacks a step, distances or sparsity`;
  }
  const big = change.largestChange;
  if (
    big !== null &&
    !(isObject(big) && isNum(big.from) && isNum(big.to) && isNum(big.distance) && isNum(big.ratePer1k))
  )
    return `${file}: change.largestChange is not an interval`;
  for (const k of ['testAcc50', 'testAcc95', 'lag50', 'lag95', 'correlation'])
    if (!numOrNull(change[k])) return `${file}: change.${k} is not a number`;
  if (!isNum(ticket.pruningRate) || !isNum(sparsity.relativeThreshold) || !isNum(v.randomDistance))
    return `${file}: ticket.pruningRate, sparsity.relativeThreshold or randomDistance is not a number`;
  return {
    pruningRate: ticket.pruningRate,
    relativeThreshold: sparsity.relativeThreshold,
    randomDistance: v.randomDistance,
    final: { checkpoint: String(final.checkpoint), step: Number(final.step) },
    rows: rows as ReportStructureRow[],
    change: change as ReportStructure['change'],
  };
}

/** A run's `graph.json` masks (null when the file is absent), or a one-line reason it cannot be shown. */
export function readGraph(file: string): ReportGraphMask[] | null | string {
  if (!fs.existsSync(file)) return null;
  const v = readTagged(file, 'grokking-tickets/mask-graph@1');
  if (typeof v === 'string') return v;
  if (!Array.isArray(v.masks)) return `${file}: masks is missing`;
  for (const [i, m] of v.masks.entries()) {
    if (
      !isObject(m) ||
      typeof m.name !== 'string' ||
      !isNum(m.kept) ||
      !isNum(m.units) ||
      !isObject(m.largestComponent) ||
      !numOrNull(m.averageShortestPath) ||
      !numOrNull(m.squareClustering) ||
      !numOrNull(m.robinsAlexanderClustering)
    )
      return `${file}: mask ${i + 1} lacks a name, counts or metrics`;
  }
  return v.masks as ReportGraphMask[];
}

const WHOLE = 'whole network';

/** A figure as `buildFigures` lists them (the `Figure` of figures.ts, which imports this module). */
interface StructureFigure {
  id: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

/**
 * One figure per run with a `structure.json`: test and train accuracy, and under it on the same step axis
 * the Jaccard distance of each checkpoint's ticket to the final ticket, the change between consecutive
 * tickets (per 1 000 steps, drawn at the interval's midpoint), and the weight sparsity; whole network and per
 * tensor. Rules mark the first steps at ≥ 50 % and ≥ 95 % test accuracy; a band marks the largest change.
 */
export function structureFigures(data: ReportData): StructureFigure[] {
  const out: StructureFigure[] = [];
  for (const r of data.runs) {
    const s = r.structure;
    if (!s || s.rows.length === 0) continue;
    out.push(structureFigure(r, s));
  }
  return out;
}

function structureFigure(r: ReportRun, s: ReportStructure): StructureFigure {
  const tensors = Object.keys(s.rows[0]!.distanceToFinalPerTensor);
  const series = [WHOLE, ...tensors];
  const acc: Array<Record<string, unknown>> = [];
  for (const row of r.rows)
    for (const split of ['train', 'test']) {
      const v = row[`${split}_acc`];
      if (typeof v === 'number' && Number.isFinite(v)) acc.push({ step: row.step, split, acc: v });
    }
  const points: Array<Record<string, unknown>> = [];
  for (const row of s.rows) {
    points.push({ panel: 'final', step: row.step, series: WHOLE, value: row.distanceToFinal });
    points.push({ panel: 'sparsity', step: row.step, series: WHOLE, value: row.sparsity });
    for (const t of tensors) {
      points.push({ panel: 'final', step: row.step, series: t, value: row.distanceToFinalPerTensor[t] ?? null });
      points.push({ panel: 'sparsity', step: row.step, series: t, value: row.sparsityPerTensor[t] ?? null });
    }
    if (row.distanceFromPrevious !== null && row.previousStep !== null && row.step > row.previousStep) {
      const mid = (row.step + row.previousStep) / 2;
      const per1k = 1000 / (row.step - row.previousStep);
      points.push({ panel: 'change', step: mid, series: WHOLE, value: row.distanceFromPrevious * per1k });
      for (const t of tensors) {
        const d = row.distanceFromPreviousPerTensor?.[t];
        if (typeof d === 'number') points.push({ panel: 'change', step: mid, series: t, value: d * per1k });
      }
    }
  }
  const marks = [
    ...(s.change.testAcc50 !== null ? [{ step: s.change.testAcc50, label: 'test ≥ 50 %' }] : []),
    ...(s.change.testAcc95 !== null ? [{ step: s.change.testAcc95, label: 'test ≥ 95 %' }] : []),
  ];
  const big = s.change.largestChange;
  const maxStep = Math.max(r.steps, ...s.rows.map((x) => x.step));
  const x = {
    field: 'step',
    type: 'quantitative' as const,
    title: 'step',
    scale: { domain: [0, maxStep], nice: false },
    axis: { format: '~s' },
  };
  // Rules and the band of the largest change, drawn in every panel.
  const guides = [
    ...(big
      ? [
          {
            data: { values: [{ from: big.from, to: big.to }] },
            mark: { type: 'rect' as const, color: '#f2c14e', opacity: 0.25 },
            encoding: { x: { ...x, field: 'from' }, x2: { field: 'to' } },
          },
        ]
      : []),
    {
      data: { values: marks.length ? marks : [{ step: -1, label: '' }] },
      transform: [{ filter: 'datum.step >= 0' }],
      mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#555' },
      encoding: { x },
    },
  ];
  const seriesColor = {
    field: 'series',
    type: 'nominal' as const,
    title: 'ticket',
    sort: series,
    scale: { domain: series, range: ['#222', '#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2'] },
  };
  const panel = (key: string, title: string, yTitle: string, extra: object[] = []) => ({
    title,
    width: 2 * W,
    height: 150,
    layer: [
      ...guides,
      ...extra,
      {
        data: { values: points },
        transform: [{ filter: `datum.panel === '${key}' && isValid(datum.value)` }],
        mark: { type: 'line' as const, strokeWidth: 1.5, point: { size: 14 } },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative' as const, title: yTitle, scale: { zero: key !== 'final' } },
          color: seriesColor,
          strokeWidth: { condition: { test: `datum.series === '${WHOLE}'`, value: 2.6 }, value: 1.2 },
        },
      },
    ],
  });
  const accuracy = {
    title: `accuracy of ${r.name}`,
    width: 2 * W,
    height: 150,
    layer: [
      ...guides,
      {
        data: { values: acc },
        mark: { type: 'line' as const, strokeWidth: 1.6 },
        encoding: {
          x,
          y: {
            field: 'acc',
            type: 'quantitative' as const,
            title: 'accuracy',
            scale: { domain: [0, 1] },
            axis: { format: '.0%' },
          },
          color: {
            field: 'split',
            type: 'nominal' as const,
            title: 'split',
            scale: { domain: ['train', 'test'], range: ['#9e9e9e', '#d62728'] },
          },
        },
      },
    ],
  };
  const random = {
    data: { values: [{ y: s.randomDistance }] },
    mark: { type: 'rule' as const, strokeDash: [2, 2], color: '#999' },
    encoding: { y: { field: 'y', type: 'quantitative' as const } },
  };
  const spec = {
    $schema: SCHEMA,
    config: CONFIG,
    vconcat: [
      accuracy,
      panel('final', 'Jaccard distance of each checkpoint\u2019s ticket to the final ticket', 'distance', [random]),
      panel('change', 'change between consecutive tickets, per 1 000 steps', 'distance / 1k steps'),
      panel('sparsity', `weight sparsity: fraction of |w| < ${s.relativeThreshold}·max|w|`, 'sparsity'),
    ],
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec;
  const bigText = big
    ? `The shaded band is the interval with the fastest change among those starting at or after step ${s.change.after} (memorisation, unless analyze was given --change-after): ${big.from}–${big.to}, distance ${big.distance.toFixed(3)}.`
    : '';
  return {
    id: `structure-${r.name}`,
    title: `Structural dynamics of ${r.name}`,
    caption:
      `At each saved checkpoint the ticket is the global magnitude mask at pruning rate ${s.pruningRate} (the grokking ticket's rule); the panels share the step axis with the accuracy curve. ` +
      `Distance to the final ticket (${s.final.checkpoint}, step ${s.final.step}) and between consecutive tickets are Jaccard distances 1 − |a ∧ b| / |a ∨ b|, over the whole network (thick) and per tensor; the dotted line is the distance of two independent random masks, ${s.randomDistance.toFixed(3)}. ` +
      `Sparsity is the fraction of weights below ${s.relativeThreshold} times the largest |w| (the reference's density notebook). Dashed rules: the first evaluations at ≥ 50 % and ≥ 95 % test accuracy. ${bigText} ` +
      `The resolution is the checkpoint interval (train with a finer --checkpoint-every for a finer trajectory).`,
    spec,
  };
}

const lag = (v: number | null) => (v === null ? '–' : `${v > 0 ? '+' : ''}${int(v)}`);

/** The report's tables of structural change and graph metrics (none when no run has the files). */
export function structureTables(data: ReportData): Array<{
  id: string;
  title: string;
  caption: string;
  header: string[];
  rows: string[][];
}> {
  const tables = [];
  const withStructure = data.runs.filter((r) => r.structure);
  if (withStructure.length > 0)
    tables.push({
      id: 'structural-change',
      title: 'Structural change and generalisation',
      caption:
        'From structure.json (grokking-tickets analyze): the interval between consecutive checkpoints, starting after memorisation (train accuracy ≥ 99 %) or after analyze --change-after, in which the magnitude ticket changed fastest (Jaccard distance per 1 000 steps), next to the first evaluations at ≥ 50 % and ≥ 95 % test accuracy. Lag = the interval\u2019s midpoint minus that step (negative: the change comes first). Correlation: Pearson, over those intervals, of the change rate and the test-accuracy gain per 1 000 steps. Sparsity: the fraction of |w| < k·max|w| at the first checkpoint, its minimum, and at the last.',
      header: [
        'run',
        'checkpoints',
        'largest change',
        'distance',
        'test ≥ 50 %',
        'test ≥ 95 %',
        'lag to 50 %',
        'lag to 95 %',
        'correlation',
        'sparsity first → min → last',
      ],
      rows: withStructure.map((r) => {
        const s = r.structure!;
        const c = s.change;
        const sp = s.rows.map((x) => x.sparsity);
        return [
          r.name,
          `${s.rows.length}`,
          c.largestChange ? `${int(c.largestChange.from)} → ${int(c.largestChange.to)}` : '–',
          c.largestChange ? c.largestChange.distance.toFixed(3) : '–',
          int(c.testAcc50),
          int(c.testAcc95),
          lag(c.lag50),
          lag(c.lag95),
          fixed(c.correlation, 2),
          sp.length ? `${sp[0]!.toFixed(3)} → ${Math.min(...sp).toFixed(3)} → ${sp[sp.length - 1]!.toFixed(3)}` : '–',
        ];
      }),
    });
  const withGraph = data.runs.filter((r) => r.graph && r.graph.length > 0);
  if (withGraph.length > 0)
    tables.push({
      id: 'mask-graph',
      title: 'Graph metrics of the masks',
      caption:
        'From graph.json (grokking-tickets analyze): the network as an undirected graph, units as nodes and kept weights as edges, over its largest connected component. Path length: the mean shortest-path length over all pairs of its units. Square clustering: the mean over its units of Lind et al.\u2019s C\u2084 (networkx square_clustering). Robins–Alexander: 4 × 4-cycles / 3-paths. The ordinary clustering coefficient is 0 on a layered network (no triangles), so these count squares instead. Random masks permute the grokking ticket\u2019s entries within each tensor, or over all tensors.',
      header: [
        'run',
        'mask',
        'kept',
        'units in largest component',
        'path length',
        'square clustering',
        'Robins–Alexander',
      ],
      rows: withGraph.flatMap((r) =>
        r.graph!.map((m) => [
          r.name,
          m.name,
          `${int(m.kept)} (${pct(m.keptFraction)})`,
          `${int(m.largestComponent.units)} of ${int(m.units)}`,
          fixed(m.averageShortestPath, 4),
          fixed(m.squareClustering, 4),
          fixed(m.robinsAlexanderClustering, 4),
        ]),
      ),
    });
  return tables;
}
