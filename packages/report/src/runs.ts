import fs from 'node:fs';
import path from 'node:path';
import { validateMetricsRow } from '@grokking-tickets/grokking-metrics';
import { CheckpointError, RunFolderError, RunStore, parseMetrics, type StoredRow } from '@grokking-tickets/run-store';
import { ReportInputError } from './errors.js';
import { readGraph, readStructure } from './structure.js';
import type { Float32Arrays, ReportRun } from './types.js';

/** How a run is labelled in a report. */
export interface RunLabel {
  name?: string;
  group?: string | null;
  arm?: string | null;
}

/** Errors of the run store name their file (and line); they become the reason a run is skipped. */
function asInputError(e: unknown): never {
  if (e instanceof RunFolderError || e instanceof CheckpointError) throw new ReportInputError(e.message, { cause: e });
  throw e;
}

/** Step of a checkpoint name: `init` 0, `step-NNNNNN` NNNNNN, `final` the run's steps; null for other names. */
export function checkpointStep(name: string, steps: number): number | null {
  if (name === 'init') return 0;
  if (name === 'final') return steps;
  const m = /^step-(\d+)$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** The folder as people should see it: relative to `cwd` when inside it, else as it is. */
export function displayPath(dir: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, path.resolve(cwd, dir));
  if (rel === '') return '.';
  return rel.startsWith('..') || path.isAbsolute(rel) ? path.resolve(cwd, dir) : rel;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Reads one run folder for a report and verifies what it reads: `config.json` against its hash, every
 * metrics line (a damaged line names its file and line; a last line cut short by an interruption is
 * left out with a note), the last checkpoint (`final`, else the latest `step-NNNNNN`) and the `init`
 * checkpoint (the masks) by checksum, config hash, shapes and finiteness. The Fourier analysis comes
 * from the metrics rows that carry it, else from `analysis.jsonl` (written by `analyzeRun`).
 * Throws a {@link ReportInputError} naming the file at fault when the run cannot be reported.
 */
export async function loadRunFolder(dir: string, label: RunLabel = {}, cwd = process.cwd()): Promise<ReportRun> {
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (!stat) throw new ReportInputError(`${dir} does not exist`);
  if (!stat.isDirectory()) throw new ReportInputError(`${dir} is not a folder`);
  const store = new RunStore(dir);
  if (!store.exists()) throw new ReportInputError(`${dir} is not a run folder (no config.json)`);
  const notes: string[] = [];
  let record;
  try {
    record = store.readRecord<Record<string, unknown>>();
  } catch (e) {
    asInputError(e);
  }
  const config = record.config;
  const configFile = store.file('config.json');
  if (
    !isObject(config) ||
    !isObject(config.model) ||
    typeof config.steps !== 'number' ||
    typeof config.evalEvery !== 'number'
  ) {
    throw new ReportInputError(`${configFile}: config has no model, steps or evalEvery; is it a training run?`);
  }
  const parameters = record.parameters;
  if (
    !Array.isArray(parameters) ||
    parameters.length === 0 ||
    !parameters.every((p) => isObject(p) && typeof p.name === 'string' && Array.isArray(p.shape))
  ) {
    throw new ReportInputError(`${configFile}: lists no parameters (name and shape)`);
  }
  const shapes = Object.fromEntries(
    (parameters as Array<{ name: string; shape: number[] }>).map((p) => [p.name, p.shape]),
  );
  const steps = config.steps;

  // Metrics: strict, line by line.
  let metrics;
  try {
    metrics = store.readMetricsFile();
  } catch (e) {
    asInputError(e);
  }
  const metricsFile = store.file('metrics.jsonl');
  if (metrics.rows.length === 0)
    throw new ReportInputError(`${metricsFile}: ${fs.existsSync(metricsFile) ? 'holds no rows' : 'is missing'}`);
  metrics.rows.forEach((row, i) => {
    const problem = validateMetricsRow(row);
    if (problem) throw new ReportInputError(`${metricsFile}:${i + 1}: ${problem}`);
  });
  if (metrics.tornLine !== null)
    notes.push(`${metricsFile}:${metrics.tornLine}: a line cut short (an interrupted write); left out`);
  const finished = store.isFinished();
  const lastRow = metrics.rows[metrics.rows.length - 1]!;
  if (!finished)
    notes.push(`${displayPath(dir, cwd)}: unfinished, its metrics end at step ${lastRow.step} of ${steps}`);

  // Checkpoints: the last weights and the init masks, verified.
  const names = store.checkpointNames();
  const ordered = names
    .map((name) => ({ name, step: checkpointStep(name, steps) }))
    .filter((c): c is { name: string; step: number } => c.step !== null)
    .sort((a, b) => a.step - b.step || (a.name === 'final' ? 1 : -1));
  if (ordered.length === 0)
    throw new ReportInputError(`${store.file('checkpoints')}: no checkpoints (init, step-NNNNNN, final)`);
  const last = ordered[ordered.length - 1]!;
  const expect = { configHash: record.configHash, shapes };
  let weights: Float32Arrays;
  let masks: Float32Arrays | null = null;
  try {
    const loaded = await store.loadWeights(last.name, expect);
    weights = loaded.weights;
    if (ordered[0]!.name === 'init') {
      const init = last.name === 'init' ? loaded : await store.loadWeights('init', expect);
      masks = Object.keys(init.masks).length > 0 ? init.masks : null;
    } else
      notes.push(
        `${store.file('checkpoints', 'init.safetensors')} is missing: the run's masks are unknown, shown as dense`,
      );
  } catch (e) {
    asInputError(e);
  }
  if (last.name !== 'final' && finished)
    notes.push(`${store.file('checkpoints')}: no final checkpoint; spectra use ${last.name}`);

  // Fourier analysis: logged rows, else analysis.jsonl.
  let analysis: StoredRow[] = metrics.rows.filter((r) => 'freq_entropy_in' in r);
  let analysisSource: ReportRun['analysisSource'] = analysis.length > 0 ? 'metrics.jsonl' : null;
  const analysisFile = store.file('analysis.jsonl');
  if (analysis.length === 0 && fs.existsSync(analysisFile)) {
    try {
      analysis = parseMetrics(fs.readFileSync(analysisFile, 'utf8'), analysisFile).rows.filter(
        (r) => 'freq_entropy_in' in r,
      );
      analysisSource = analysis.length > 0 ? 'analysis.jsonl' : null;
    } catch (e) {
      notes.push(`${(e as Error).message}; frequency curves left out`);
    }
  }

  // Structural dynamics and graph metrics (grokking-tickets analyze); a damaged file is a note, not a failure.
  const structure = readStructure(store.file('structure.json'));
  if (typeof structure === 'string') notes.push(`${structure}; structural dynamics left out`);
  const graph = readGraph(store.file('graph.json'));
  if (typeof graph === 'string') notes.push(`${graph}; graph metrics left out`);

  return {
    name: label.name ?? path.basename(path.resolve(dir)),
    dir: displayPath(dir, cwd),
    group: label.group ?? null,
    arm: label.arm ?? null,
    config,
    model: String(config.model.kind),
    steps,
    evalEvery: config.evalEvery,
    finished,
    rows: metrics.rows,
    analysis,
    analysisSource,
    lastCheckpoint: last.name,
    lastStep: last.step,
    weights: weights!,
    masks,
    shapes,
    notes,
    structure: typeof structure === 'string' ? null : structure,
    graph: typeof graph === 'string' ? null : graph,
  };
}
