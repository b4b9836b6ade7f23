import fs from 'node:fs';
import { CorruptRunError } from './errors.js';

/** One metrics row as stored: a JSON object with an integer `step`; other fields are the writer's. */
export type StoredRow = { step: number } & Record<string, unknown>;

/** The parsed content of a `metrics.jsonl` file. */
export interface MetricsFile {
  rows: StoredRow[];
  /**
   * 1-based number of a last line that was cut short (no newline, not JSON): what a crash in the
   * middle of an append leaves. It holds no complete row; writers drop it when they resume.
   */
  tornLine: number | null;
}

/**
 * Parses `metrics.jsonl` text strictly: every complete line must be a JSON object with an integer
 * `step` >= 0, steps strictly increasing. A bad line anywhere but a cut-short last one throws a
 * {@link CorruptRunError} naming the file and line, so no row after it is ever dropped silently.
 */
export function parseMetrics(text: string, file: string): MetricsFile {
  const lines = text.split('\n');
  const endsWithNewline = text.endsWith('\n');
  const rows: StoredRow[] = [];
  let tornLine: number | null = null;
  let previous = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const isLast = i === lines.length - 1;
    if (isLast && line === '') break; // the newline after the last row
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      if (isLast && !endsWithNewline) {
        tornLine = i + 1;
        break;
      }
      throw new CorruptRunError(file, line.trim() === '' ? 'empty line' : 'not valid JSON', { line: i + 1 });
    }
    if (row === null || typeof row !== 'object' || Array.isArray(row))
      throw new CorruptRunError(file, 'not a JSON object', { line: i + 1 });
    const step = (row as { step?: unknown }).step;
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0)
      throw new CorruptRunError(file, `"step" must be an integer >= 0, got ${JSON.stringify(step)}`, { line: i + 1 });
    if (step <= previous)
      throw new CorruptRunError(file, `step ${step} does not follow step ${previous}`, { line: i + 1 });
    previous = step;
    rows.push(row as StoredRow);
  }
  return { rows, tornLine };
}

/** Reads and parses a metrics file; a missing file is an empty one. */
export function readMetricsFile(file: string): MetricsFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { rows: [], tornLine: null };
    throw new CorruptRunError(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseMetrics(text, file);
}
