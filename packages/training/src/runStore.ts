import fs from 'node:fs';
import path from 'node:path';
import { loadCheckpoint, saveCheckpoint, type NamedArrays, type StoredTensor } from '@grokking-tickets/models';
import type { AdamWState } from './adamw.js';
import type { EvalRow } from './trainer.js';

/** Thrown when a run folder cannot be used as asked (exists, unwritable, not a run, ...). */
export class RunFolderError extends Error {
  override name = 'RunFolderError';
}

/** What a resume checkpoint holds besides tensors. */
export interface ResumeMeta {
  step: number;
  configHash: string;
  /** Training wall time already spent, in ms, so summaries add up across interruptions. */
  elapsedMs: number;
}

const f32 = (shape: number[], data: Float32Array): StoredTensor => ({ dtype: 'F32', shape, data });

/** Writes a file atomically: a temp file in the same folder, then rename. */
export function writeFileAtomic(file: string, content: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/**
 * One run folder (open_lth style): `config.json` (fully resolved), `metrics.jsonl` (a row per
 * evaluation), `checkpoints/` (init, step-NNNNNN = weights after NNNNNN updates, final),
 * `state/resume.safetensors` (weights + AdamW moments), and `summary.json` when finished.
 * Every write is atomic, so an interrupted run never leaves a half-written file.
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
   * Prepares the folder for a new run. An existing non-empty folder is an error unless `force`,
   * in which case its previous contents are removed first.
   */
  create(force: boolean): void {
    if (fs.existsSync(this.dir)) {
      if (!fs.statSync(this.dir).isDirectory()) throw new RunFolderError(`${this.dir} exists and is not a folder`);
      if (fs.readdirSync(this.dir).length > 0) {
        if (!force) throw new RunFolderError(`run folder ${this.dir} already exists; pass --resume to continue it or --force to overwrite it`);
        for (const entry of ['config.json', 'metrics.jsonl', 'summary.json', 'checkpoints', 'state']) {
          fs.rmSync(this.file(entry), { recursive: true, force: true });
        }
      }
    }
    try {
      fs.mkdirSync(this.file('checkpoints'), { recursive: true });
      fs.mkdirSync(this.file('state'), { recursive: true });
      fs.accessSync(this.dir, fs.constants.W_OK);
    } catch (e) {
      throw new RunFolderError(`cannot write run folder ${this.dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  /** Writes a JSON file atomically. */
  writeJson(name: string, value: unknown): void {
    writeFileAtomic(this.file(name), JSON.stringify(value, null, 2) + '\n');
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
      throw new RunFolderError(`${file} is not valid JSON`);
    }
  }

  /** Appends metrics rows (one JSON object per line). */
  appendMetrics(rows: EvalRow[]): void {
    if (rows.length === 0) return;
    fs.appendFileSync(this.file('metrics.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }

  /** All metrics rows logged so far (an unfinished last line from a crash is ignored). */
  readMetrics(): EvalRow[] {
    const file = this.file('metrics.jsonl');
    if (!fs.existsSync(file)) return [];
    const rows: EvalRow[] = [];
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        rows.push(JSON.parse(line) as EvalRow);
      } catch {
        break;
      }
    }
    return rows;
  }

  /** Keeps only rows with step < `step` (resume replays from there), rewriting atomically. */
  truncateMetrics(step: number): EvalRow[] {
    const kept = this.readMetrics().filter((r) => r.step < step);
    writeFileAtomic(this.file('metrics.jsonl'), kept.map((r) => JSON.stringify(r) + '\n').join(''));
    return kept;
  }

  /** Saves weights (and masks / extra arrays) as `checkpoints/<name>.safetensors` + `.json`. */
  async saveWeights(
    name: string,
    shapes: Record<string, number[]>,
    weights: NamedArrays,
    meta: Record<string, unknown>,
    extra: Record<string, StoredTensor> = {},
  ): Promise<string> {
    const tensors: Record<string, StoredTensor> = { ...extra };
    for (const [k, data] of Object.entries(weights)) tensors[k] = f32(shapes[k]!, data);
    const file = this.file('checkpoints', `${name}.safetensors`);
    await saveCheckpoint(file, { tensors, meta });
    return file;
  }

  /** Saves the resume state: weights, AdamW moments and step. */
  async saveResume(shapes: Record<string, number[]>, weights: NamedArrays, opt: AdamWState, meta: ResumeMeta): Promise<void> {
    const tensors: Record<string, StoredTensor> = {};
    for (const [k, data] of Object.entries(weights)) tensors[`param/${k}`] = f32(shapes[k]!, data);
    for (const [k, data] of Object.entries(opt.m)) tensors[`adam_m/${k}`] = f32(shapes[k]!, data);
    for (const [k, data] of Object.entries(opt.v)) tensors[`adam_v/${k}`] = f32(shapes[k]!, data);
    await saveCheckpoint(this.file('state', 'resume.safetensors'), { tensors, meta: { ...meta, adamStep: opt.t } });
  }

  /** Loads the resume state, or null when the run has none yet. */
  async loadResume(): Promise<{ weights: NamedArrays; opt: AdamWState; meta: ResumeMeta } | null> {
    const file = this.file('state', 'resume.safetensors');
    if (!fs.existsSync(file)) return null;
    const ckpt = await loadCheckpoint(file);
    const pick = (prefix: string): NamedArrays => {
      const out: NamedArrays = {};
      for (const [k, t] of Object.entries(ckpt.tensors)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = t.data as Float32Array;
      return out;
    };
    const meta = ckpt.meta as unknown as ResumeMeta & { adamStep: number };
    return { weights: pick('param/'), opt: { t: meta.adamStep, m: pick('adam_m/'), v: pick('adam_v/') }, meta };
  }

  /** Loads a weights checkpoint written by saveWeights. */
  async loadWeights(name: string): Promise<{ weights: NamedArrays; masks: NamedArrays; meta: Record<string, unknown>; extra: Record<string, StoredTensor> }> {
    const ckpt = await loadCheckpoint(this.file('checkpoints', `${name}.safetensors`));
    const weights: NamedArrays = {};
    const masks: NamedArrays = {};
    const extra: Record<string, StoredTensor> = {};
    for (const [k, t] of Object.entries(ckpt.tensors)) {
      if (k.startsWith('mask/')) masks[k.slice(5)] = t.data as Float32Array;
      else if (k.includes('/')) extra[k] = t;
      else weights[k] = t.data as Float32Array;
    }
    return { weights, masks, meta: ckpt.meta as Record<string, unknown>, extra };
  }
}
