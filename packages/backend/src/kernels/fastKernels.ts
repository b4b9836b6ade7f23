import * as tf from '@tensorflow/tfjs-core';
import { FAST_KERNELS_WASM_BASE64 } from './fastKernelsBinary.js';

/** Kernel names of the fused ops (registered for the `wasm` backend; other backends compose tf ops). */
export const SPARSE_LOOKUP = 'GrokSparseLookup';
export const SPARSE_LOOKUP_ADJOINT = 'GrokSparseLookupAdjoint';
export const ADAMW_UPDATE = 'GrokAdamWUpdate';
export const BATCHED_MATMUL = 'GrokBatchedMatMul';
export const ADAMW_UPDATE_STACKED = 'GrokAdamWUpdateStacked';
export const TRANSPOSE_INNER = 'GrokTransposeInner';

/** The exports of fastKernels.wat (byte offsets into the tfjs-wasm heap, element counts). */
interface FastExports {
  sparse_lookup(
    table: number,
    rows: number,
    d: number,
    idx: number,
    val: number,
    n: number,
    k: number,
    out: number,
  ): void;
  sparse_lookup_adjoint(
    dy: number,
    d: number,
    idx: number,
    val: number,
    n: number,
    k: number,
    out: number,
    rows: number,
  ): void;
  adamw(
    p: number,
    g: number,
    m: number,
    v: number,
    outP: number,
    outM: number,
    outV: number,
    n: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    bc2: number,
    eps: number,
    decay: number,
    step: number,
  ): void;
  matmul(a: number, b: number, c: number, m: number, k: number, n: number, batch: number, transA: number): void;
  copy(dst: number, src: number, bytes: number): void;
  transpose_inner(x: number, y: number, r: number, c: number, batch: number): void;
}

/** What tfjs-wasm's backend object exposes that the kernels use (not part of its typed API). */
interface WasmBackendLike {
  wasm: { asm?: { memory?: unknown }; wasmMemory?: unknown };
  incRef(dataId: object): void;
  readSync(dataId: object): unknown;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

/** The slice of the WebAssembly JS API used here (tsconfig has no DOM lib, @types/node 20 has none). */
interface WebAssemblyApi {
  Memory: abstract new (...args: never[]) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  RuntimeError: abstract new (...args: never[]) => Error;
}
const WASM = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

let compiled: object | null | undefined;
const bound = new WeakMap<object, FastExports | null>();

function decodeBase64(text: string): Uint8Array {
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(text, 'base64'));
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/**
 * The fast kernels instantiated on a tfjs-wasm backend's own linear memory (one instance per
 * backend object), or null where that cannot be done (no SIMD, memory not reachable): callers then
 * use the tf-op composition.
 */
function kernelsFor(backend: object): FastExports | null {
  if (bound.has(backend)) return bound.get(backend)!;
  let exports: FastExports | null = null;
  try {
    const w = (backend as WasmBackendLike).wasm;
    const memory = w?.asm?.memory ?? w?.wasmMemory;
    if (WASM && memory instanceof WASM.Memory) {
      if (compiled === undefined) compiled = new WASM.Module(decodeBase64(FAST_KERNELS_WASM_BASE64));
      if (compiled) exports = new WASM.Instance(compiled, { env: { memory } }).exports as FastExports;
    }
  } catch {
    compiled = compiled ?? null;
    exports = null;
  }
  bound.set(backend, exports);
  return exports;
}

/** True when the active backend is WASM and the fused kernels run on it. */
export function fastKernelsActive(): boolean {
  return tf.getBackend() === 'wasm' && kernelsFor(tf.backend()) != null;
}

const offset = (backend: WasmBackendLike, t: tf.TensorInfo): number => backend.dataIdMap.get(t.dataId)!.memoryOffset;

/** Runs a kernel body that may trap on a bad index; frees the outputs and says why if it does. */
function guarded(backend: WasmBackendLike, outs: tf.TensorInfo[], what: string, body: () => void): void {
  try {
    body();
  } catch (e) {
    for (const o of outs) backend.disposeData(o.dataId);
    if (e instanceof WASM.RuntimeError) throw new Error(`${what}: an index is outside the table's rows`, { cause: e });
    throw e;
  }
}

const sparseLookupKernel: tf.KernelConfig = {
  kernelName: SPARSE_LOOKUP,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const b = backend as unknown as WasmBackendLike;
    const k = kernelsFor(b)!;
    const { table, indices, values } = inputs as {
      table: tf.TensorInfo;
      indices: tf.TensorInfo;
      values: tf.TensorInfo;
    };
    const [rows, d] = table.shape as [number, number];
    const [n, width] = indices.shape as [number, number];
    const out = b.makeOutput([n, d], 'float32');
    if (n * d > 0) {
      guarded(b, [out], 'sparseLookup', () =>
        k.sparse_lookup(offset(b, table), rows, d, offset(b, indices), offset(b, values), n, width, offset(b, out)),
      );
    }
    return out;
  },
};

const sparseLookupAdjointKernel: tf.KernelConfig = {
  kernelName: SPARSE_LOOKUP_ADJOINT,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WasmBackendLike;
    const k = kernelsFor(b)!;
    const { dy, indices, values } = inputs as { dy: tf.TensorInfo; indices: tf.TensorInfo; values: tf.TensorInfo };
    const rows = (attrs as { rows: number }).rows;
    const [n, d] = dy.shape as [number, number];
    const width = indices.shape[1]!;
    const out = b.makeOutput([rows, d], 'float32');
    if (rows * d > 0) {
      guarded(b, [out], 'sparseLookup gradient', () =>
        k.sparse_lookup_adjoint(
          offset(b, dy),
          d,
          offset(b, indices),
          offset(b, values),
          n,
          width,
          offset(b, out),
          rows,
        ),
      );
    }
    return out;
  },
};

const batchedMatMulKernel: tf.KernelConfig = {
  kernelName: BATCHED_MATMUL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WasmBackendLike;
    const k = kernelsFor(b)!;
    const { a, b: bt } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const transposeA = Boolean((attrs as { transposeA?: boolean }).transposeA);
    const [batch, r, c] = a.shape as [number, number, number];
    const [m, inner] = transposeA ? [c, r] : [r, c];
    const n = bt.shape[2]!;
    const out = b.makeOutput([batch, m, n], 'float32');
    if (batch * m * n > 0)
      k.matmul(offset(b, a), offset(b, bt), offset(b, out), m, inner, n, batch, transposeA ? 1 : 0);
    return out;
  },
};

/** AdamW constants, as the float32 scalars the op composition would use. */
export interface AdamWConstants {
  beta1: number;
  beta2: number;
  eps: number;
  /** 1 − lr·λ (exactly 1 without weight decay). */
  decay: number;
  /** √(1 − β2ᵗ). */
  bc2Sqrt: number;
  /** lr / (1 − β1ᵗ). */
  stepSize: number;
}

const adamwKernel: tf.KernelConfig = {
  kernelName: ADAMW_UPDATE,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WasmBackendLike;
    const k = kernelsFor(b)!;
    const { p, g, m, v } = inputs as Record<'p' | 'g' | 'm' | 'v', tf.TensorInfo>;
    const c = attrs as unknown as AdamWConstants;
    const outs = [p, m, v].map((t) => b.makeOutput(t.shape, 'float32'));
    const [outP, outM, outV] = outs as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
    const n = tf.util.sizeFromShape(p.shape);
    // JS numbers become f32 parameters exactly as tfjs turns them into float32 scalars.
    k.adamw(
      offset(b, p),
      offset(b, g),
      offset(b, m),
      offset(b, v),
      offset(b, outP),
      offset(b, outM),
      offset(b, outV),
      n,
      c.beta1,
      1 - c.beta1,
      c.beta2,
      1 - c.beta2,
      c.bc2Sqrt,
      c.eps,
      c.decay,
      c.stepSize,
    );
    return outs;
  },
};

/** Per-run AdamW constants of a stack as kernel attributes (one array per constant; active 0 = frozen run). */
interface StackedAdamWAttrs {
  active: number[];
  beta1: number[];
  beta2: number[];
  eps: number[];
  decay: number[];
  bc2Sqrt: number[];
  stepSize: number[];
}

const adamwStackedKernel: tf.KernelConfig = {
  kernelName: ADAMW_UPDATE_STACKED,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WasmBackendLike;
    const k = kernelsFor(b)!;
    const { p, g, m, v } = inputs as Record<'p' | 'g' | 'm' | 'v', tf.TensorInfo>;
    const c = attrs as unknown as StackedAdamWAttrs;
    const outs = [p, m, v].map((t) => b.makeOutput(t.shape, 'float32'));
    const [outP, outM, outV] = outs as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
    const runs = c.active.length;
    const n = tf.util.sizeFromShape(p.shape) / runs;
    const [op, og, om, ov, oP, oM, oV] = [p, g, m, v, outP, outM, outV].map((t) => offset(b, t)) as number[];
    for (let r = 0; r < runs; r++) {
      const at = (base: number) => base + r * n * 4;
      if (c.active[r]) {
        k.adamw(
          at(op!),
          at(og!),
          at(om!),
          at(ov!),
          at(oP!),
          at(oM!),
          at(oV!),
          n,
          c.beta1[r]!,
          1 - c.beta1[r]!,
          c.beta2[r]!,
          1 - c.beta2[r]!,
          c.bc2Sqrt[r]!,
          c.eps[r]!,
          c.decay[r]!,
          c.stepSize[r]!,
        );
      } else {
        k.copy(at(oP!), at(op!), n * 4);
        k.copy(at(oM!), at(om!), n * 4);
        k.copy(at(oV!), at(ov!), n * 4);
      }
    }
    return outs;
  },
};

/**
 * `Identity` (tf.clone, and the copies tfjs makes of every tensor a gradient saves) sharing the
 * input's data instead of copying it, as tfjs-wasm's own `Reshape` does (tensors are immutable and
 * the backend counts references, so a shared buffer lives until its last tensor is disposed).
 * Stock tfjs-wasm copies, which cost ~6 % of a training step in clones of saved inputs.
 */
const sharedIdentityKernel: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const b = backend as unknown as WasmBackendLike;
    const { x } = inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return tf.tensor(b.readSync(x.dataId) as string[], x.shape, x.dtype);
    b.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  },
};

/** Index tensors already checked (they are constants reused every step, so checked once). */
const checkedIndices = new WeakSet<object>();

function checkLookupArgs(table: tf.Tensor, indices: tf.Tensor, values: tf.Tensor): void {
  if (table.rank !== 2) throw new Error(`sparseLookup: table must be 2-D, got shape [${table.shape}]`);
  if (indices.rank !== 2 || indices.dtype !== 'int32')
    throw new Error(`sparseLookup: indices must be a 2-D int32 tensor, got ${indices.dtype} [${indices.shape}]`);
  if (
    values.rank !== 2 ||
    values.dtype !== 'float32' ||
    values.shape[0] !== indices.shape[0] ||
    values.shape[1] !== indices.shape[1]
  ) {
    throw new Error(
      `sparseLookup: values must be float32 of the indices' shape [${indices.shape}], got ${values.dtype} [${values.shape}]`,
    );
  }
  if (checkedIndices.has(indices.dataId)) return;
  const rows = table.shape[0];
  const bad = (indices.dataSync() as Int32Array).find((i) => i < 0 || i >= rows);
  if (bad !== undefined) throw new Error(`sparseLookup: index ${bad} is outside the table's rows 0..${rows - 1}`);
  checkedIndices.add(indices.dataId);
}

/**
 * A sparse matrix with k stored entries per row (`indices`, n × k int32 column numbers, and
 * `values`, n × k) times a dense `table` (rows × d): out[i] = Σ_j values[i, j] · table[indices[i, j]].
 * This is an embedding lookup (k = 1, values 1), a sum of two embeddings (k = 2), or a signed
 * difference of two rows (values ±1), or a sparse input layer (rows padded to k with value 0:
 * entries whose value is 0 are skipped), without the dense product. Differentiable in `table`
 * to any order (its gradient is the adjoint scatter-add, whose gradient is the lookup again). On
 * WASM a fused SIMD kernel runs it; elsewhere it is a product with the dense form of the rows.
 * Indices are checked once
 * per indices tensor.
 */
export function sparseLookup(table: tf.Tensor2D, indices: tf.Tensor2D, values: tf.Tensor2D): tf.Tensor2D {
  checkLookupArgs(table, indices, values);
  if (fastKernelsActive()) return tf.engine().runKernel(SPARSE_LOOKUP, { table, indices, values }, {}) as tf.Tensor2D;
  return tf.matMul(denseRows(indices, values, table.shape[0]), table);
}

/**
 * The sparse rows as a dense n × rows matrix (the fallback's form), built by one scatter that sums
 * repeated entries: memory n × rows, where a one-hot of every entry would take n × k × rows.
 */
function denseRows(indices: tf.Tensor2D, values: tf.Tensor2D, rows: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [n, k] = indices.shape;
    const rowOf = tf.reshape(tf.tile(tf.reshape(tf.range(0, n, 1, 'int32'), [n, 1]), [1, k]), [n * k]);
    const at = tf.stack([rowOf, tf.reshape(indices, [n * k])], 1) as tf.Tensor2D;
    return tf.scatterND(at, tf.reshape(values, [n * k]), [n, rows]) as tf.Tensor2D;
  });
}

function sparseLookupAdjoint(dy: tf.Tensor, indices: tf.Tensor, values: tf.Tensor, rows: number): tf.Tensor2D {
  if (fastKernelsActive())
    return tf.engine().runKernel(SPARSE_LOOKUP_ADJOINT, { dy, indices, values }, { rows }) as tf.Tensor2D;
  return tf.matMul(tf.transpose(denseRows(indices as tf.Tensor2D, values as tf.Tensor2D, rows)), dy);
}

const sparseLookupGrad: tf.GradConfig = {
  kernelName: SPARSE_LOOKUP,
  inputsToSave: ['table', 'indices', 'values'],
  gradFunc: (dy, saved) => {
    const [table, indices, values] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
    return {
      table: () => sparseLookupAdjoint(dy as tf.Tensor, indices, values, table.shape[0]),
      indices: () => tf.zerosLike(indices),
      values: () => tf.zerosLike(values),
    };
  },
};

const sparseLookupAdjointGrad: tf.GradConfig = {
  kernelName: SPARSE_LOOKUP_ADJOINT,
  inputsToSave: ['indices', 'values'],
  gradFunc: (dy, saved) => {
    const [indices, values] = saved as [tf.Tensor2D, tf.Tensor2D];
    return {
      dy: () => sparseLookup(dy as tf.Tensor2D, indices, values),
      indices: () => tf.zerosLike(indices),
      values: () => tf.zerosLike(values),
    };
  },
};

/**
 * One AdamW step for a tensor (PyTorch semantics, the order of operations of the plain
 * composition): returns [p', m', v']. On WASM one fused SIMD kernel; elsewhere tf ops. Both give
 * bit-identical float32 results.
 */
export function adamwUpdate(
  p: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  c: AdamWConstants,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  if (fastKernelsActive() && p.dtype === 'float32' && g.dtype === 'float32') {
    return tf.engine().runKernel(ADAMW_UPDATE, { p, g, m, v }, c as unknown as tf.NamedAttrMap) as unknown as [
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
    ];
  }
  return adamwComposed(p, g, m, v, c);
}

/** The plain tf-op composition of {@link adamwUpdate} (any backend). */
export function adamwComposed(
  p: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  c: AdamWConstants,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const m2 = tf.add(tf.mul(m, c.beta1), tf.mul(g, 1 - c.beta1));
    const v2 = tf.add(tf.mul(v, c.beta2), tf.mul(tf.square(g), 1 - c.beta2));
    const denom = tf.add(tf.div(tf.sqrt(v2), c.bc2Sqrt), c.eps);
    const decayed = c.decay === 1 ? p : tf.mul(p, c.decay);
    return [tf.sub(decayed, tf.mul(tf.div(m2, denom), c.stepSize)), m2, v2];
  });
}

/**
 * Swaps the last two axes of a [batch, rows, cols] tensor (y[s, j, i] = x[s, i, j]): on WASM one
 * copy kernel (tfjs-wasm's generic 3-D transpose is ~10x slower for these shapes), elsewhere
 * `tf.transpose`. Differentiable (its gradient is the same transpose).
 */
export function transposeInner(x: tf.Tensor3D): tf.Tensor3D {
  if (x.rank !== 3) throw new Error(`transposeInner: expected a [batch, rows, cols] tensor, got shape [${x.shape}]`);
  if (fastKernelsActive() && x.dtype === 'float32')
    return tf.engine().runKernel(TRANSPOSE_INNER, { x }, {}) as tf.Tensor3D;
  return tf.transpose(x, [0, 2, 1]);
}

const transposeInnerKernel: tf.KernelConfig = {
  kernelName: TRANSPOSE_INNER,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const b = backend as unknown as WasmBackendLike;
    const k = kernelsFor(b)!;
    const { x } = inputs as { x: tf.TensorInfo };
    const [batch, r, c] = x.shape as [number, number, number];
    const out = b.makeOutput([batch, c, r], 'float32');
    if (batch * r * c > 0) k.transpose_inner(offset(b, x), offset(b, out), r, c, batch);
    return out;
  },
};

const transposeInnerGrad: tf.GradConfig = {
  kernelName: TRANSPOSE_INNER,
  inputsToSave: [],
  gradFunc: (dy) => ({ x: () => transposeInner(dy as tf.Tensor3D) }),
};

/**
 * Batched matrix product of same-sized batches, C_s = op(A_s) · B_s for a [batch, m, k] (or, with
 * `transposeA`, a [batch, k, m] read as its transpose) and b [batch, k, n]:
 * c[s, i, j] = Σ_p op(a)[s, i, p] · b[s, p, j], the terms added one by one in the order of p. On
 * WASM one SIMD kernel does every batch, each with exactly the float32 operations of `tf.matMul` of
 * that batch alone (XNNPACK's order: a test checks it bit for bit), so a batch's product does not
 * depend on the batch size or its position — the basis of stacked training's bit-identity.
 * (tfjs-wasm's own `matMul` with a batch axis larger than 1 takes a slow loop that sums in another
 * order.) `transposeA` reads A transposed in place, with the same terms in the same order as an
 * explicit transpose followed by the product. Elsewhere `tf.matMul`. Differentiable to any order:
 * dA = G·Bᵀ, dB = Aᵀ·G.
 */
export function batchedMatMul(a: tf.Tensor3D, b: tf.Tensor3D, options: { transposeA?: boolean } = {}): tf.Tensor3D {
  const transposeA = options.transposeA ?? false;
  const inner = transposeA ? a.shape[1] : a.shape[2];
  if (a.rank !== 3 || b.rank !== 3 || a.shape[0] !== b.shape[0] || inner !== b.shape[1]) {
    throw new Error(
      `batchedMatMul: shapes [${a.shape}]${transposeA ? ' (transposed)' : ''} and [${b.shape}] are not [batch, m, k] and [batch, k, n]`,
    );
  }
  if (fastKernelsActive() && a.dtype === 'float32' && b.dtype === 'float32') {
    return tf.engine().runKernel(BATCHED_MATMUL, { a, b }, { transposeA }) as tf.Tensor3D;
  }
  return tf.matMul(a, b, transposeA, false);
}

/**
 * A 2-D product `a · b` with the float32 operations of `tf.matMul` (bit-identical to it on WASM),
 * run by the {@link batchedMatMul} kernel on WASM (faster than tfjs-wasm's for the models' shapes)
 * and by `tf.matMul` elsewhere. `transposeA` reads `a` transposed in place.
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D, options: { transposeA?: boolean } = {}): tf.Tensor2D {
  if (!fastKernelsActive()) return tf.matMul(a, b, options.transposeA ?? false, false);
  const [r, c] = a.shape;
  const [k, n] = b.shape;
  const m = options.transposeA ? c : r;
  return tf.reshape(batchedMatMul(tf.reshape(a, [1, r, c]), tf.reshape(b, [1, k, n]), options), [m, n]);
}

const batchedMatMulGrad: tf.GradConfig = {
  kernelName: BATCHED_MATMUL,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved as [tf.Tensor3D, tf.Tensor3D];
    const g = dy as tf.Tensor3D;
    if ((attrs as { transposeA?: boolean }).transposeA) {
      // C = Aᵀ·B with A stored [k, m]: dA = B·Gᵀ, dB = A·G.
      return { a: () => batchedMatMul(b, transposeInner(g)), b: () => batchedMatMul(a, g) };
    }
    return { a: () => batchedMatMul(g, transposeInner(b)), b: () => batchedMatMul(a, g, { transposeA: true }) };
  },
};

/**
 * One AdamW step for K runs stacked along the first axis (p, g, m, v of shape [K, ...]): run r gets
 * {@link adamwUpdate} with its own constants `constants[r]`, exactly as if it were alone
 * (bit-identical), or is left unchanged where `constants[r]` is null (a frozen run: finished early,
 * or stopped). On WASM one kernel call for the stack; elsewhere the op composition per run.
 */
export function adamwUpdateStacked(
  p: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  constants: (AdamWConstants | null)[],
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const runs = constants.length;
  if (p.shape[0] !== runs) throw new Error(`adamwUpdateStacked: ${runs} runs' constants for a stack of ${p.shape[0]}`);
  if (fastKernelsActive() && p.dtype === 'float32' && g.dtype === 'float32') {
    const pick = (f: (c: AdamWConstants) => number) => constants.map((c) => (c ? f(c) : 0));
    const attrs: StackedAdamWAttrs = {
      active: constants.map((c) => (c ? 1 : 0)),
      beta1: pick((c) => c.beta1),
      beta2: pick((c) => c.beta2),
      eps: pick((c) => c.eps),
      decay: pick((c) => c.decay),
      bc2Sqrt: pick((c) => c.bc2Sqrt),
      stepSize: pick((c) => c.stepSize),
    };
    return tf
      .engine()
      .runKernel(ADAMW_UPDATE_STACKED, { p, g, m, v }, attrs as unknown as tf.NamedAttrMap) as unknown as [
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
    ];
  }
  return tf.tidy(() => {
    const split = (t: tf.Tensor) => tf.unstack(t);
    const [ps, gs, ms, vs] = [p, g, m, v].map(split) as [tf.Tensor[], tf.Tensor[], tf.Tensor[], tf.Tensor[]];
    const outs = constants.map((c, r) =>
      c ? adamwComposed(ps[r]!, gs[r]!, ms[r]!, vs[r]!, c) : [ps[r]!, ms[r]!, vs[r]!],
    );
    return [0, 1, 2].map((i) => tf.stack(outs.map((o) => o[i]!))) as [tf.Tensor, tf.Tensor, tf.Tensor];
  });
}

/**
 * Registers the fused kernels for the `wasm` backend and the lookup's gradients (idempotent; the
 * registries are global to tfjs-core). Called when this package loads and by `initBackend`.
 */
export function registerFastKernels(): void {
  for (const k of [
    sparseLookupKernel,
    sparseLookupAdjointKernel,
    adamwKernel,
    batchedMatMulKernel,
    adamwStackedKernel,
    transposeInnerKernel,
  ]) {
    if (tf.getKernel(k.kernelName, 'wasm') == null) tf.registerKernel(k);
  }
  // Replaces the stock wasm Identity (registered when tfjs-backend-wasm loads).
  const identity = tf.getKernel(tf.Identity, 'wasm');
  if (identity?.kernelFunc !== sharedIdentityKernel.kernelFunc) {
    if (identity) tf.unregisterKernel(tf.Identity, 'wasm');
    tf.registerKernel(sharedIdentityKernel);
  }
  for (const g of [sparseLookupGrad, sparseLookupAdjointGrad, batchedMatMulGrad, transposeInnerGrad]) {
    if (tf.getGradient(g.kernelName) !== g) {
      if (tf.getGradient(g.kernelName) != null) tf.unregisterGradient(g.kernelName);
      tf.registerGradient(g);
    }
  }
}

registerFastKernels();
