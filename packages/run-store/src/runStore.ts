import fs from 'node:fs';
import path from 'node:path';
import { removeTempFiles, writeFileAtomic } from './atomic.js';
import { CheckpointError, firstNonFinite, loadCheckpoint, saveCheckpoint, type StoredTensor } from './checkpoint.js';
import { CorruptRunError, RunFolderError } from './errors.js';
import { configHash } from './hash.js';
import { LOCK_FILE, acquireLock, type FolderLock } from './lock.js';
import { readMetricsFile, type MetricsFile, type StoredRow } from './metrics.js';

/** Tensors by parameter name as plain float32 arrays (weights, masks, moments). */
export type Float32Arrays = Record<string, Float32Array>;

/** Optimiser state as stored in the resume file: step counter and per-parameter moments. */
export interface StoredOptimizerState {
  t: number;
  m: Float32Arrays;
  v: Float32Arrays;
}

/** What a resume file holds besides tensors. */
export interface ResumeMeta {
  /** Updates done. */
  step: number;
  configHash: string;
  /** Training wall time already spent, in ms, so summaries add up across interruptions. */
  elapsedMs: number;
}

/** The `config.json` of a run: its resolved config, that config's hash, and how it came about. */
export interface RunRecord<C = unknown> {
  config: C;
  configHash: string;
  /** Where the run comes from (an experiment's arm, a sweep), or null for a plain run. */
  provenance: Record<string, unknown> | null;
  /** Which code made it: package versions, git commit, Node, backend. */
  code?: Record<string, unknown>;
  [key: string]: unknown;
}

/** What a loaded weights checkpoint holds, split by name prefix. */
export interface LoadedWeights {
  weights: Float32Arrays;
  masks: Float32Arrays;
  meta: Record<string, unknown>;
  /** Other tensors (`data/...`), e.g. the `rand` op's table. */
  extra: Record<string, StoredTensor>;
}

/** What a checkpoint must match to be used: the run's config hash and every parameter's shape. */
export interface CheckpointExpectation {
  configHash: string;
  shapes: Record<string, number[]>;
}

/** Entries a run folder may hold; anything else is somebody else's file and is never deleted. */
const RUN_ENTRIES = [
  'config.json',
  'metrics.jsonl',
  'summary.json',
  'checkpoints',
  'state',
  'analysis.jsonl',
  'report.html',
  'export',
  LOCK_FILE,
];

const f32 = (shape: number[], data: Float32Array): StoredTensor => ({ dtype: 'F32', shape, data });
const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** True when `dir` (recursively) holds no file other than temp files and a lock. */
function holdsNoFiles(dir: string): boolean {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      if (!holdsNoFiles(path.join(dir, e.name))) return false;
    } else if (e.name !== LOCK_FILE && !e.name.endsWith('.tmp')) return false;
  }
  return true;
}

/**
 * One run folder (open_lth style): `config.json` (the fully resolved config, its hash and
 * provenance), `metrics.jsonl` (a row per evaluation), `checkpoints/` (`init`, `step-NNNNNN` =
 * weights after NNNNNN updates, `final`; safetensors with checksums), `state/resume.safetensors`
 * (weights + AdamW moments) and `summary.json` when finished. Every file is written atomically, and
 * every file that drives execution is verified when read back: the config against its hash,
 * checkpoints against their checksums, config hash, shapes and for finite values, the resume state
 * for range and consistency, the metrics line by line.
 * @example
 * const store = new RunStore('runs/my-run');
 * const lock = store.lock('my-script');
 * try {
 *   if (store.exists()) console.log(store.readRecord().configHash, store.readMetrics().length);
 * } finally {
 *   lock.release();
 * }
 */
export class RunStore {
  constructor(readonly dir: string) {}

  /** Path of a file inside the run folder. */
  file(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /** True when the folder holds a run (a config.json). */
  exists(): boolean {
    return fs.existsSync(this.file('config.json'));
  }

  /** True when the run finished (summary.json written). */
  isFinished(): boolean {
    return fs.existsSync(this.file('summary.json'));
  }

  /**
   * Takes the folder's exclusive lock (creating the folder if needed) and removes temp files that
   * interrupted writes left behind (safe: no live writer can own them while we hold the lock).
   */
  lock(command: string): FolderLock {
    try {
      fs.mkdirSync(this.dir, { recursive: true });
    } catch (e) {
      throw new RunFolderError(
        `cannot create ${this.dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        { cause: e },
      );
    }
    if (!fs.statSync(this.dir).isDirectory()) throw new RunFolderError(`${this.dir} exists and is not a folder`);
    const lock = acquireLock(this.dir, command);
    removeTempFiles(this.dir);
    return lock;
  }

  /**
   * Makes the (locked) folder ready for a new run. A folder that holds a run is refused unless
   * `force`, which removes the run's own entries and nothing else; a folder left by a run that died
   * before writing its config (empty sub-folders, temp files) is simply reused; a folder holding
   * other files is refused.
   */
  prepareNew(force: boolean): void {
    const entries = fs.readdirSync(this.dir).filter((e) => e !== LOCK_FILE);
    if (this.exists() && !force)
      throw new RunFolderError(
        `run folder ${this.dir} already exists; pass --resume to continue it or --force to overwrite it`,
      );
    const foreign = entries.filter((e) => !RUN_ENTRIES.includes(e) && !e.endsWith('.tmp'));
    if (foreign.length > 0 && !this.exists()) {
      throw new RunFolderError(
        `${this.dir} is not empty and holds no run (it has ${foreign[0]}); choose another --out`,
      );
    }
    if (!force && !holdsNoFiles(this.dir)) {
      throw new RunFolderError(
        `${this.dir} holds files of an unfinished run start but no config.json; pass --force to start it again`,
      );
    }
    for (const entry of RUN_ENTRIES)
      if (entry !== LOCK_FILE) fs.rmSync(this.file(entry), { recursive: true, force: true });
    try {
      fs.mkdirSync(this.file('checkpoints'), { recursive: true });
      fs.mkdirSync(this.file('state'), { recursive: true });
      fs.accessSync(this.dir, fs.constants.W_OK);
    } catch (e) {
      throw new RunFolderError(
        `cannot write run folder ${this.dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        { cause: e },
      );
    }
  }

  /** Writes a JSON file atomically. */
  writeJson(name: string, value: unknown): void {
    try {
      writeFileAtomic(this.file(name), JSON.stringify(value, null, 2) + '\n');
    } catch (e) {
      throw new RunFolderError(
        `cannot write ${this.file(name)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        { cause: e },
      );
    }
  }

  /** Reads a JSON file of the run, with a one-line error when it is missing or corrupt. */
  readJson<T>(name: string): T {
    const file = this.file(name);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      throw new RunFolderError(`${file} is missing; is ${this.dir} a run folder?`);
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CorruptRunError(file, 'not valid JSON');
    }
  }

  /** Writes `config.json`; its `configHash` must be the hash of its `config`. */
  writeRecord(record: RunRecord): void {
    if (record.configHash !== configHash(record.config))
      throw new RunFolderError('writeRecord: configHash does not match config');
    this.writeJson('config.json', record);
  }

  /**
   * Reads `config.json` and checks that its config still has the hash recorded with it, so an
   * edited config is refused instead of silently changing what a resume or a ticket does.
   */
  readRecord<C = unknown>(): RunRecord<C> {
    const record = this.readJson<RunRecord<C>>('config.json');
    if (!record || typeof record !== 'object' || !('config' in record) || typeof record.configHash !== 'string') {
      throw new CorruptRunError(this.file('config.json'), 'is not a run record (no config and configHash)');
    }
    if (configHash(record.config) !== record.configHash) {
      throw new CorruptRunError(
        this.file('config.json'),
        `config does not match its hash ${record.configHash}: the file was edited`,
      );
    }
    return record;
  }

  /** Appends metrics rows (one JSON object per line). */
  appendMetrics(rows: readonly object[]): void {
    if (rows.length === 0) return;
    fs.appendFileSync(this.file('metrics.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }

  /** Parses `metrics.jsonl` strictly (see {@link parseMetrics}); a missing file gives no rows. */
  readMetricsFile(): MetricsFile {
    return readMetricsFile(this.file('metrics.jsonl'));
  }

  /** Every metrics row, or an error naming the file and line of any damage (a cut-short last line is skipped). */
  readMetrics<R extends StoredRow = StoredRow>(): R[] {
    return this.readMetricsFile().rows as R[];
  }

  /** Replaces `metrics.jsonl` by exactly these rows, atomically. */
  writeMetrics(rows: readonly object[]): void {
    writeFileAtomic(this.file('metrics.jsonl'), rows.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  /** Names of the saved weight checkpoints (`init`, `step-NNNNNN`, `final`), sorted. */
  checkpointNames(): string[] {
    const dir = this.file('checkpoints');
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.safetensors') && !f.startsWith('.'))
      .map((f) => f.slice(0, -'.safetensors'.length))
      .sort();
  }

  /** Saves weights (and `mask/...`, `data/...` extras) as `checkpoints/<name>.safetensors` + `.json`. */
  async saveWeights(
    name: string,
    shapes: Record<string, number[]>,
    weights: Float32Arrays,
    meta: Record<string, unknown>,
    extra: Record<string, StoredTensor> = {},
  ): Promise<string> {
    const tensors: Record<string, StoredTensor> = { ...extra };
    for (const [k, data] of Object.entries(weights)) tensors[k] = f32(shapes[k]!, data);
    const bad = firstNonFinite(tensors);
    if (bad)
      throw new CorruptRunError(
        this.file('checkpoints', `${name}.safetensors`),
        `refusing to save: ${bad.name}[${bad.index}] is ${bad.value}`,
      );
    const file = this.file('checkpoints', `${name}.safetensors`);
    await saveCheckpoint(file, { tensors, meta });
    return file;
  }

  /**
   * Loads a weights checkpoint and verifies it: checksums (in {@link loadCheckpoint}), the config
   * hash it was written for, every parameter present as F32 with the expected shape and finite,
   * masks 0/1 with the parameter's shape.
   */
  async loadWeights(name: string, expect: CheckpointExpectation): Promise<LoadedWeights> {
    const file = this.file('checkpoints', `${name}.safetensors`);
    const ckpt = await loadCheckpoint(file);
    const meta = ckpt.meta;
    if (meta.configHash !== expect.configHash) {
      throw new CorruptRunError(
        file,
        `was written for config ${JSON.stringify(meta.configHash)}, but ${this.file('config.json')} has ${expect.configHash}`,
      );
    }
    const weights: Float32Arrays = {};
    const masks: Float32Arrays = {};
    const extra: Record<string, StoredTensor> = {};
    for (const [k, t] of Object.entries(ckpt.tensors)) {
      if (k.startsWith('data/')) extra[k] = t;
      else {
        const isMask = k.startsWith('mask/');
        const param = isMask ? k.slice(5) : k;
        const shape = expect.shapes[param];
        if (!shape) throw new CorruptRunError(file, `holds "${k}", which is not a parameter of this model`);
        if (t.dtype !== 'F32') throw new CorruptRunError(file, `"${k}" has dtype ${t.dtype}, expected F32`);
        if (!sameShape(t.shape, shape))
          throw new CorruptRunError(file, `"${k}" has shape [${t.shape}], expected [${shape}]`);
        const data = t.data as Float32Array;
        if (isMask) {
          for (let i = 0; i < data.length; i++)
            if (data[i] !== 0 && data[i] !== 1)
              throw new CorruptRunError(file, `mask "${param}" has value ${data[i]} at ${i}; masks hold 0 or 1`);
          masks[param] = data;
        } else weights[k] = data;
      }
    }
    for (const p of Object.keys(expect.shapes))
      if (!weights[p]) throw new CorruptRunError(file, `has no weights for "${p}"`);
    const bad = firstNonFinite(
      Object.fromEntries(Object.entries(weights).map(([k, d]) => [k, f32(expect.shapes[k]!, d)])),
    );
    if (bad) throw new CorruptRunError(file, `${bad.name}[${bad.index}] is ${bad.value}: refusing non-finite weights`);
    return { weights, masks, meta, extra };
  }

  /** Saves the resume state: weights, AdamW moments and step (refused if anything is non-finite). */
  async saveResume(
    shapes: Record<string, number[]>,
    weights: Float32Arrays,
    opt: StoredOptimizerState,
    meta: ResumeMeta,
  ): Promise<void> {
    const tensors: Record<string, StoredTensor> = {};
    for (const [k, data] of Object.entries(weights)) tensors[`param/${k}`] = f32(shapes[k]!, data);
    for (const [k, data] of Object.entries(opt.m)) tensors[`adam_m/${k}`] = f32(shapes[k]!, data);
    for (const [k, data] of Object.entries(opt.v)) tensors[`adam_v/${k}`] = f32(shapes[k]!, data);
    const file = this.file('state', 'resume.safetensors');
    const bad = firstNonFinite(tensors);
    if (bad) throw new CorruptRunError(file, `refusing to save: ${bad.name}[${bad.index}] is ${bad.value}`);
    await saveCheckpoint(file, { tensors, meta: { ...meta, adamStep: opt.t } });
  }

  /**
   * Loads and verifies the resume state, or returns null when the run has none yet. Checks the
   * checksums, the config hash, that `step` is an integer in [0, steps] equal to the optimiser's
   * step counter, that the elapsed time is a finite number >= 0, that every parameter's weights and
   * both moments are present with the right shapes, and that all of them are finite.
   */
  async loadResume(
    expect: CheckpointExpectation & { steps: number },
  ): Promise<{ weights: Float32Arrays; opt: StoredOptimizerState; meta: ResumeMeta } | null> {
    const file = this.file('state', 'resume.safetensors');
    if (!fs.existsSync(file)) return null;
    let ckpt;
    try {
      ckpt = await loadCheckpoint(file);
    } catch (e) {
      if (e instanceof CheckpointError) throw new CorruptRunError(file, e.problem, { cause: e });
      throw e;
    }
    const meta = ckpt.meta as Partial<ResumeMeta & { adamStep: number }>;
    const bad = (problem: string) => new CorruptRunError(file, problem);
    if (meta.configHash !== expect.configHash)
      throw bad(`belongs to config ${JSON.stringify(meta.configHash)}, not ${expect.configHash}`);
    const step = meta.step;
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0 || step > expect.steps)
      throw bad(`step ${JSON.stringify(step)} is not an integer in [0, ${expect.steps}]`);
    if (meta.adamStep !== step)
      throw bad(`optimiser step ${JSON.stringify(meta.adamStep)} disagrees with step ${step}`);
    if (typeof meta.elapsedMs !== 'number' || !Number.isFinite(meta.elapsedMs) || meta.elapsedMs < 0)
      throw bad(`elapsed time ${JSON.stringify(meta.elapsedMs)} is not a number >= 0`);
    const out = { weights: {} as Float32Arrays, opt: { t: step, m: {} as Float32Arrays, v: {} as Float32Arrays } };
    const groups: Array<[string, Float32Arrays]> = [
      ['param/', out.weights],
      ['adam_m/', out.opt.m],
      ['adam_v/', out.opt.v],
    ];
    for (const [k, t] of Object.entries(ckpt.tensors)) {
      const group = groups.find(([prefix]) => k.startsWith(prefix));
      const name = group ? k.slice(group[0].length) : '';
      const shape = expect.shapes[name];
      if (!group || !shape) throw bad(`holds "${k}", which this run does not have`);
      if (t.dtype !== 'F32' || !sameShape(t.shape, shape))
        throw bad(`"${k}" is ${t.dtype} [${t.shape}], expected F32 [${shape}]`);
      group[1][name] = t.data as Float32Array;
    }
    for (const [prefix, arrays] of groups)
      for (const p of Object.keys(expect.shapes)) if (!arrays[p]) throw bad(`has no "${prefix}${p}"`);
    const nonFinite = firstNonFinite(ckpt.tensors);
    if (nonFinite) throw bad(`${nonFinite.name}[${nonFinite.index}] is ${nonFinite.value}: refusing non-finite state`);
    return { ...out, meta: { step, configHash: meta.configHash, elapsedMs: meta.elapsedMs } };
  }
}
