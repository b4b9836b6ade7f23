import * as tf from '@tensorflow/tfjs-core';
import {
  adamwUpdateStacked,
  crossEntropyFirstOrderStacked,
  crossEntropyStacked,
  meanSquaredErrorStacked,
  type AdamWConstants,
} from '@grokking-tickets/backend';
import {
  disposeBatch,
  disposeStackedBatch,
  sizeOf,
  validateArrays,
  type Batch,
  type GrokModel,
  type NamedArrays,
  type NamedTensors,
  type StackedBatch,
} from '@grokking-tickets/models';
import { validateAdamW, type AdamWOptions, type AdamWState } from './adamw.js';
import type { RunTrainerView } from './session.js';
import type { EvalRow } from './trainer.js';

/** One run of a stack: what a solo {@link Trainer} would be given, plus an optional resume state. */
export interface StackMember {
  /** Starting weights (θ0, or θ0 ⊙ m). */
  weights: NamedArrays;
  /** Fixed masks for prunable parameters; missing ones mean dense. */
  masks?: NamedArrays;
  optimizer: AdamWOptions;
  train: Batch;
  test: Batch;
  /** Resume from these weights and this optimiser state (t may differ between runs). */
  resume?: { weights: NamedArrays; state: AdamWState };
}

/** What a StackedTrainer starts from: one model kind and K runs of equal data sizes. */
export interface StackedTrainerInit {
  model: GrokModel;
  members: StackMember[];
}

/** Whether a model can be trained in a stack (it implements the stacked fast path). */
export function canStack(model: GrokModel): boolean {
  return typeof model.prepareStacked === 'function' && typeof model.forwardStacked === 'function';
}

/**
 * K full-batch training runs of one model kind as one computation: every parameter, mask and AdamW
 * moment is a tensor with a leading run axis [K, ...shape], the products are batched, each run has
 * its own data (equal sizes), masks, AdamW hyper-parameters and step counter, and evaluation gives
 * one row per run.
 *
 * Run r's arithmetic is exactly that of a solo {@link Trainer} with run r's inputs: the model's
 * `forwardStacked` and the stacked loss, reductions and AdamW perform the same float32 operations in
 * the same order per run, so its metrics are bit-identical whatever K and its position (tests check
 * this for every model on WASM and cpu). A run can be frozen (`freeze`): it then takes no more
 * updates (its slot is still computed, and its weights and moments stay as they were), which is how
 * a run that finished early or diverged leaves a running stack.
 */
export class StackedTrainer {
  readonly model: GrokModel;
  /** Number of runs K. */
  readonly size: number;
  private readonly vars: Record<string, tf.Variable> = {};
  private readonly varList: tf.Variable[] = [];
  private readonly m: Record<string, tf.Variable> = {};
  private readonly v: Record<string, tf.Variable> = {};
  private readonly masks: NamedTensors = {};
  private readonly options: AdamWOptions[];
  private readonly t: number[];
  private readonly active: boolean[];
  private readonly train: StackedBatch;
  private readonly test: StackedBatch;
  private readonly trainLabels: tf.Tensor2D;
  private readonly testLabels: tf.Tensor2D;
  private readonly maskArrays: (NamedArrays | undefined)[];
  /** Bumped by every update: caches of read-backs are valid for one version. */
  private version = 0;
  private cache: { version: number; arrays?: Record<string, Float32Array>; nonFinite?: (string | null)[] } = {
    version: -1,
  };

  constructor(init: StackedTrainerInit) {
    const { model, members } = init;
    if (!canStack(model))
      throw new Error(`model "${model.kind}" has no stacked forward pass; train its runs one at a time`);
    if (members.length < 1) throw new Error('a stack needs at least one run');
    this.model = model;
    this.size = members.length;
    members.forEach((mb, r) => {
      validateArrays(model, mb.weights, 'weights');
      if (mb.masks) validateArrays(model, mb.masks, 'masks');
      if (mb.resume) validateArrays(model, mb.resume.weights, 'weights');
      validateAdamW(mb.optimizer);
      if (mb.resume && mb.resume.state.t < 0) throw new Error(`stack run ${r}: resume step must be >= 0`);
    });
    this.options = members.map((mb) => ({ ...mb.optimizer }));
    this.t = members.map((mb) => mb.resume?.state.t ?? 0);
    this.active = members.map(() => true);
    this.maskArrays = members.map((mb) => mb.masks);
    const k = this.size;
    const stackArrays = (
      pick: (mb: StackMember) => Float32Array | undefined,
      fill: number,
      size: number,
    ): Float32Array => {
      const out = new Float32Array(k * size);
      members.forEach((mb, r) => {
        const a = pick(mb);
        if (a) out.set(a, r * size);
        else out.fill(fill, r * size, (r + 1) * size);
      });
      return out;
    };
    tf.tidy(() => {
      for (const p of model.params) {
        const shape = [k, ...p.shape];
        const n = sizeOf(p.shape);
        if (members.some((mb) => mb.masks?.[p.name]))
          this.masks[p.name] = tf.keep(
            tf.tensor(
              stackArrays((mb) => mb.masks?.[p.name], 1, n),
              shape,
            ),
          );
        const w = tf.tensor(
          stackArrays((mb) => (mb.resume ? mb.resume.weights[p.name] : mb.weights[p.name]), 0, n),
          shape,
        );
        // Masked weights are zeroed once at the start (as the solo Trainer does).
        const start = this.masks[p.name] ? tf.mul(w, this.masks[p.name]!) : w;
        this.vars[p.name] = tf.variable(start, true);
        this.varList.push(this.vars[p.name]!);
        this.m[p.name] = tf.variable(
          tf.tensor(
            stackArrays((mb) => mb.resume?.state.m[p.name], 0, n),
            shape,
          ),
          false,
        );
        this.v[p.name] = tf.variable(
          tf.tensor(
            stackArrays((mb) => mb.resume?.state.v[p.name], 0, n),
            shape,
          ),
          false,
        );
      }
    });
    this.train = model.prepareStacked!(members.map((mb) => mb.train));
    this.test = model.prepareStacked!(members.map((mb) => mb.test));
    this.trainLabels = tf.tensor2d(this.train.labels, [k, this.train.size], 'int32');
    this.testLabels = tf.tensor2d(this.test.labels, [k, this.test.size], 'int32');
  }

  /** Updates applied so far to run r. */
  updates(r: number): number {
    return this.t[r]!;
  }

  /** Whether run r still takes updates. */
  isActive(r: number): boolean {
    return this.active[r]!;
  }

  /** Run r takes no more updates (finished, diverged or dropped); its state stays as it is. */
  freeze(r: number): void {
    this.active[r] = false;
  }

  /** Number of runs still taking updates. */
  get activeCount(): number {
    return this.active.filter(Boolean).length;
  }

  private effective(): NamedTensors {
    const out: NamedTensors = {};
    for (const [name, w] of Object.entries(this.vars)) out[name] = this.masks[name] ? tf.mul(w, this.masks[name]) : w;
    return out;
  }

  /** One full-batch AdamW update of every active run (each on its own training loss). */
  step(): void {
    if (this.activeCount === 0) return;
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const logits = this.model.forwardStacked!(this.effective(), this.train);
        const losses =
          this.model.loss === 'mse'
            ? meanSquaredErrorStacked(logits, this.train.targets)
            : crossEntropyFirstOrderStacked(logits, this.train.targets);
        // d(Σ_r loss_r)/dθ_r = d loss_r/dθ_r: the runs do not interact.
        return tf.sum(losses) as tf.Scalar;
      }, this.varList);
      const constants: (AdamWConstants | null)[] = this.options.map((o, r) => {
        if (!this.active[r]) return null;
        const t = this.t[r]! + 1;
        return {
          beta1: o.beta1,
          beta2: o.beta2,
          eps: o.eps,
          decay: 1 - o.lr * o.weightDecay,
          bc2Sqrt: Math.sqrt(1 - o.beta2 ** t),
          stepSize: o.lr / (1 - o.beta1 ** t),
        };
      });
      for (const [name, p] of Object.entries(this.vars)) {
        const [p2, m2, v2] = adamwUpdateStacked(p, grads[p.name]!, this.m[name]!, this.v[name]!, constants);
        p.assign(p2);
        this.m[name]!.assign(m2);
        this.v[name]!.assign(v2);
      }
    });
    this.active.forEach((a, r) => {
      if (a) this.t[r]! += 1;
    });
    this.version++;
  }

  /**
   * One evaluation row per run (see {@link EvalRow}), read back in one transfer: losses and
   * accuracies on each run's full train and test sets and its weight norms.
   */
  evaluate(): EvalRow[] {
    const k = this.size;
    const values = tf.tidy(() => {
      const w = this.effective();
      const score = (batch: StackedBatch, labels: tf.Tensor2D) => {
        const logits = this.model.forwardStacked!(w, batch);
        const loss =
          this.model.loss === 'mse'
            ? meanSquaredErrorStacked(logits, batch.targets)
            : crossEntropyStacked(logits, batch.targets);
        const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 2), labels), 'float32'), 1);
        return [loss, tf.div(correct, batch.size)];
      };
      const norms = (list: tf.Tensor[]) => {
        const flat = list.map((t) => tf.reshape(t, [k, -1]));
        const l1 = flat.map((t) => tf.sum(tf.abs(t), 1));
        const l2sq = flat.map((t) => tf.sum(tf.square(t), 1));
        return {
          l1,
          l2sq,
          l1Mean: tf.div(tf.addN(l1), list.length),
          l2Mean: tf.div(tf.addN(l2sq.map((x) => tf.sqrt(x))), list.length),
        };
      };
      const stored = norms(Object.values(this.vars));
      const eff = norms(Object.values(w));
      const parts = [
        ...score(this.train, this.trainLabels),
        ...score(this.test, this.testLabels),
        stored.l1Mean,
        stored.l2Mean,
        eff.l1Mean,
        eff.l2Mean,
        tf.addN(eff.l1),
        tf.sqrt(tf.addN(eff.l2sq)),
      ];
      return tf.stack(
        parts.map((t) => tf.reshape(t, [k])),
        1,
      ); // K × 10
    });
    const read = values.dataSync();
    values.dispose();
    return Array.from({ length: k }, (_, r) => {
      const x = (i: number) => read[r * 10 + i]!;
      return {
        step: this.t[r]!,
        train_loss: x(0),
        train_acc: x(1),
        test_loss: x(2),
        test_acc: x(3),
        l1norm: x(4),
        l2norm: x(5),
        l1mask_norm: x(6),
        l2mask_norm: x(7),
        l1_global: x(8),
        l2_global: x(9),
      };
    });
  }

  /** Every parameter and moment read back once per version: name (`W_E`, `adam_m/W_E`, ...) → K·size values. */
  private arrays(): Record<string, Float32Array> {
    if (this.cache.version !== this.version) this.cache = { version: this.version };
    if (!this.cache.arrays) {
      const out: Record<string, Float32Array> = {};
      for (const [name, t] of Object.entries(this.vars)) out[name] = t.dataSync() as Float32Array;
      for (const [name, t] of Object.entries(this.m)) out[`adam_m/${name}`] = t.dataSync() as Float32Array;
      for (const [name, t] of Object.entries(this.v)) out[`adam_v/${name}`] = t.dataSync() as Float32Array;
      this.cache.arrays = out;
    }
    return this.cache.arrays;
  }

  private runSlice(prefix: '' | 'adam_m/' | 'adam_v/', r: number): NamedArrays {
    const all = this.arrays();
    const out: NamedArrays = {};
    for (const p of this.model.params) {
      const n = sizeOf(p.shape);
      out[p.name] = all[`${prefix}${p.name}`]!.slice(r * n, (r + 1) * n);
    }
    return out;
  }

  /** Run r's weights as plain arrays (pruned entries are exact zeros). */
  getWeights(r: number): NamedArrays {
    return this.runSlice('', r);
  }

  /** Run r's optimiser state as plain arrays. */
  getOptimizerState(r: number): AdamWState {
    return { t: this.t[r]!, m: this.runSlice('adam_m/', r), v: this.runSlice('adam_v/', r) };
  }

  /** Run r's fixed masks (empty for a dense run). */
  getMasks(r: number): NamedArrays {
    return { ...(this.maskArrays[r] ?? {}) };
  }

  /**
   * For each run, the first parameter or AdamW moment (`"W_in"`, `"adam_v/W_in"`) holding a NaN or
   * ±Infinity, or null. One readback for the whole stack, cached until the next update.
   */
  nonFinite(): (string | null)[] {
    if (this.cache.version !== this.version) this.cache = { version: this.version };
    if (!this.cache.nonFinite) {
      const k = this.size;
      const named: Array<[string, tf.Tensor]> = [
        ...Object.entries(this.vars),
        ...Object.entries(this.m).map(([n, t]) => [`adam_m/${n}`, t] as [string, tf.Tensor]),
        ...Object.entries(this.v).map(([n, t]) => [`adam_v/${n}`, t] as [string, tf.Tensor]),
      ];
      const flags = tf.tidy(() =>
        tf.stack(
          named.map(([, t]) => tf.cast(tf.all(tf.isFinite(tf.reshape(t, [k, -1])), 1), 'float32')),
          1,
        ),
      ); // K × T
      const ok = flags.dataSync();
      flags.dispose();
      this.cache.nonFinite = Array.from({ length: k }, (_, r) => {
        const bad = named.findIndex((_, i) => ok[r * named.length + i] !== 1);
        return bad < 0 ? null : named[bad]![0];
      });
    }
    return this.cache.nonFinite;
  }

  /** Run r's logits on a batch, from its current effective weights (the solo forward pass). */
  logits(r: number, batch: Batch): Float32Array {
    const prepared = this.model.prepare(batch);
    try {
      const logits = tf.tidy(() => {
        const w: NamedTensors = {};
        for (const p of this.model.params) {
          const eff = this.masks[p.name] ? tf.mul(this.vars[p.name]!, this.masks[p.name]!) : this.vars[p.name]!;
          w[p.name] = tf.reshape(tf.slice(eff, [r, ...p.shape.map(() => 0)], [1, ...p.shape]), p.shape);
        }
        return this.model.forward(w, prepared);
      });
      try {
        return logits.dataSync() as Float32Array;
      } finally {
        logits.dispose();
      }
    } finally {
      disposeBatch(prepared);
    }
  }

  /** What run r's session sees: a solo trainer's view of that run. */
  view(r: number): RunTrainerView {
    const updates = () => this.updates(r);
    return {
      get updates() {
        return updates();
      },
      getWeights: () => this.getWeights(r),
      getOptimizerState: () => this.getOptimizerState(r),
      firstNonFinite: () => this.nonFinite()[r]!,
      logits: (batch) => this.logits(r, batch),
    };
  }

  /** Frees every tensor this trainer owns. */
  dispose(): void {
    tf.dispose([
      ...this.varList,
      ...Object.values(this.m),
      ...Object.values(this.v),
      ...Object.values(this.masks),
      this.trainLabels,
      this.testLabels,
    ]);
    disposeStackedBatch(this.train);
    disposeStackedBatch(this.test);
  }
}
