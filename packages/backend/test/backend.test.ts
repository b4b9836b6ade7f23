import { describe, expect, it, vi } from 'vitest';
import { BackendError, gradientFixes, initBackend, tf } from '../src/index.js';

/** Whether tfjs-node can load on this machine (it usually cannot: its install is blocked here). */
async function tfjsNodeLoads(): Promise<boolean> {
  const spec: string = '@tensorflow/tfjs-node';
  return import(spec).then(
    () => true,
    () => false,
  );
}

// Known before the tests are collected, so that a test that cannot apply is reported as skipped.
const NATIVE_LOADS = await tfjsNodeLoads();

describe('initBackend', () => {
  it("'auto' picks tfjs-node if it loads, else wasm, and says why tfjs-node was skipped", async () => {
    const native = NATIVE_LOADS;
    const choice = await initBackend('auto');
    expect(choice.requested).toBe('auto');
    expect(tf.getBackend()).toBe(choice.name);
    if (native) {
      expect(choice.name).toBe('tensorflow');
      expect(choice.notes).toEqual([]);
    } else {
      expect(choice.name).toBe('wasm');
      expect(choice.notes).toHaveLength(1);
      expect(choice.notes[0]).toMatch(/^tensorflow: @tensorflow\/tfjs-node could not be loaded \(.+\)$/);
      expect(choice.notes[0]).not.toContain('\n');
    }
  });

  it('enables prod mode and registers the gradient fixes', async () => {
    await initBackend();
    expect(tf.env().getBool('PROD')).toBe(true);
    for (const c of gradientFixes) expect(tf.getGradient(c.kernelName)).toBe(c);
  });

  // How cheap a repeated request is, is measured by `npm run bench` (bench/init-backend.mjs), not here.
  it('is idempotent for a repeated request, which does not set the backend again', async () => {
    const first = await initBackend('auto');
    const setBackend = vi.spyOn(tf.engine(), 'setBackend');
    let again;
    try {
      again = await initBackend('auto');
      expect(setBackend).not.toHaveBeenCalled();
    } finally {
      setBackend.mockRestore();
    }
    expect(again).toEqual(first);
    expect(again).not.toBe(first); // a copy: the cache is not handed out
    again.notes.push('mutating a result does not leak into the cache');
    expect((await initBackend('auto')).notes).toEqual(first.notes);
  });

  // On a machine where tfjs-node loads there is nothing to show: skipped (and reported so), never passed.
  it.skipIf(NATIVE_LOADS)(
    "forcing 'tensorflow' without tfjs-node throws a one-line BackendError and keeps the backend",
    async () => {
      await initBackend('wasm');
      const err = await initBackend('tensorflow').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BackendError);
      expect((err as Error).name).toBe('BackendError');
      expect((err as Error).message).toMatch(
        /^backend 'tensorflow' was requested but cannot be used: @tensorflow\/tfjs-node could not be loaded/,
      );
      expect((err as Error).message).not.toContain('\n');
      expect(tf.getBackend()).toBe('wasm');
    },
  );

  it('forces cpu and wasm, switching back and forth', async () => {
    expect((await initBackend('cpu')).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(await initBackend('wasm')).toEqual({ name: 'wasm', requested: 'wasm', notes: [] });
    expect(tf.getBackend()).toBe('wasm');
    // The cached 'cpu' choice is not returned while wasm is active: it switches again.
    expect((await initBackend('cpu')).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('serialises concurrent calls', async () => {
    const results = await Promise.all([initBackend('cpu'), initBackend('wasm'), initBackend('cpu')]);
    expect(results.map((r) => r.name)).toEqual(['cpu', 'wasm', 'cpu']);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('rejects an unknown name', async () => {
    await expect(initBackend('webgpu' as never)).rejects.toThrow(BackendError);
  });

  it('plain gradients still work on the chosen backend after registration', async () => {
    await initBackend('auto');
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.exp(x), tf.softmax(x))))(tf.tensor1d([0.1, 0.2, 0.3]));
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
  });
});
