import fs from 'node:fs';
import path from 'node:path';
import { FormatError } from './errors.js';
import type { SkippedInput, SweepFolder, SweepPointValues, SweepResultRow } from './types.js';

/** The `sweep.json` format written and read here (`grokking-tickets sweep` writes it). */
export const SWEEP_FORMAT = 1;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const shown = (v: unknown) => (v === undefined ? 'nothing' : (JSON.stringify(v)?.slice(0, 60) ?? String(v)));

/** An axis value as a report shows it: numbers and strings as they are, a variant by its name. */
function axisValue(v: unknown): string | number {
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (isObject(v) && typeof v.name === 'string') return v.name;
  return JSON.stringify(v) ?? String(v);
}

type Check = (v: unknown) => string | null;
const str: Check = (v) => (typeof v === 'string' ? null : 'must be a string');
const strOrNull: Check = (v) => (v === null || typeof v === 'string' ? null : 'must be a string or null');
const num: Check = (v) => (typeof v === 'number' && Number.isFinite(v) ? null : 'must be a finite number');
const numOrNull: Check = (v) =>
  v === null || (typeof v === 'number' && Number.isFinite(v)) ? null : 'must be a finite number or null';
const stepOrNull: Check = (v) =>
  v === null || v === 'final' || (typeof v === 'number' && Number.isInteger(v) && v >= 0)
    ? null
    : 'must be a step, "final" or null';
const indexes: Check = (v) =>
  Array.isArray(v) && v.length > 0 && v.every((i) => Number.isInteger(i) && i >= 0)
    ? null
    : 'must be a non-empty list of point indexes';

/** The columns a report relies on, and what each must hold. */
const COLUMNS: ReadonlyArray<readonly [Exclude<keyof SweepResultRow, 'line'>, Check]> = [
  ['runId', str],
  ['role', str],
  ['arm', strOrNull],
  ['status', str],
  ['error', strOrNull],
  ['points', indexes],
  ['seed', num],
  ['steps', num],
  ['pruner', strOrNull],
  ['pruningRate', numOrNull],
  ['fromStep', stepOrNull],
  ['retrainWeightDecay', numOrNull],
  ['weightDecay', num],
  ['stepsToTest95', numOrNull],
  ['denseStepsToTest95', numOrNull],
  ['speedupVsDense', numOrNull],
  ['finalTestAcc', numOrNull],
  ['dir', str],
];

/** Why a parsed results line is not a usable row, or null when it is. */
function rowProblem(value: unknown, points: number): string | null {
  if (!isObject(value)) return 'not a results row (a JSON object)';
  for (const [key, check] of COLUMNS) {
    if (!(key in value)) return `"${key}" is missing`;
    const problem = check(value[key]);
    if (problem) return `"${key}" ${problem}, got ${shown(value[key])}`;
  }
  const outside = (value.points as number[]).find((i) => i >= points);
  if (outside !== undefined) return `point ${outside} is not in sweep.json (it has ${points} points)`;
  return null;
}

/**
 * Reads the result rows of a sweep, tolerantly: a line that is not valid JSON or not a usable row
 * (a column missing or of the wrong type, a point the sweep does not have) is left out and listed
 * with its file and line; blank lines are ignored. `file` is the path shown in messages.
 */
export function parseSweepRows(
  text: string,
  file: string,
  points: number,
): { rows: SweepResultRow[]; skipped: SkippedInput[] } {
  const rows: SweepResultRow[] = [];
  const skipped: SkippedInput[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const at = `${file}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skipped.push({ path: at, reason: `${at}: not valid JSON; row left out` });
      return;
    }
    const problem = rowProblem(value, points);
    if (problem) {
      skipped.push({ path: at, reason: `${at}: ${problem}; row left out` });
      return;
    }
    const v = value as Record<string, unknown>;
    const row = Object.fromEntries(COLUMNS.map(([key]) => [key, v[key]])) as Omit<SweepResultRow, 'line'>;
    rows.push({ ...row, points: [...row.points], line: i + 1 });
  });
  return { rows, skipped };
}

/**
 * Checks `sweep.json` and returns its name, kind, axes and points (axis values as shown: a variant by
 * its name); throws a FormatError naming the file and field.
 */
export function parseSweepRecord(
  value: unknown,
  file: string,
  fallbackName: string,
): Omit<SweepFolder, 'dir' | 'rows' | 'resultsFile'> {
  if (!isObject(value)) throw new FormatError(`${file}: not a sweep record (a JSON object)`);
  if (value.format !== SWEEP_FORMAT)
    throw new FormatError(`${file}: format ${shown(value.format)}; this report reads format ${SWEEP_FORMAT}`);
  const fail = (field: string, what: string, got: unknown) =>
    new FormatError(`${file}: ${field} ${what}, got ${shown(got)}`);
  if (value.name !== undefined && typeof value.name !== 'string') throw fail('name', 'must be a string', value.name);
  if (typeof value.kind !== 'string') throw fail('kind', 'must be a string', value.kind);
  if (value.description !== undefined && typeof value.description !== 'string')
    throw fail('description', 'must be a string', value.description);
  if (!Array.isArray(value.axes)) throw fail('axes', 'must be a list', value.axes);
  const axes = value.axes.map((a, i) => {
    if (!isObject(a) || typeof a.name !== 'string' || !Array.isArray(a.values))
      throw fail(`axes[${i}]`, 'must be { name, values }', a);
    return { name: a.name, values: a.values.map(axisValue) };
  });
  if (!Array.isArray(value.points) || value.points.length === 0)
    throw fail('points', 'must be a non-empty list', value.points);
  const points: SweepPointValues[] = value.points.map((p, i) => {
    if (!isObject(p) || p.index !== i || !isObject(p.axes))
      throw fail(`points[${i}]`, `must be { index: ${i}, axes, label }`, p);
    const pointAxes = Object.fromEntries(Object.entries(p.axes).map(([k, v]) => [k, axisValue(v)]));
    return {
      index: i,
      axes: pointAxes,
      label:
        typeof p.label === 'string'
          ? p.label
          : Object.entries(pointAxes)
              .map(([k, v]) => `${k} ${v}`)
              .join(', '),
    };
  });
  for (const p of points) {
    for (const a of axes)
      if (!(a.name in p.axes)) throw fail(`points[${p.index}].axes`, `has no value of axis "${a.name}"`, p.axes);
  }
  return {
    name: value.name ?? fallbackName,
    description: value.description ?? null,
    kind: value.kind,
    axes,
    points,
  };
}

/**
 * Reads a sweep folder (`sweep.json` and `sweep-results.jsonl`, as `grokking-tickets sweep` writes
 * them) without touching its run folders. Returns the sweep and the result lines it had to leave out
 * (sweep null, with the reason among them, when no row is readable); throws a
 * `FormatError` naming the file at fault when the sweep cannot be read at all (no
 * `sweep.json`, a damaged one, no results file). `shownDir` is the folder as people should see it
 * (used in every message).
 */
export function loadSweepFolder(dir: string, shownDir = dir): { sweep: SweepFolder | null; skipped: SkippedInput[] } {
  const sweepFile = path.join(shownDir, 'sweep.json');
  const resultsFile = path.join(shownDir, 'sweep-results.jsonl');
  const read = (file: string, name: string) => {
    try {
      return fs.readFileSync(path.join(dir, name), 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new FormatError(
        code === 'ENOENT'
          ? `${file} is missing${name === 'sweep-results.jsonl' ? ' (the sweep has not written its results yet)' : ''}`
          : `${file}: cannot read (${code ?? (e as Error).message})`,
      );
    }
  };
  let record: unknown;
  try {
    record = JSON.parse(read(sweepFile, 'sweep.json'));
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(`${sweepFile}: not valid JSON`);
  }
  const head = parseSweepRecord(record, sweepFile, path.basename(path.resolve(dir)));
  const { rows, skipped } = parseSweepRows(read(resultsFile, 'sweep-results.jsonl'), resultsFile, head.points.length);
  if (rows.length === 0)
    return {
      sweep: null,
      skipped: [...skipped, { path: resultsFile, reason: `${resultsFile}: holds no readable rows; sweep left out` }],
    };
  return { sweep: { ...head, dir: shownDir, rows, resultsFile }, skipped };
}
