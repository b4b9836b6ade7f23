import * as tf from '@tensorflow/tfjs-core';
import { adamwUpdate, type AdamWConstants } from '@grokking-tickets/backend';
import type { NamedArrays, NamedTensors } from '@grokking-tickets/models';

/** AdamW hyper-parameters (PyTorch names and semantics). */
export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay λ: θ ← θ·(1 − lr·λ) before the Adam update. */
  weightDecay: number;
}

/** The paper's optimiser: lr 1e-3, betas (0.9, 0.98), eps 1e-8, weight decay 1 (protocol §4.1). */
export const PAPER_ADAMW: Readonly<AdamWOptions> = Object.freeze({
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.98,
  eps: 1e-8,
  weightDecay: 1,
});

/** Optimiser state as plain arrays: the step counter t and the first/second moments per parameter. */
export interface AdamWState {
  t: number;
  m: NamedArrays;
  v: NamedArrays;
}

/** Throws a one-line error unless the options are usable. */
export function validateAdamW(o: AdamWOptions): void {
  const bad = (what: string) => {
    throw new Error(`optimizer: ${what}`);
  };
  if (!(o.lr > 0) || !Number.isFinite(o.lr)) bad(`lr must be a positive number, got ${o.lr}`);
  if (!(o.beta1 >= 0 && o.beta1 < 1)) bad(`beta1 must be in [0, 1), got ${o.beta1}`);
  if (!(o.beta2 >= 0 && o.beta2 < 1)) bad(`beta2 must be in [0, 1), got ${o.beta2}`);
  if (!(o.eps > 0) || !Number.isFinite(o.eps)) bad(`eps must be a positive number, got ${o.eps}`);
  if (!(o.weightDecay >= 0) || !Number.isFinite(o.weightDecay)) bad(`weightDecay must be >= 0, got ${o.weightDecay}`);
}

/**
 * AdamW with PyTorch's semantics (torch.optim.AdamW, no amsgrad): per step t and tensor,
 * θ ← θ·(1 − lr·λ); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * θ ← θ − (lr/(1−β1ᵗ)) · m / (√v/√(1−β2ᵗ) + ε).
 * Parameters are tf.Variables updated in place; moments live in Variables too.
 */
export class AdamW {
  /** Number of updates applied so far (PyTorch's `step`). */
  t = 0;
  private readonly m: Record<string, tf.Variable> = {};
  private readonly v: Record<string, tf.Variable> = {};

  constructor(
    private readonly params: Record<string, tf.Variable>,
    readonly options: AdamWOptions,
  ) {
    validateAdamW(options);
    for (const [name, p] of Object.entries(params)) {
      this.m[name] = tf.variable(tf.zerosLike(p), false);
      this.v[name] = tf.variable(tf.zerosLike(p), false);
    }
  }

  /** Applies one update with the given gradients (one per parameter name). */
  apply(grads: NamedTensors): void {
    this.t += 1;
    const { lr, beta1, beta2, eps, weightDecay } = this.options;
    // One fused kernel per tensor on WASM (bit-identical to the plain op composition elsewhere).
    const constants: AdamWConstants = {
      beta1,
      beta2,
      eps,
      decay: 1 - lr * weightDecay,
      bc2Sqrt: Math.sqrt(1 - beta2 ** this.t),
      stepSize: lr / (1 - beta1 ** this.t),
    };
    tf.tidy(() => {
      for (const [name, p] of Object.entries(this.params)) {
        const g = grads[name];
        if (!g) throw new Error(`AdamW: no gradient for "${name}"`);
        const [p2, m2, v2] = adamwUpdate(p, g, this.m[name]!, this.v[name]!, constants);
        p.assign(p2);
        this.m[name]!.assign(m2);
        this.v[name]!.assign(v2);
      }
    });
  }

  /** A copy of the state as plain arrays (for resume checkpoints). */
  getState(): AdamWState {
    const read = (vars: Record<string, tf.Variable>) =>
      Object.fromEntries(Object.entries(vars).map(([k, t]) => [k, t.dataSync() as Float32Array])) as NamedArrays;
    return { t: this.t, m: read(this.m), v: read(this.v) };
  }

  /** Restores a state saved with getState. */
  setState(state: AdamWState): void {
    tf.tidy(() => {
      for (const name of Object.keys(this.params)) {
        const m = state.m[name];
        const v = state.v[name];
        if (!m || !v) throw new Error(`AdamW state: missing moments for "${name}"`);
        this.m[name]!.assign(tf.tensor(m, this.m[name]!.shape));
        this.v[name]!.assign(tf.tensor(v, this.v[name]!.shape));
      }
    });
    this.t = state.t;
  }

  /** The moment tensors by parameter name (live Variables: read, do not dispose). */
  moments(): { m: Readonly<Record<string, tf.Variable>>; v: Readonly<Record<string, tf.Variable>> } {
    return { m: this.m, v: this.v };
  }

  /** Frees the moment tensors. */
  dispose(): void {
    tf.dispose([...Object.values(this.m), ...Object.values(this.v)]);
  }
}
