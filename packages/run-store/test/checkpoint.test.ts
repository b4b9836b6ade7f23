import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createHash } from 'node:crypto';
import {
  CheckpointError,
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
  loadCheckpoint,
  saveCheckpoint,
  sidecarPath,
  tensorsChecksum,
} from '../src/checkpoint.js';
import type { StoredTensor } from '../src/checkpoint.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/safetensors/', import.meta.url));
const SCRIPT = join(FIXTURES, 'make_fixture.py');
const PYTHON_FIXTURE = join(FIXTURES, 'python.safetensors');
const HAS_PYTHON = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'checkpoint-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Element-wise Object.is (so NaN equals NaN and -0 differs from +0), plus dtype, shape and array type. */
function expectSameTensor(actual: StoredTensor | undefined, expected: StoredTensor, name = ''): void {
  expect(actual, name).toBeDefined();
  expect(actual!.dtype, name).toBe(expected.dtype);
  expect(actual!.shape, name).toEqual(expected.shape);
  expect(actual!.data.constructor, name).toBe(expected.data.constructor);
  expect(actual!.data.length, name).toBe(expected.data.length);
  for (let i = 0; i < expected.data.length; i++) {
    if (!Object.is(actual!.data[i], expected.data[i])) {
      expect.fail(`${name}[${i}]: ${String(actual!.data[i])} !== ${String(expected.data[i])}`);
    }
  }
}

function expectSameTensors(actual: Record<string, StoredTensor>, expected: Record<string, StoredTensor>): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const name of Object.keys(expected)) expectSameTensor(actual[name], expected[name]!, name);
}

/** The tensors of fixtures/safetensors/python.safetensors (see fixture_tensors() in make_fixture.py). */
function pythonFixture(): { tensors: Record<string, StoredTensor>; metadata: Record<string, string> } {
  return {
    tensors: {
      weight: {
        dtype: 'F32',
        shape: [2, 3],
        data: Float32Array.from([0.1, -0, 1.5, -2.25, 3.4028234663852886e38, 1.401298464324817e-45]),
      },
      'layer.10.bias': { dtype: 'F32', shape: [3], data: Float32Array.from([1, 2, 3]) },
      'layer.2.bias': { dtype: 'F32', shape: [3], data: Float32Array.from([-1, 0.5, 1e-3]) },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      scale: { dtype: 'F64', shape: [], data: Float64Array.from([Math.PI]) },
      history: { dtype: 'F64', shape: [4], data: Float64Array.from([1 / 3, -1e300, 5e-324, 2 ** 53 + 2]) },
      count: { dtype: 'I32', shape: [2, 2], data: Int32Array.from([-(2 ** 31), 2 ** 31 - 1, 0, -7]) },
      mask: { dtype: 'U8', shape: [5], data: Uint8Array.from([0, 1, 255, 128, 7]) },
      'u.\ufb00': { dtype: 'U8', shape: [2], data: Uint8Array.from([1, 2]) },
      'u.\u{1f600}': { dtype: 'U8', shape: [1], data: Uint8Array.from([3]) },
      steps: { dtype: 'I64', shape: [3], data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 40n + 1n]) },
    },
    metadata: { note: 'grokking "tickets"\n\u03bb \u2713' },
  };
}

function headerOf(bytes: Uint8Array): { length: number; text: string } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { length, text: new TextDecoder().decode(bytes.subarray(8, 8 + length)) };
}

/** Raw safetensors bytes with an arbitrary header (object → compact JSON, or a literal string). */
function rawSafetensors(header: unknown, data: Uint8Array | number = 0, declaredLength?: number | bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const dataBytes = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + dataBytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? json.length), true);
  out.set(json, 8);
  out.set(dataBytes, 8 + json.length);
  return out;
}

describe('encodeSafetensors / decodeSafetensors', () => {
  it('round-trips every dtype, scalars, zero-size tensors and metadata exactly', () => {
    const tensors: Record<string, StoredTensor> = {
      f32: { dtype: 'F32', shape: [2, 3], data: Float32Array.from([NaN, -0, Infinity, -Infinity, 1e-40, 0.1]) },
      f64: { dtype: 'F64', shape: [1, 2, 1], data: Float64Array.from([Number.MIN_VALUE, -Number.MAX_VALUE]) },
      i32: { dtype: 'I32', shape: [3], data: Int32Array.from([-2147483648, 2147483647, 0]) },
      u8: { dtype: 'U8', shape: [2, 2], data: Uint8Array.from([0, 255, 17, 42]) },
      i64: { dtype: 'I64', shape: [2], data: BigInt64Array.from([-(2n ** 63n), 2n ** 62n + 3n]) },
      scalar: { dtype: 'F32', shape: [], data: Float32Array.from([2.5]) },
      'zero-size': { dtype: 'F64', shape: [3, 0, 2], data: new Float64Array(0) },
      'zero-size-u8': { dtype: 'U8', shape: [0], data: new Uint8Array(0) },
      '0': { dtype: 'I32', shape: [1], data: Int32Array.from([7]) },
      __proto__: { dtype: 'U8', shape: [1], data: Uint8Array.from([9]) },
    };
    const metadata = { b: 'two', a: 'one "quoted"\n\ttab \u2028 ünï €', '1': 'integer-like key', empty: '' };
    const bytes = encodeSafetensors(tensors, metadata);
    const decoded = decodeSafetensors(bytes);
    expectSameTensors(decoded.tensors, tensors);
    expect(Object.getPrototypeOf(decoded.tensors)).toBe(Object.prototype);
    expect(decoded.metadata).toEqual(metadata);
  });

  it('pads the header with spaces to a multiple of 8 and aligns the data', () => {
    for (const name of ['a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdefg', 'abcdefgh']) {
      const bytes = encodeSafetensors({ [name]: { dtype: 'F64', shape: [1], data: Float64Array.from([1]) } });
      const { length, text } = headerOf(bytes);
      expect(length % 8).toBe(0);
      expect(text.trimEnd()).toBe(`{"${name}":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`);
      expect(text.slice(text.trimEnd().length)).toMatch(/^ {0,7}$/);
      expect(bytes.length).toBe(8 + length + 8);
    }
  });

  it('matches the byte vectors of the reference implementation tests', () => {
    // From safetensors/src/tensor.rs: test_empty and test_serialization_forced_alignement.
    expect(Array.from(encodeSafetensors({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect(Array.from(encodeSafetensors({}, { framework: 'pt' }))).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114,
      97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
    ]);
    const attn0: StoredTensor = { dtype: 'F32', shape: [1, 1, 2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) };
    expect(Array.from(encodeSafetensors({ attn0 }))).toEqual([
      72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70,
      51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97,
      95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32, 32, 32, 0, 0,
      0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]);
  });

  it('orders tensors by dtype alignment, then by name in UTF-8 byte order', () => {
    const one = (dtype: StoredTensor['dtype'], data: StoredTensor['data']): StoredTensor => ({
      dtype,
      shape: [1],
      data,
    });
    const bytes = encodeSafetensors({
      z8: one('U8', Uint8Array.from([1])),
      'u.\u{1f600}': one('U8', Uint8Array.from([1])),
      'u.\ufb00': one('U8', Uint8Array.from([1])),
      f32: one('F32', Float32Array.from([1])),
      i32: one('I32', Int32Array.from([1])),
      f64: one('F64', Float64Array.from([1])),
      i64: one('I64', BigInt64Array.from([1n])),
      B: one('F32', Float32Array.from([1])),
      a: one('F32', Float32Array.from([1])),
    });
    const header = JSON.parse(headerOf(bytes).text) as Record<string, unknown>;
    expect(Object.keys(header)).toEqual(['i64', 'f64', 'B', 'a', 'f32', 'i32', 'u.\ufb00', 'u.\u{1f600}', 'z8']);
  });

  it('writes __metadata__ only when metadata is given', () => {
    const t = { x: { dtype: 'U8' as const, shape: [1], data: Uint8Array.from([5]) } };
    expect(headerOf(encodeSafetensors(t)).text).not.toContain('__metadata__');
    expect(headerOf(encodeSafetensors(t, {})).text).toContain('{"__metadata__":{},"x":');
    expect(decodeSafetensors(encodeSafetensors(t)).metadata).toEqual({});
  });

  it('returns aligned copies, not views into the input', () => {
    const tensors = {
      w: { dtype: 'F64' as const, shape: [2], data: Float64Array.from([1.5, -2]) },
      m: { dtype: 'U8' as const, shape: [3], data: Uint8Array.from([1, 2, 3]) },
    };
    const encoded = encodeSafetensors(tensors);
    // Place the file at an odd offset inside a larger buffer: a view would be misaligned.
    const host = new Uint8Array(encoded.length + 3);
    host.set(encoded, 3);
    const input = host.subarray(3);
    const decoded = decodeSafetensors(input);
    expectSameTensors(decoded.tensors, tensors);
    for (const t of Object.values(decoded.tensors)) {
      expect(t.data.buffer).not.toBe(host.buffer);
      expect(t.data.byteOffset % t.data.BYTES_PER_ELEMENT).toBe(0);
    }
    host.fill(0);
    expect(Array.from(decoded.tensors.w!.data as Float64Array)).toEqual([1.5, -2]);
  });

  it('encodes typed arrays that are views with an offset', () => {
    const backing = new Float32Array([9, 9, 1, 2, 3, 9]);
    const bytes = encodeSafetensors({ v: { dtype: 'F32', shape: [3], data: backing.subarray(2, 5) } });
    expectSameTensor(decodeSafetensors(bytes).tensors.v, {
      dtype: 'F32',
      shape: [3],
      data: Float32Array.from([1, 2, 3]),
    });
  });

  it.each([
    [
      'a dtype / array mismatch',
      { x: { dtype: 'F32', shape: [1], data: Float64Array.from([1]) } },
      /tensor "x" has dtype F32 but its data is a Float64Array, expected a Float32Array/,
    ],
    [
      'an unsupported dtype',
      { x: { dtype: 'F16', shape: [1], data: Uint8Array.from([1]) } },
      /tensor "x" has unsupported dtype "F16"/,
    ],
    [
      'a length / shape mismatch',
      { x: { dtype: 'U8', shape: [2, 3], data: new Uint8Array(5) } },
      /tensor "x" has shape \[2,3\] \(6 elements\) but its data holds 5/,
    ],
    [
      'a negative dimension',
      { x: { dtype: 'U8', shape: [-1], data: new Uint8Array(0) } },
      /tensor "x": shape \[-1\] has a dimension that is not a non-negative integer/,
    ],
    [
      'a fractional dimension',
      { x: { dtype: 'U8', shape: [1.5], data: new Uint8Array(0) } },
      /not a non-negative integer/,
    ],
    [
      'the reserved name',
      { __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } },
      /"__metadata__" is reserved/,
    ],
  ])('refuses to encode %s', (_label, tensors, message) => {
    expect(() => encodeSafetensors(tensors as unknown as Record<string, StoredTensor>)).toThrow(message);
    expect(() => encodeSafetensors(tensors as unknown as Record<string, StoredTensor>)).toThrow(SafetensorsError);
  });

  it('refuses non-string metadata values', () => {
    expect(() => encodeSafetensors({}, { step: 3 } as unknown as Record<string, string>)).toThrow(
      /encodeSafetensors: metadata "step" is a number, not a string/,
    );
  });

  it('names the source in decode errors', () => {
    expect(() => decodeSafetensors(new Uint8Array(3), 'weights.bin')).toThrow(
      'weights.bin: truncated: file has 3 bytes, less than the 8-byte header length prefix',
    );
    expect(() => decodeSafetensors(new Uint8Array(3))).toThrow(/^safetensors buffer: truncated/);
  });
});

describe('saveCheckpoint / loadCheckpoint', () => {
  const tensors = (): Record<string, StoredTensor> => ({
    'embed.weight': { dtype: 'F32', shape: [4, 2], data: Float32Array.from([0.5, -1, 2, NaN, 1e-7, -0, 3, 4]) },
    'mask.embed.weight': { dtype: 'U8', shape: [4, 2], data: Uint8Array.from([1, 1, 0, 1, 0, 1, 1, 1]) },
    step: { dtype: 'I64', shape: [], data: BigInt64Array.from([1000n]) },
    lr: { dtype: 'F64', shape: [], data: Float64Array.from([1e-3]) },
    perm: { dtype: 'I32', shape: [3], data: Int32Array.from([2, 0, 1]) },
    none: { dtype: 'F32', shape: [0], data: new Float32Array(0) },
  });
  const meta = {
    model: 'mlp',
    step: 1000,
    config: { width: 128, seed: 7, tags: ['a', 'ü'] },
    loss: 0.25,
    done: false,
    best: null,
  };

  it('round-trips tensors and meta, and writes the sidecar and embedded metadata with checksums', async () => {
    const path = join(dir, 'runs', 'x', 'step-1000.safetensors');
    await saveCheckpoint(path, { tensors: tensors(), meta });
    expect((await readdir(join(dir, 'runs', 'x'))).sort()).toEqual(['step-1000.json', 'step-1000.safetensors']);

    const loaded = await loadCheckpoint(path);
    expectSameTensors(loaded.tensors, tensors());
    expect(loaded.meta).toEqual(meta);
    expect(loaded.sidecar).toBe('ok');

    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    const embedded = decodeSafetensors(await readFile(path)).metadata;
    expect(embedded).toEqual({
      meta: JSON.stringify(meta),
      meta_sha256: sha(JSON.stringify(meta)),
      tensors_sha256: tensorsChecksum(tensors()),
    });
    expect(loaded.tensorsSha256).toBe(tensorsChecksum(tensors()));
    expect(sidecarPath(path)).toBe(join(dir, 'runs', 'x', 'step-1000.json'));
    const sidecar = JSON.parse(await readFile(sidecarPath(path), 'utf8'));
    expect(sidecar).toEqual({
      meta,
      tensors: Object.fromEntries(
        Object.entries(tensors())
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape }]),
      ),
      sha256: { tensors: embedded.tensors_sha256, meta: embedded.meta_sha256 },
    });
  });

  it('a stale or missing sidecar (a crash between the two renames) is reported, never fatal', async () => {
    const path = join(dir, 'state.safetensors');
    await saveCheckpoint(path, {
      tensors: { w: { dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) } },
      meta: { step: 1 },
    });
    const oldSidecar = await readFile(sidecarPath(path));
    await saveCheckpoint(path, {
      tensors: { w: { dtype: 'F32', shape: [2], data: Float32Array.from([3, 4]) } },
      meta: { step: 2 },
    });
    await writeFile(sidecarPath(path), oldSidecar); // as if killed after the first rename
    const stale = await loadCheckpoint(path);
    expect(stale.sidecar).toBe('stale');
    expect(stale.meta).toEqual({ step: 2 });
    expect(Array.from(stale.tensors.w!.data as Float32Array)).toEqual([3, 4]);
    await writeFile(sidecarPath(path), '{"sha256": ');
    expect((await loadCheckpoint(path)).sidecar).toBe('stale');
    await rm(sidecarPath(path));
    expect((await loadCheckpoint(path)).sidecar).toBe('missing');
  });

  it('replaces an existing checkpoint atomically and leaves no temp files', async () => {
    const path = join(dir, 'step.safetensors');
    await saveCheckpoint(path, { tensors: tensors(), meta: { step: 1 } });
    const before = await readFile(path);
    const oldHandle = await open(path, 'r'); // a reader that opened the old file keeps seeing all of it
    try {
      const replacement = { w: { dtype: 'F64' as const, shape: [2], data: Float64Array.from([7, 8]) } };
      await saveCheckpoint(path, { tensors: replacement, meta: { step: 2 } });
      const stillOld = await oldHandle.readFile();
      expect(Buffer.compare(stillOld, before)).toBe(0);
      const loaded = await loadCheckpoint(path);
      expectSameTensors(loaded.tensors, replacement);
      expect(loaded.meta).toEqual({ step: 2 });
    } finally {
      await oldHandle.close();
    }
    expect((await readdir(dir)).sort()).toEqual(['step.json', 'step.safetensors']);
  });

  it('leaves the existing checkpoint untouched and no temp files when a save is refused', async () => {
    const path = join(dir, 'keep.safetensors');
    await saveCheckpoint(path, { tensors: tensors(), meta: { step: 1 } });
    const bad = { x: { dtype: 'F32' as const, shape: [3], data: new Float32Array(2) } };
    await expect(saveCheckpoint(path, { tensors: bad, meta: { step: 2 } })).rejects.toThrow(
      `checkpoint ${path}: cannot save: tensor "x" has shape [3] (3 elements) but its data holds 2`,
    );
    await expect(saveCheckpoint(path, { tensors: {}, meta: { step: NaN } })).rejects.toThrow(
      `checkpoint ${path}: cannot save: meta.step is NaN, which JSON cannot hold`,
    );
    await expect(saveCheckpoint(path, { tensors: {}, meta: { when: new Date(0) } })).rejects.toThrow(
      /cannot save: meta.when is a Date, not a plain object/,
    );
    await expect(saveCheckpoint(path, { tensors: {}, meta: { n: 1n } })).rejects.toThrow(/meta.n is a bigint/);
    expect((await loadCheckpoint(path)).meta).toEqual({ step: 1 });
    expect((await readdir(dir)).sort()).toEqual(['keep.json', 'keep.safetensors']);
  });

  it('cleans up temp files when writing fails part-way', async () => {
    const path = join(dir, 'c.safetensors');
    await mkdir(join(dir, 'c.json', 'occupied'), { recursive: true }); // the sidecar rename cannot succeed
    const error = await saveCheckpoint(path, { tensors: tensors(), meta: { step: 1 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).message).toMatch(new RegExp(`^checkpoint ${join(dir, 'c.json')}: cannot save: `));
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('requires a .safetensors path', async () => {
    await expect(saveCheckpoint(join(dir, 'x.bin'), { tensors: {}, meta: {} })).rejects.toThrow(
      /x\.bin: path must end in "\.safetensors"/,
    );
    await expect(loadCheckpoint(join(dir, 'x.bin'))).rejects.toThrow(CheckpointError);
  });
});

describe('loadCheckpoint rejects corrupt checkpoints', () => {
  const META = { step: 1000 };
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  /** Embedded metadata with valid checksums for a meta text and the tensors of a hand-written file. */
  const embeddedFor = (metaText: string, tensors: Record<string, StoredTensor> = {}) => ({
    meta: metaText,
    meta_sha256: sha(metaText),
    tensors_sha256: tensorsChecksum(tensors),
  });
  const EMBEDDED = embeddedFor(JSON.stringify(META));

  /** Writes `<dir>/step-1000.safetensors` with the given bytes plus a sidecar. */
  async function writeCheckpointFiles(bytes: Uint8Array, sidecar: string = JSON.stringify(META)): Promise<string> {
    const path = join(dir, 'step-1000.safetensors');
    await writeFile(path, bytes);
    await writeFile(join(dir, 'step-1000.json'), sidecar);
    return path;
  }

  async function loadError(path: string): Promise<CheckpointError> {
    const error = await loadCheckpoint(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CheckpointError);
    const message = (error as CheckpointError).message;
    expect(message).not.toMatch(/\n/);
    return error as CheckpointError;
  }

  const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

  it('is fine with a well-formed hand-written file with checksums (control case)', async () => {
    const zeros = {
      a: { dtype: 'F32' as const, shape: [2], data: new Float32Array(2) },
      b: { dtype: 'F32' as const, shape: [1], data: new Float32Array(1) },
    };
    const path = await writeCheckpointFiles(
      rawSafetensors(
        { __metadata__: embeddedFor(JSON.stringify(META), zeros), b: f32([1], 8, 12), a: f32([2], 0, 8) },
        12,
      ),
    );
    const loaded = await loadCheckpoint(path);
    expect(Object.keys(loaded.tensors).sort()).toEqual(['a', 'b']);
  });

  it('refuses a file without checksums', async () => {
    const path = await writeCheckpointFiles(
      rawSafetensors({ __metadata__: { meta: JSON.stringify(META) }, a: f32([2], 0, 8) }, 8),
    );
    expect((await loadError(path)).message).toBe(
      `checkpoint ${path}: has no checksums (written by a version before 0.2.0?); re-create it`,
    );
  });

  it('detects a flipped bit, an edited meta, a changed dtype and swapped offsets', async () => {
    const tensors = {
      W_in: { dtype: 'F32' as const, shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      W_out: { dtype: 'F32' as const, shape: [3, 2], data: Float32Array.from([7, 8, 9, 10, 11, 12]) },
    };
    const path = join(dir, 'ok.safetensors');
    await saveCheckpoint(path, { tensors, meta: { step: 5 } });
    const good = new Uint8Array(await readFile(path));
    const { length, text } = headerOf(good);
    const mutate = async (bytes: Uint8Array) => {
      await writeFile(path, bytes);
      return (await loadError(path)).message;
    };
    const flipped = Uint8Array.from(good);
    flipped[8 + length + 5]! ^= 0x10;
    expect(await mutate(flipped)).toBe(
      `checkpoint ${path}: tensor checksum mismatch: the data, a dtype, a shape or an offset is corrupt or was edited`,
    );
    const withHeader = (h: string) => {
      const enc = new TextEncoder().encode(h.padEnd(length, ' '));
      expect(enc.length).toBe(length);
      const out = Uint8Array.from(good);
      out.set(enc, 8);
      return out;
    };
    expect(await mutate(withHeader(text.replace('{\\"step\\":5}', '{\\"step\\":6}')))).toMatch(
      /meta checksum mismatch/,
    );
    expect(
      await mutate(withHeader(text.replace('"dtype":"F32","shape":[2,3]', '"dtype":"I32","shape":[2,3]'))),
    ).toMatch(/tensor checksum mismatch/);
    expect(await mutate(withHeader(text.replace('"shape":[2,3]', '"shape":[3,2]')))).toMatch(
      /tensor checksum mismatch/,
    );
    const offsets = [...text.matchAll(/"data_offsets":\[(\d+),(\d+)\]/g)].map((m) => m[0]);
    expect(offsets).toHaveLength(2);
    const swapped = text.replace(offsets[0]!, '#A#').replace(offsets[1]!, offsets[0]!).replace('#A#', offsets[1]!);
    expect(await mutate(withHeader(swapped))).toMatch(/tensor checksum mismatch/);
    await writeFile(path, good);
    expect((await loadCheckpoint(path)).meta).toEqual({ step: 5 });
  });

  it('reports a missing file', async () => {
    const path = join(dir, 'nope.safetensors');
    expect((await loadError(path)).message).toBe(`checkpoint ${path}: file not found`);
  });

  it('reports a file shorter than the length prefix', async () => {
    const path = await writeCheckpointFiles(new Uint8Array([1, 2, 3]));
    expect((await loadError(path)).message).toBe(
      `checkpoint ${path}: truncated: file has 3 bytes, less than the 8-byte header length prefix`,
    );
  });

  it('reports a header length beyond the end of the file', async () => {
    const good = encodeSafetensors({ a: { dtype: 'U8', shape: [2], data: Uint8Array.from([1, 2]) } }, EMBEDDED);
    const length = headerOf(good).length;
    const path = await writeCheckpointFiles(good.subarray(0, 8 + length - 5));
    expect((await loadError(path)).message).toBe(
      `checkpoint ${path}: truncated: header length says ${length} bytes, file has only ${length - 5} bytes after the 8-byte prefix`,
    );
  });

  it('reports an absurd header length', async () => {
    const path = await writeCheckpointFiles(rawSafetensors({}, 0, 2n ** 63n));
    expect((await loadError(path)).message).toMatch(
      /header length 9223372036854775808 exceeds the 100000000-byte limit/,
    );
  });

  it('reports truncated tensor data with the byte counts', async () => {
    const path = await writeCheckpointFiles(
      rawSafetensors({ __metadata__: EMBEDDED, a: f32([2], 0, 8), b: f32([4], 8, 24) }, 10),
    );
    expect((await loadError(path)).message).toBe(
      `checkpoint ${path}: truncated: header says 24 bytes of tensor data, file has 10`,
    );
  });

  it('reports a real file cut short', async () => {
    const tensors = { w: { dtype: 'F64' as const, shape: [3], data: Float64Array.from([1, 2, 3]) } };
    await saveCheckpoint(join(dir, 'step-1000.safetensors'), { tensors, meta: META });
    const full = await readFile(join(dir, 'step-1000.safetensors'));
    const path = await writeCheckpointFiles(full.subarray(0, full.length - 1));
    expect((await loadError(path)).message).toBe(
      `checkpoint ${path}: truncated: header says 24 bytes of tensor data, file has 23`,
    );
  });

  it('reports trailing bytes after the last tensor', async () => {
    const path = await writeCheckpointFiles(rawSafetensors({ __metadata__: EMBEDDED, a: f32([1], 0, 4) }, 6));
    expect((await loadError(path)).message).toBe(
      `checkpoint ${path}: 2 trailing bytes: header says 4 bytes of tensor data, file has 6`,
    );
  });

  it('reports a header that is not JSON', async () => {
    const path = await writeCheckpointFiles(rawSafetensors('{"a": {"dtype": "F32", ', 0));
    expect((await loadError(path)).message).toMatch(
      new RegExp(`^checkpoint ${path}: header is not valid JSON \\(.+\\)$`),
    );
  });

  it('reports a header that is not UTF-8', async () => {
    const bytes = rawSafetensors('{"\u00e9":1}');
    bytes[10] = 0xff;
    const path = await writeCheckpointFiles(bytes);
    expect((await loadError(path)).message).toBe(`checkpoint ${path}: header is not valid UTF-8`);
  });

  it('reports a header that is JSON but not an object', async () => {
    const path = await writeCheckpointFiles(rawSafetensors('[1,2]  '));
    expect((await loadError(path)).message).toBe(`checkpoint ${path}: header is not a JSON object (got an array)`);
  });

  it('reports an empty header', async () => {
    const path = await writeCheckpointFiles(rawSafetensors(''));
    expect((await loadError(path)).message).toBe(`checkpoint ${path}: header length is 0`);
  });

  it('reports an unknown dtype', async () => {
    const path = await writeCheckpointFiles(
      rawSafetensors({ __metadata__: EMBEDDED, h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, 4),
    );
    expect((await loadError(path)).message).toBe(
      `checkpoint ${path}: tensor "h": unknown dtype "F16" (supported: U8, I32, F32, F64, I64)`,
    );
  });

  it('reports a shape × dtype size mismatch', async () => {
    const path = await writeCheckpointFiles(rawSafetensors({ __metadata__: EMBEDDED, w: f32([2, 3], 0, 20) }, 20));
    expect((await loadError(path)).message).toBe(
      `checkpoint ${path}: tensor "w": shape [2,3] × F32 (4 bytes) is 24 bytes but data_offsets [0,20] span 20`,
    );
  });

  it('reports overlapping tensors', async () => {
    const path = await writeCheckpointFiles(
      rawSafetensors({ __metadata__: EMBEDDED, a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12),
    );
    expect((await loadError(path)).message).toBe(
      `checkpoint ${path}: tensor "b": data_offsets [4,12] overlap tensor "a" [0,8]`,
    );
  });

  it('reports a zero-size tensor placed inside another', async () => {
    const path = await writeCheckpointFiles(
      rawSafetensors({ __metadata__: EMBEDDED, a: f32([2], 0, 8), e: f32([0], 4, 4) }, 8),
    );
    expect((await loadError(path)).message).toMatch(/tensor "e": data_offsets \[4,4\] overlap tensor "a" \[0,8\]/);
  });

  it('reports holes between tensors and at the start', async () => {
    let path = await writeCheckpointFiles(
      rawSafetensors({ __metadata__: EMBEDDED, a: f32([1], 0, 4), b: f32([1], 8, 12) }, 12),
    );
    expect((await loadError(path)).message).toBe(
      `checkpoint ${path}: hole in tensor data: bytes [4,8) belong to no tensor`,
    );
    path = await writeCheckpointFiles(rawSafetensors({ __metadata__: EMBEDDED, a: f32([1], 4, 8) }, 8));
    expect((await loadError(path)).message).toBe(
      `checkpoint ${path}: hole in tensor data: bytes [0,4) belong to no tensor`,
    );
  });

  it.each([
    [
      'offsets out of order',
      { dtype: 'F32', shape: [1], data_offsets: [4, 0] },
      'tensor "t": data_offsets [4,0] end before they begin',
    ],
    [
      'negative offsets',
      { dtype: 'F32', shape: [1], data_offsets: [-4, 0] },
      'tensor "t": data_offsets [-4,0] is not a pair of non-negative integers',
    ],
    [
      'three offsets',
      { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] },
      'tensor "t": data_offsets [0,4,8] is not a pair of non-negative integers',
    ],
    [
      'fractional offsets',
      { dtype: 'F32', shape: [1], data_offsets: [0, 4.5] },
      'tensor "t": data_offsets [0,4.5] is not a pair of non-negative integers',
    ],
    [
      'string offsets',
      { dtype: 'F32', shape: [1], data_offsets: ['0', '4'] },
      'tensor "t": data_offsets ["0","4"] is not a pair of non-negative integers',
    ],
    [
      'a negative dimension',
      { dtype: 'F32', shape: [-1], data_offsets: [0, 4] },
      'tensor "t": shape [-1] has a dimension that is not a non-negative integer',
    ],
    [
      'a shape that is not an array',
      { dtype: 'F32', shape: 1, data_offsets: [0, 4] },
      'tensor "t": shape is not an array',
    ],
    [
      'a huge shape',
      { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 4] },
      'tensor "t": shape [1073741824,1073741824,1073741824] has too many elements',
    ],
    ['a missing field', { dtype: 'F32', shape: [1] }, 'tensor "t": header entry has no "data_offsets"'],
    [
      'an unexpected field',
      { dtype: 'F32', shape: [1], data_offsets: [0, 4], offsets: [0, 4] },
      'tensor "t": header entry has unexpected field "offsets"',
    ],
    ['a non-object entry', 42, 'tensor "t": header entry is not an object'],
  ])('reports %s', async (_label, entry, problem) => {
    const path = await writeCheckpointFiles(rawSafetensors({ __metadata__: EMBEDDED, t: entry }, 4));
    expect((await loadError(path)).message).toBe(`checkpoint ${path}: ${problem}`);
  });

  it('reports duplicate keys', async () => {
    const header = `{"__metadata__":${JSON.stringify(EMBEDDED)},"a":${JSON.stringify(f32([1], 0, 4))},"a":${JSON.stringify(f32([1], 0, 4))}}`;
    const path = await writeCheckpointFiles(rawSafetensors(header, 4));
    expect((await loadError(path)).message).toBe(`checkpoint ${path}: header repeats the key "a"`);
  });

  it('reports bad __metadata__', async () => {
    let path = await writeCheckpointFiles(rawSafetensors({ __metadata__: { meta: '{}', step: 3 } }));
    expect((await loadError(path)).message).toBe(`checkpoint ${path}: __metadata__ entry "step" is not a string`);
    path = await writeCheckpointFiles(rawSafetensors({ __metadata__: ['x'] }));
    expect((await loadError(path)).message).toBe(`checkpoint ${path}: __metadata__ is not an object`);
    path = await writeCheckpointFiles(rawSafetensors({ __metadata__: { format: 'pt' } }));
    expect((await loadError(path)).message).toMatch(/__metadata__ has no "meta" entry/);
    path = await writeCheckpointFiles(rawSafetensors({}));
    expect((await loadError(path)).message).toMatch(/__metadata__ has no "meta" entry/);
    path = await writeCheckpointFiles(rawSafetensors({ __metadata__: embeddedFor('{"step":') }));
    expect((await loadError(path)).message).toMatch(
      new RegExp(`^checkpoint ${path}: __metadata__ "meta" is not valid JSON \\(`),
    );
    path = await writeCheckpointFiles(rawSafetensors({ __metadata__: embeddedFor('[1]') }));
    expect((await loadError(path)).message).toBe(`checkpoint ${path}: __metadata__ "meta" is not a JSON object`);
  });
});

describe('interoperability with an independent implementation (make_fixture.py)', () => {
  it('decodes the python-written fixture to the exact values', async () => {
    const bytes = await readFile(PYTHON_FIXTURE);
    expect(bytes.length).toBeLessThan(10_000);
    const { tensors, metadata } = decodeSafetensors(bytes, PYTHON_FIXTURE);
    const expected = pythonFixture();
    expectSameTensors(tensors, expected.tensors);
    expect(metadata).toEqual(expected.metadata);
  });

  it('encodes the same tensors to the same bytes as the python reference writer', async () => {
    const expected = pythonFixture();
    const ours = encodeSafetensors(expected.tensors, expected.metadata);
    const theirs = new Uint8Array(await readFile(PYTHON_FIXTURE));
    expect(headerOf(ours).text).toBe(headerOf(theirs).text);
    expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true);
  });

  it.skipIf(!HAS_PYTHON)('the committed fixture is what make_fixture.py writes', async () => {
    const out = join(dir, 'regenerated.safetensors');
    const run = spawnSync('python3', [SCRIPT, 'write', out], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(Buffer.compare(await readFile(out), await readFile(PYTHON_FIXTURE))).toBe(0);
  });

  it.skipIf(!HAS_PYTHON)('python reads a TypeScript-written checkpoint and gets the exact values', async () => {
    const tensors: Record<string, StoredTensor> = {
      ...pythonFixture().tensors,
      special: { dtype: 'F32', shape: [5], data: Float32Array.from([NaN, Infinity, -Infinity, -0, 1e-45]) },
    };
    const meta = { step: 1000, note: 'ü "q"' };
    const path = join(dir, 'ts.safetensors');
    await saveCheckpoint(path, { tensors, meta });
    const run = spawnSync('python3', [SCRIPT, 'check', path], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as {
      order: string[];
      metadata: Record<string, string>;
      tensors_sha256: string;
      tensors: Record<string, { dtype: string; shape: number[]; values: (number | string)[] }>;
    };
    expect(report.metadata).toEqual({
      meta: JSON.stringify(meta),
      meta_sha256: createHash('sha256').update(JSON.stringify(meta)).digest('hex'),
      tensors_sha256: tensorsChecksum(tensors),
    });
    // the checksum, recomputed independently in python, agrees
    expect(report.tensors_sha256).toBe(tensorsChecksum(tensors));
    expect(report.order.slice(0, 3)).toEqual(['steps', 'history', 'scale']);
    expect(Object.keys(report.tensors).sort()).toEqual(Object.keys(tensors).sort());
    const fromJson = (v: number | string): number =>
      v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number);
    for (const [name, t] of Object.entries(tensors)) {
      const got = report.tensors[name]!;
      expect(got.dtype, name).toBe(t.dtype);
      expect(got.shape, name).toEqual(t.shape);
      const values = Array.from(t.data as ArrayLike<number | bigint>);
      if (t.dtype === 'I64') expect(got.values, name).toEqual(values.map(String));
      else expect(got.values.map(fromJson), name).toEqual(values);
      for (let i = 0; i < values.length; i++) {
        if (t.dtype !== 'I64') expect(Object.is(fromJson(got.values[i]!), values[i]), `${name}[${i}]`).toBe(true);
      }
    }
  });
});
