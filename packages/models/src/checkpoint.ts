/**
 * Checkpoints on disk: `<name>.safetensors` (the tensors, with the checkpoint's meta mirrored in
 * `__metadata__` as `{"meta": "<JSON>"}`) plus `<name>.json` (the same meta, pretty-printed, for
 * people and scripts). Saving is atomic per file; loading validates both files strictly.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { SafetensorsError, decodeSafetensors, encodeSafetensors } from './safetensors.js';
import type { StoredTensor } from './safetensors.js';

export { MAX_HEADER_BYTES, SafetensorsError, decodeSafetensors, encodeSafetensors } from './safetensors.js';
export type { DecodedSafetensors, SafetensorsDType, StoredTensor, TensorData } from './safetensors.js';

/**
 * A checkpoint that could not be saved or loaded. The message is one line,
 * `checkpoint <file>: <problem>`, naming the file at fault (the `.safetensors` file or its `.json`
 * sidecar); `file` and `problem` hold the two parts.
 */
export class CheckpointError extends Error {
  /** The file the problem is in. */
  readonly file: string;
  /** The problem alone, without the `checkpoint <file>:` prefix. */
  readonly problem: string;

  /** @param file the file at fault; @param problem what is wrong, one line. */
  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(`checkpoint ${file}: ${problem}`, options);
    this.name = 'CheckpointError';
    this.file = file;
    this.problem = problem;
  }
}

/** Tensors by name plus a JSON-serialisable `meta` object (step, config, metrics, ...). */
export interface Checkpoint<M = Record<string, unknown>> {
  tensors: Record<string, StoredTensor>;
  meta: M;
}

const EXTENSION = '.safetensors';
/** Key under `__metadata__` that holds `JSON.stringify(meta)`. */
export const META_KEY = 'meta';

/**
 * The sidecar path of a checkpoint: `runs/x/step-1000.safetensors` → `runs/x/step-1000.json`.
 * Throws {@link CheckpointError} if `path` does not end in `.safetensors`.
 */
export function sidecarPath(path: string): string {
  if (!path.endsWith(EXTENSION) || basename(path) === EXTENSION) {
    throw new CheckpointError(path, `path must end in "${EXTENSION}" (after a file name)`);
  }
  return `${path.slice(0, -EXTENSION.length)}.json`;
}

/** Why `value` would not survive a JSON round trip unchanged, or undefined if it would. */
function jsonProblem(value: unknown, at: string): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${at} is ${value}, which JSON cannot hold`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = jsonProblem(value[i], `${at}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      return `${at} is a ${(value as object).constructor?.name ?? 'non-plain object'}, not a plain object`;
    }
    for (const [key, child] of Object.entries(value)) {
      if (child === undefined) continue; // dropped by JSON, as an absent optional field would be
      const problem = jsonProblem(child, `${at}.${key}`);
      if (problem) return problem;
    }
    return undefined;
  }
  return `${at} is a ${typeof value}, which JSON cannot hold`;
}

/** First place where two parsed JSON values differ, as `path: a vs b`, or undefined if equal. */
function jsonDifference(a: unknown, b: unknown, at: string): string | undefined {
  const show = (v: unknown): string => {
    const text = JSON.stringify(v) ?? String(v);
    return text.length > 60 ? `${text.slice(0, 59)}…` : text;
  };
  if (a === b) return undefined;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) !== Array.isArray(b)) {
    return `${at}: ${show(a)} vs ${show(b)}`;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${at}: ${a.length} items vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = jsonDifference(a[i], b[i], `${at}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const key of Object.keys(ao)) {
    if (!Object.prototype.hasOwnProperty.call(bo, key)) return `${at}.${key}: ${show(ao[key])} vs missing`;
    const d = jsonDifference(ao[key], bo[key], `${at}.${key}`);
    if (d) return d;
  }
  for (const key of Object.keys(bo)) {
    if (!Object.prototype.hasOwnProperty.call(ao, key)) return `${at}.${key}: missing vs ${show(bo[key])}`;
  }
  return undefined;
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 159)}…` : flat;
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/** Creates `path` (which must not exist), writes `data`, and fsyncs it before closing. */
async function writeSynced(path: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes completed renames in `dir` durable; a no-op where directories cannot be fsynced. */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows and some filesystems refuse to open or fsync a directory; the renames still happened.
  } finally {
    await handle?.close();
  }
}

/**
 * Writes `<path>` (safetensors; meta also mirrored as __metadata__ {"meta": JSON string}) and
 * `<path without .safetensors>.json` (pretty JSON meta) atomically: write to temp files in the same
 * folder, fsync, rename; never leaves a half-written file at the final path.
 *
 * The folder is created if needed. Each file is replaced atomically (the `.safetensors` first, then
 * the `.json`), so a crash can at worst leave a new `.safetensors` next to the previous `.json`,
 * which {@link loadCheckpoint} reports as a disagreement rather than loading silently. Temp files
 * (`.<name>.<pid>.<random>.tmp`) are removed on failure. `meta` must be a plain JSON object
 * (finite numbers, no class instances; `undefined` properties are dropped). Throws
 * {@link CheckpointError}.
 */
export async function saveCheckpoint<M extends object = Record<string, unknown>>(
  path: string,
  checkpoint: Checkpoint<M>,
): Promise<void> {
  const jsonPath = sidecarPath(path);
  const { meta, tensors } = checkpoint;
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw new CheckpointError(path, 'cannot save: meta must be a plain JSON object');
  }
  const problem = jsonProblem(meta, 'meta');
  if (problem) throw new CheckpointError(path, `cannot save: ${problem}`);
  const metaJson = JSON.stringify(meta);

  let bytes: Uint8Array;
  try {
    bytes = encodeSafetensors(tensors, { [META_KEY]: metaJson });
  } catch (error) {
    if (error instanceof SafetensorsError) throw new CheckpointError(path, `cannot save: ${error.problem}`, { cause: error });
    throw error;
  }

  const dir = dirname(path);
  const tag = `${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  const tempTensors = join(dir, `.${basename(path)}.${tag}`);
  const tempJson = join(dir, `.${basename(jsonPath)}.${tag}`);
  const pending = new Set<string>();
  let failing = path;
  try {
    await mkdir(dir, { recursive: true });
    pending.add(tempTensors);
    await writeSynced(tempTensors, bytes);
    failing = jsonPath;
    pending.add(tempJson);
    await writeSynced(tempJson, `${JSON.stringify(meta, null, 2)}\n`);
    failing = path;
    await rename(tempTensors, path);
    pending.delete(tempTensors);
    failing = jsonPath;
    await rename(tempJson, jsonPath);
    pending.delete(tempJson);
    await syncDirectory(dir);
  } catch (error) {
    await Promise.all([...pending].map((temp) => unlink(temp).catch(() => undefined)));
    throw new CheckpointError(failing, `cannot save: ${errorText(error)}`, { cause: error });
  }
}

async function readOrFail(file: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') throw new CheckpointError(file, `${what} not found`, { cause: error });
    throw new CheckpointError(file, `cannot read ${what}: ${errorText(error)}`, { cause: error });
  }
}

/**
 * Reads and validates both files; throws CheckpointError for a missing file, a truncated file, a
 * bad header (non-JSON, header length beyond file, offsets out of range/overlapping/holes,
 * shape × dtype size mismatch, unknown dtype), or a JSON sidecar that does not parse or disagrees
 * with the embedded metadata.
 *
 * The embedded `__metadata__.meta` must be a JSON object and the sidecar must equal it structurally
 * (key order and formatting may differ). Other `__metadata__` keys are allowed and ignored. The
 * returned tensors are fresh typed arrays. `M` is a type assertion only: `meta` is checked to be a
 * JSON object, not checked against `M`.
 */
export async function loadCheckpoint<M extends object = Record<string, unknown>>(path: string): Promise<Checkpoint<M>> {
  const jsonPath = sidecarPath(path);
  const bytes = await readOrFail(path, 'file');

  let decoded;
  try {
    decoded = decodeSafetensors(bytes, path);
  } catch (error) {
    if (error instanceof SafetensorsError) throw new CheckpointError(path, error.problem, { cause: error });
    throw error;
  }

  if (!Object.prototype.hasOwnProperty.call(decoded.metadata, META_KEY)) {
    throw new CheckpointError(path, `__metadata__ has no "${META_KEY}" entry (not written by saveCheckpoint?)`);
  }
  let meta: unknown;
  try {
    meta = JSON.parse(decoded.metadata[META_KEY]!);
  } catch (error) {
    throw new CheckpointError(path, `__metadata__ "${META_KEY}" is not valid JSON (${errorText(error)})`, { cause: error });
  }
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw new CheckpointError(path, `__metadata__ "${META_KEY}" is not a JSON object`);
  }

  const sidecarBytes = await readOrFail(jsonPath, 'sidecar');
  let sidecar: unknown;
  try {
    sidecar = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(sidecarBytes));
  } catch (error) {
    throw new CheckpointError(jsonPath, `sidecar is not valid JSON (${errorText(error)})`, { cause: error });
  }
  const difference = jsonDifference(sidecar, meta, 'meta');
  if (difference) {
    throw new CheckpointError(
      jsonPath,
      `sidecar disagrees with the metadata embedded in ${basename(path)} at ${difference} (sidecar vs embedded)`,
    );
  }
  return { tensors: decoded.tensors, meta: meta as M };
}
