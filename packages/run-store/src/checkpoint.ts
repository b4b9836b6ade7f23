/**
 * Checkpoints on disk: `<name>.safetensors` holds the tensors and, in `__metadata__`, the meta as
 * JSON plus two SHA-256 checksums (of the meta text, and of every tensor's name, dtype, shape and
 * bytes). The `.safetensors` file is the whole truth and is verified on load, so a bit flip, a
 * changed dtype or shape, or swapped data offsets are all reported. `<name>.json` is a readable
 * copy (meta, dtypes, shapes, checksums) for people and scripts; it is written after the tensors,
 * so a crash between the two renames leaves it stale, which loading reports but does not fail on.
 */
import { createHash, randomUUID } from 'node:crypto';
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
/** Key under `__metadata__` that holds the SHA-256 (hex) of the meta JSON text. */
export const META_SHA_KEY = 'meta_sha256';
/** Key under `__metadata__` that holds the SHA-256 (hex) of the tensors (see {@link tensorsChecksum}). */
export const TENSORS_SHA_KEY = 'tensors_sha256';

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
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : `${at} is ${value}, which JSON cannot hold`;
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
      return `${at} is a ${value.constructor?.name ?? 'non-plain object'}, not a plain object`;
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

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 159)}…` : flat;
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
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
 * SHA-256 (hex) of a set of tensors: for each name in sorted order, the name, dtype and shape as
 * one JSON line, then the raw little-endian bytes. Covers everything a reader interprets, so a
 * changed dtype, shape or swapped data offsets change it as surely as a flipped bit.
 */
export function tensorsChecksum(tensors: Record<string, StoredTensor>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name]!;
    hash.update(`${JSON.stringify([name, t.dtype, t.shape])}\n`);
    hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return hash.digest('hex');
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** What the `.json` sidecar of a checkpoint holds (a readable copy; the `.safetensors` is authoritative). */
export interface CheckpointSidecar<M = Record<string, unknown>> {
  meta: M;
  tensors: Record<string, { dtype: string; shape: number[] }>;
  sha256: { tensors: string; meta: string };
}

/**
 * Writes `<path>` (safetensors with the meta and its checksums in `__metadata__`) and then
 * `<path without .safetensors>.json` (the readable sidecar), each atomically: a temp file in the
 * same folder, fsync, rename. The folder is created if needed; temp files
 * (`.<name>.<pid>.<random>.tmp`) are removed on failure. `meta` must be a plain JSON object (finite
 * numbers, no class instances; `undefined` properties are dropped). Throws {@link CheckpointError}.
 * @example
 * await saveCheckpoint('runs/x/final.safetensors', { tensors: { W: { dtype: 'F32', shape: [2], data: Float32Array.of(1,
 * 2) } }, meta: { step: 10 } });
 * const { tensors, meta, sidecar } = await loadCheckpoint('runs/x/final.safetensors'); // verified by checksum
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
  let tensorsSha: string;
  try {
    tensorsSha = tensorsChecksum(tensors);
    bytes = encodeSafetensors(tensors, {
      [META_KEY]: metaJson,
      [META_SHA_KEY]: sha256(metaJson),
      [TENSORS_SHA_KEY]: tensorsSha,
    });
  } catch (error) {
    if (error instanceof SafetensorsError)
      throw new CheckpointError(path, `cannot save: ${error.problem}`, { cause: error });
    throw error;
  }
  const sidecar: CheckpointSidecar<M> = {
    meta: JSON.parse(metaJson) as M,
    tensors: Object.fromEntries(
      Object.keys(tensors)
        .sort()
        .map((k) => [k, { dtype: tensors[k]!.dtype, shape: tensors[k]!.shape }]),
    ),
    sha256: { tensors: tensorsSha, meta: sha256(metaJson) },
  };

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
    await writeSynced(tempJson, `${JSON.stringify(sidecar, null, 2)}\n`);
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

/** A loaded checkpoint; `sidecar` says whether the readable `.json` copy matched. */
export interface LoadedCheckpoint<M = Record<string, unknown>> extends Checkpoint<M> {
  /** `ok`: the sidecar matches; `missing` or `stale` (e.g. a crash between the two renames of a save). */
  sidecar: 'ok' | 'missing' | 'stale';
  /** The verified SHA-256 of the tensors. */
  tensorsSha256: string;
}

/**
 * Reads and verifies a checkpoint. Throws {@link CheckpointError} naming the file for a missing or
 * truncated file, a malformed safetensors header (non-JSON, offsets out of range, overlapping or
 * with holes, shape × dtype size mismatch, unknown dtype), a meta that is not a JSON object, or a
 * checksum that does not match (a flipped bit, an edited meta, a changed dtype or shape, swapped
 * offsets); a file without checksums (written before they existed) is refused too. The `.json`
 * sidecar is only compared, never trusted: see {@link LoadedCheckpoint.sidecar}. The returned
 * tensors are fresh typed arrays. `M` is a type assertion only.
 */
export async function loadCheckpoint<M extends object = Record<string, unknown>>(
  path: string,
): Promise<LoadedCheckpoint<M>> {
  const jsonPath = sidecarPath(path);
  const bytes = await readOrFail(path, 'file');

  let decoded;
  try {
    decoded = decodeSafetensors(bytes, path);
  } catch (error) {
    if (error instanceof SafetensorsError) throw new CheckpointError(path, error.problem, { cause: error });
    throw error;
  }

  const md = decoded.metadata;
  if (!Object.prototype.hasOwnProperty.call(md, META_KEY)) {
    throw new CheckpointError(path, `__metadata__ has no "${META_KEY}" entry (not written by saveCheckpoint?)`);
  }
  if (typeof md[META_SHA_KEY] !== 'string' || typeof md[TENSORS_SHA_KEY] !== 'string') {
    throw new CheckpointError(path, 'has no checksums (written by a version before 0.2.0?); re-create it');
  }
  if (sha256(md[META_KEY]!) !== md[META_SHA_KEY])
    throw new CheckpointError(path, 'meta checksum mismatch: the file is corrupt or was edited');
  const tensorsSha = tensorsChecksum(decoded.tensors);
  if (tensorsSha !== md[TENSORS_SHA_KEY]) {
    throw new CheckpointError(
      path,
      'tensor checksum mismatch: the data, a dtype, a shape or an offset is corrupt or was edited',
    );
  }
  let meta: unknown;
  try {
    meta = JSON.parse(md[META_KEY]!);
  } catch (error) {
    throw new CheckpointError(path, `__metadata__ "${META_KEY}" is not valid JSON (${errorText(error)})`, {
      cause: error,
    });
  }
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw new CheckpointError(path, `__metadata__ "${META_KEY}" is not a JSON object`);
  }

  let sidecar: LoadedCheckpoint['sidecar'] = 'ok';
  try {
    const parsed = JSON.parse(await readFile(jsonPath, 'utf8')) as Partial<CheckpointSidecar>;
    if (parsed?.sha256?.tensors !== tensorsSha || parsed?.sha256?.meta !== md[META_SHA_KEY]) sidecar = 'stale';
  } catch (error) {
    sidecar = errorCode(error) === 'ENOENT' ? 'missing' : 'stale';
  }
  return { tensors: decoded.tensors, meta: meta as M, sidecar, tensorsSha256: tensorsSha };
}

/**
 * The first non-finite value (NaN or ±Infinity) among float tensors, as `{ name, index, value }`,
 * or null when every value is finite.
 */
export function firstNonFinite(
  tensors: Record<string, StoredTensor>,
): { name: string; index: number; value: number } | null {
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name]!;
    if (t.dtype !== 'F32' && t.dtype !== 'F64') continue;
    const d = t.data as Float32Array | Float64Array;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return { name, index: i, value: d[i]! };
  }
  return null;
}
