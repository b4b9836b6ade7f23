import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReport, loadReportData, reportMarkdown } from '../src/index.js';
import { makeRun, tmp } from './fixtures.js';

const per = (v: number) => ({ W_E: v, W_in: v, W_out: v, W_U: v });
/** A structure.json as `grokking-tickets analyze` writes it, for checkpoints at 0, 200, 400, 600. */
function structureFile() {
  const rows = [0, 200, 400, 600].map((step, i) => ({
    checkpoint: step === 600 ? 'final' : step === 0 ? 'init' : `step-000${step}`,
    step,
    previousStep: i === 0 ? null : step - 200,
    keptFraction: 0.4,
    distanceToFinal: [0.7, 0.6, 0.3, 0][i],
    distanceToFinalPerTensor: per([0.7, 0.6, 0.3, 0][i]!),
    distanceFromPrevious: i === 0 ? null : [0, 0.2, 0.4, 0.3][i],
    distanceFromPreviousPerTensor: i === 0 ? null : per([0, 0.2, 0.4, 0.3][i]!),
    sparsity: [0.8, 0.3, 0.35, 0.4][i],
    sparsityPerTensor: per([0.8, 0.3, 0.35, 0.4][i]!),
    sparsityThreshold: 0.1,
    maxAbsWeight: 0.5,
  }));
  return {
    format: 'grokking-tickets/structure@1',
    ticket: { pruner: 'magnitude', scope: 'global', pruningRate: 0.6, tensors: ['W_E', 'W_in', 'W_out', 'W_U'] },
    final: { checkpoint: 'final', step: 600 },
    randomDistance: 0.75,
    sparsity: { relativeThreshold: 0.2, definition: 'fraction of |w| < k·max|w|' },
    rows,
    change: {
      after: 100,
      afterRule: 'memorization',
      largestChange: { from: 200, to: 400, distance: 0.4, ratePer1k: 2, testAccGain: 0.5 },
      testAcc50: 300,
      testAcc95: 500,
      memorized: 100,
      lag50: 0,
      lag95: -200,
      contains50: true,
      contains95: false,
      correlation: 0.87,
      intervals: [],
    },
  };
}
const graphFile = {
  format: 'grokking-tickets/mask-graph@1',
  network: { layers: [], links: [] },
  masks: [
    {
      name: 'grokking ticket',
      source: 'final',
      step: 600,
      kept: 70,
      keptFraction: 0.4,
      seconds: 0.01,
      units: 30,
      edges: 70,
      activeUnits: 29,
      components: 1,
      largestComponent: { units: 29, edges: 70 },
      averageShortestPath: 2.5,
      squareClustering: 0.25,
      robinsAlexanderClustering: 0.375,
      fourCycles: 3,
      threePaths: 32,
    },
    {
      name: 'random (uniform)',
      source: 'permuted',
      step: null,
      kept: 70,
      keptFraction: 0.4,
      seconds: 0.01,
      units: 30,
      edges: 70,
      activeUnits: 30,
      components: 1,
      largestComponent: { units: 30, edges: 70 },
      averageShortestPath: null,
      squareClustering: 0.125,
      robinsAlexanderClustering: 0.25,
      fourCycles: 2,
      threePaths: 32,
    },
  ],
};

describe('structural dynamics and graph metrics in a report', () => {
  it('draws structure.json under the accuracy curve and tabulates it and graph.json', async () => {
    const dir = await makeRun(path.join(tmp(), 'dense'), { testAcc: [0, 0.1, 0.2, 0.6, 0.9, 0.96, 1] });
    fs.writeFileSync(path.join(dir, 'structure.json'), JSON.stringify(structureFile()));
    fs.writeFileSync(path.join(dir, 'graph.json'), JSON.stringify(graphFile));
    const report = await buildReport(await loadReportData([dir]));
    expect(report.data.runs[0]!.notes).toEqual([]);
    const fig = report.figures.find((f) => f.id === 'structure-dense')!;
    expect(fig.title).toBe('Structural dynamics of dense');
    expect(fig.caption).toContain(
      'fastest change among those starting at or after step 100 (memorisation, unless analyze was given --change-after): 200–400, distance 0.400.',
    );
    // four panels stacked on one step axis: accuracy, distance to final, change, sparsity
    const spec = fig.spec as unknown as { vconcat: Array<{ title: string }> };
    expect(spec.vconcat.map((p) => p.title)).toEqual([
      'accuracy of dense',
      'Jaccard distance of each checkpoint\u2019s ticket to the final ticket',
      'change between consecutive tickets, per 1 000 steps',
      'weight sparsity: fraction of |w| < 0.2·max|w|',
    ]);
    expect(fig.svg).toMatch(/^<svg /);
    const change = report.tables.find((t) => t.id === 'structural-change')!;
    expect(change.rows).toEqual([
      ['dense', '4', '200 → 400', '0.400', '300', '500', '0', '-200', '0.87', '0.800 → 0.300 → 0.400'],
    ]);
    const graph = report.tables.find((t) => t.id === 'mask-graph')!;
    expect(graph.rows).toEqual([
      ['dense', 'grokking ticket', '70 (40.0 %)', '29 of 30', '2.5000', '0.2500', '0.3750'],
      ['dense', 'random (uniform)', '70 (40.0 %)', '30 of 30', '–', '0.1250', '0.2500'],
    ]);
    const md = reportMarkdown(report).markdown;
    expect(md).toContain('## Structural change and generalisation');
    expect(md).toContain('## Graph metrics of the masks');
  });

  it('a damaged or foreign file is a note, and the rest of the report stands', async () => {
    const dir = await makeRun(path.join(tmp(), 'dense'), { testAcc: [0, 0.5, 1] });
    fs.writeFileSync(path.join(dir, 'structure.json'), '{"format": "grokking-tickets/structure@1", "rows": [');
    const bad = structureFile();
    (bad.rows[1] as Record<string, unknown>).distanceToFinal = 'x';
    fs.writeFileSync(path.join(dir, 'graph.json'), JSON.stringify({ format: 'something else' }));
    let report = await buildReport(await loadReportData([dir]));
    expect(report.data.runs[0]!.notes).toEqual([
      `${path.join(dir, 'structure.json')}: not valid JSON; structural dynamics left out`,
      `${path.join(dir, 'graph.json')}: not a grokking-tickets/mask-graph@1 file; graph metrics left out`,
    ]);
    expect(report.figures.some((f) => f.id.startsWith('structure'))).toBe(false);
    expect(report.tables.some((t) => t.id === 'structural-change' || t.id === 'mask-graph')).toBe(false);
    fs.writeFileSync(path.join(dir, 'structure.json'), JSON.stringify(bad));
    fs.rmSync(path.join(dir, 'graph.json'));
    report = await buildReport(await loadReportData([dir]));
    expect(report.data.runs[0]!.notes).toEqual([
      `${path.join(dir, 'structure.json')}: row 2 lacks a step, distances or sparsity; structural dynamics left out`,
    ]);
  });
});
