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

/** One evaluation: losses and accuracies on the full sets and weight norms, after `step` updates. */
export interface EvalRow {
  step: number;
  train_loss: number;
  train_acc: number;
  test_loss: number;
  test_acc: number;
  /** Code-compatible norms (spec §7.3): mean over tensors of ‖W ⊙ M‖₁ and ‖W ⊙ M‖_F. */
  l1norm: number;
  l2norm: number;
  /** Global norms ‖θ ⊙ m‖₁ and sqrt(Σ‖W ⊙ M‖²_F), the ones to compare tickets with dense nets. */
  l1_global: number;
  l2_global: number;
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
      const { grads } = tf.variableGrads(() => modelLoss(this.model, this.effective(), this.train, { firstOrder: true }), this.varList);
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
        const loss = this.model.loss === 'mse' ? meanSquaredError(logits, batch.targets) : crossEntropy(logits, batch.targets);
        const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'));
        return [loss, tf.div(correct, batch.size)];
      };
      const list = Object.values(w);
      const l1 = list.map((t) => tf.sum(tf.abs(t)));
      const l2sq = list.map((t) => tf.sum(tf.square(t)));
      const parts = [
        ...score(this.train, this.trainLabels),
        ...score(this.test, this.testLabels),
        tf.div(tf.addN(l1), list.length),
        tf.div(tf.addN(l2sq.map((x) => tf.sqrt(x))), list.length),
        tf.addN(l1),
        tf.sqrt(tf.addN(l2sq)),
      ];
      return tf.stack(parts.map((t) => tf.reshape(t, []))).dataSync();
    });
    const [train_loss, train_acc, test_loss, test_acc, l1norm, l2norm, l1_global, l2_global] = Array.from(values) as number[];
    return { step: this.updates, train_loss: train_loss!, train_acc: train_acc!, test_loss: test_loss!, test_acc: test_acc!, l1norm: l1norm!, l2norm: l2norm!, l1_global: l1_global!, l2_global: l2_global! };
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
    const ok = tf.tidy(() => tf.stack(named.map(([, t]) => tf.cast(tf.all(tf.isFinite(t)), 'float32'))).dataSync());
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

