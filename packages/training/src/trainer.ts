import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy, meanSquaredError } from '@grokking-tickets/backend';
import {
  applyMasks,
  disposeBatch,
  modelLoss,
  toTensors,
  validateArrays,
  type Batch,
  type GrokModel,
  type NamedArrays,
  type NamedTensors,
  type PreparedBatch,
} from '@grokking-tickets/models';
import { AdamW, type AdamWOptions, type AdamWState } from './adamw.js';

/**
 * One evaluation: losses and accuracies on the full sets and weight norms, after `step` updates.
 * Norm names follow the reference (protocol §7.3): `l1norm`/`l2norm` over the stored weights W and
 * `l1mask_norm`/`l2mask_norm` over W ⊙ M, each the mean over tensors of ‖·‖₁ and ‖·‖_F; and the
 * global norms of W ⊙ M used to compare tickets with dense networks. (Pruned weights are stored
 * as exact zeros here, so the masked and unmasked norms agree; the reference's do not.) Rows
 * every `analysisEvery` steps also carry the Fourier analysis (see `AnalysisFields`).
 */
export interface EvalRow {
  step: number;
  train_loss: number;
  train_acc: number;
  test_loss: number;
  test_acc: number;
  l1norm: number;
  l2norm: number;
  l1mask_norm: number;
  l2mask_norm: number;
  /** Global norms ‖θ ⊙ m‖₁ and sqrt(Σ‖W ⊙ M‖²_F). */
  l1_global: number;
  l2_global: number;
  [analysis: string]: unknown;
}

/** What a Trainer starts from. */
export interface TrainerInit {
  model: GrokModel;
  /** Starting weights (θ0, or the state being resumed). */
  weights: NamedArrays;
  /** Fixed masks for prunable parameters; missing ones mean dense. */
  masks?: NamedArrays;
  optimizer: AdamWOptions;
  train: Batch;
  test: Batch;
}

/**
 * Full-batch training state on the active tfjs backend: parameters as Variables, fixed masks,
 * AdamW, and the prepared train/test tensors. Masked weights are zeroed once at the start; the
 * forward pass uses W ⊙ M, so their gradients, Adam moments and decayed values all stay exactly 0.
 */
export class Trainer {
  readonly model: GrokModel;
  readonly optimizer: AdamW;
  private readonly vars: Record<string, tf.Variable>;
  private readonly varList: tf.Variable[];
  private readonly masks: NamedTensors;
  private readonly train: PreparedBatch;
  private readonly test: PreparedBatch;
  private readonly trainLabels: tf.Tensor1D;
  private readonly testLabels: tf.Tensor1D;

  constructor(init: TrainerInit) {
    this.model = init.model;
    validateArrays(init.model, init.weights, 'weights');
    if (init.masks) validateArrays(init.model, init.masks, 'masks');
    this.masks = init.masks ? toTensors(init.model, init.masks) : {};
    this.vars = {};
    tf.tidy(() => {
      const start = applyMasks(toTensors(init.model, init.weights), this.masks);
      for (const p of init.model.params) this.vars[p.name] = tf.variable(start[p.name]!, true);
    });
    this.varList = init.model.params.map((p) => this.vars[p.name]!);
    this.optimizer = new AdamW(this.vars, init.optimizer);
    this.train = init.model.prepare(init.train);
    this.test = init.model.prepare(init.test);
    this.trainLabels = tf.tensor1d(this.train.labels, 'int32');
    this.testLabels = tf.tensor1d(this.test.labels, 'int32');
  }

  /** Number of updates applied so far. */
  get updates(): number {
    return this.optimizer.t;
  }

  private effective(): NamedTensors {
    return applyMasks(this.vars, this.masks);
  }

  /** One full-batch AdamW update on the training loss. */
  step(): void {
    tf.tidy(() => {
      const { grads } = tf.variableGrads(
        () => modelLoss(this.model, this.effective(), this.train, { firstOrder: true }),
        this.varList,
      );
      const byName: NamedTensors = {};
      for (const [name, v] of Object.entries(this.vars)) byName[name] = grads[v.name]!;
      this.optimizer.apply(byName);
    });
  }

  /** Loss and accuracy on both sets and the weight norms, read back in one transfer. */
  evaluate(): EvalRow {
    const values = tf.tidy(() => {
      const w = this.effective();
      const score = (batch: PreparedBatch, labels: tf.Tensor1D) => {
        const logits = this.model.forward(w, batch);
        // Reuses the logits already computed for accuracy instead of a second forward pass.
        const loss =
          this.model.loss === 'mse' ? meanSquaredError(logits, batch.targets) : crossEntropy(logits, batch.targets);
        const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'));
        return [loss, tf.div(correct, batch.size)];
      };
      const norms = (list: tf.Tensor[]) => {
        const l1 = list.map((t) => tf.sum(tf.abs(t)));
        const l2sq = list.map((t) => tf.sum(tf.square(t)));
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
      return tf.stack(parts.map((t) => tf.reshape(t, [])));
    });
    const read = values.dataSync();
    values.dispose();
    const [train_loss, train_acc, test_loss, test_acc, l1norm, l2norm, l1mask_norm, l2mask_norm, l1_global, l2_global] =
      Array.from(read) as number[];
    return {
      step: this.updates,
      train_loss: train_loss!,
      train_acc: train_acc!,
      test_loss: test_loss!,
      test_acc: test_acc!,
      l1norm: l1norm!,
      l2norm: l2norm!,
      l1mask_norm: l1mask_norm!,
      l2mask_norm: l2mask_norm!,
      l1_global: l1_global!,
      l2_global: l2_global!,
    };
  }

  /** Logits of the current effective weights on a batch (one readback; the batch is prepared and freed here). */
  logits(batch: Batch): Float32Array {
    const prepared = this.model.prepare(batch);
    try {
      // Read back outside tidy: tidy walks a returned typed array value by value into a Set.
      const logits = tf.tidy(() => this.model.forward(this.effective(), prepared));
      try {
        return logits.dataSync() as Float32Array;
      } finally {
        logits.dispose();
      }
    } finally {
      disposeBatch(prepared);
    }
  }

  /** The fixed masks as plain arrays (empty for a dense run). */
  getMasks(): NamedArrays {
    return Object.fromEntries(Object.entries(this.masks).map(([k, t]) => [k, t.dataSync() as Float32Array]));
  }

  /**
   * The first parameter, or AdamW moment of one, that holds a NaN or ±Infinity (e.g.
   * `"W_in"`, `"adam_v/W_in"`), or null when everything is finite. One readback.
   */
  firstNonFinite(): string | null {
    const named: Array<[string, tf.Tensor]> = [
      ...Object.entries(this.vars),
      ...Object.entries(this.optimizer.moments().m).map(([k, t]) => [`adam_m/${k}`, t] as [string, tf.Tensor]),
      ...Object.entries(this.optimizer.moments().v).map(([k, t]) => [`adam_v/${k}`, t] as [string, tf.Tensor]),
    ];
    const flags = tf.tidy(() => tf.stack(named.map(([, t]) => tf.cast(tf.all(tf.isFinite(t)), 'float32'))));
    const ok = flags.dataSync();
    flags.dispose();
    const bad = named.findIndex((_, i) => ok[i] !== 1);
    return bad < 0 ? null : named[bad]![0];
  }

  /** Current weights as plain arrays (pruned entries are exact zeros). */
  getWeights(): NamedArrays {
    return Object.fromEntries(Object.entries(this.vars).map(([k, v]) => [k, v.dataSync() as Float32Array]));
  }

  /** Optimiser state as plain arrays. */
  getOptimizerState(): AdamWState {
    return this.optimizer.getState();
  }

  /** Restores weights and optimiser state (resume). */
  restore(weights: NamedArrays, state: AdamWState): void {
    validateArrays(this.model, weights, 'weights');
    tf.tidy(() => {
      for (const p of this.model.params) this.vars[p.name]!.assign(tf.tensor(weights[p.name]!, p.shape));
    });
    this.optimizer.setState(state);
  }

  /** Frees every tensor this trainer owns. */
  dispose(): void {
    this.optimizer.dispose();
    tf.dispose([...this.varList, ...Object.values(this.masks), this.trainLabels, this.testLabels]);
    disposeBatch(this.train);
    disposeBatch(this.test);
  }
}
