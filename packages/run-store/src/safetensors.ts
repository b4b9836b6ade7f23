/**
 * A strict, dependency-free reader and writer for the safetensors format
 * (https://github.com/huggingface/safetensors), on plain typed arrays.
 *
 * Layout: an 8-byte little-endian unsigned header length `N`, then `N` bytes of UTF-8 JSON
 * `{"__metadata__": {string: string}, "<name>": {"dtype", "shape", "data_offsets": [begin, end]}, ...}`,
 * then the byte buffer. Offsets are relative to the start of the buffer; tensors are contiguous,
 * little-endian and row-major, and together they cover the buffer with no holes or overlaps.
 *
 * The encoder reproduces the reference (Rust) writer byte for byte: tensors sorted by descending
 * dtype alignment (the order of the reference `Dtype` enum) then by name (bytewise), compact JSON
 * with `__metadata__` first and tensor fields in the order `dtype`, `shape`, `data_offsets`, and the
 * header padded with spaces to a multiple of 8 bytes. The one thing the reference writer leaves to
 * chance is the order of the `__metadata__` keys (a Rust `HashMap`); this encoder keeps the
 * iteration order of the object it is given.
 */

/** The element types this module reads and writes (a subset of the safetensors dtypes). */
export type SafetensorsDType = 'F32' | 'F64' | 'I32' | 'U8' | 'I64';

/** The typed array that holds the elements of each {@link SafetensorsDType}. */
export type TensorData = Float32Array | Float64Array | Int32Array | Uint8Array | BigInt64Array;

/** One tensor as stored in a safetensors file: dtype, row-major shape, and its elements. */
export interface StoredTensor {
  /** Element type; must match the typed array in `data` (F32 ↔ Float32Array, I64 ↔ BigInt64Array, ...). */
  dtype: SafetensorsDType;
  /** Dimensions, row-major; `[]` is a scalar (one element), a `0` anywhere means no elements. */
  shape: number[];
  /** The elements, `product(shape)` of them. */
  data: TensorData;
}

/** Result of {@link decodeSafetensors}: the tensors by name and the `__metadata__` map (`{}` if absent). */
export interface DecodedSafetensors {
  tensors: Record<string, StoredTensor>;
  metadata: Record<string, string>;
}

/**
 * Thrown by {@link encodeSafetensors} and {@link decodeSafetensors}. The message is one line,
 * `<source>: <problem>`; `problem` holds the part after the source so callers can re-wrap it.
 */
export class SafetensorsError extends Error {
  /** What was being read or written (a file path, or `safetensors buffer` / `encodeSafetensors`). */
  readonly source: string;
  /** The problem alone, without the source prefix. */
  readonly problem: string;

  /** @param source what was being read or written; @param problem what is wrong with it. */
  constructor(source: string, problem: string, options?: { cause?: unknown }) {
    super(`${source}: ${problem}`, options);
    this.name = 'SafetensorsError';
    this.source = source;
    this.problem = problem;
  }
}

/** Largest header the reader accepts, as in the reference implementation (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

interface DTypeInfo {
  /** Bytes per element. */
  size: number;
  /** Position in the reference `Dtype` enum; the writer sorts by this, descending. */
  rank: number;
  /** `Symbol.toStringTag` of the matching typed array. */
  arrayTag: string;
  create(length: number): TensorData;
}

// Ranks follow the reference enum: BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0,
// F8_E4M3FNUZ, F8_E5M2FNUZ, I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64.
const DTYPES: Record<SafetensorsDType, DTypeInfo> = {
  U8: { size: 1, rank: 4, arrayTag: 'Uint8Array', create: (n) => new Uint8Array(n) },
  I32: { size: 4, rank: 15, arrayTag: 'Int32Array', create: (n) => new Int32Array(n) },
  F32: { size: 4, rank: 17, arrayTag: 'Float32Array', create: (n) => new Float32Array(n) },
  F64: { size: 8, rank: 19, arrayTag: 'Float64Array', create: (n) => new Float64Array(n) },
  I64: { size: 8, rank: 20, arrayTag: 'BigInt64Array', create: (n) => new BigInt64Array(n) },
};

const SUPPORTED = Object.keys(DTYPES).join(', ');
const METADATA_KEY = '__metadata__';
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, value);
}

/** Bytewise UTF-8 order (what Rust's `String: Ord` does) = code point order, not UTF-16 unit order. */
function compareNames(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx - cy;
  }
}

/** Reverses the bytes of each `size`-byte element in place (used only on big-endian hosts). */
function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) {
    for (let lo = i, hi = i + size - 1; lo < hi; lo++, hi--) {
      const t = bytes[lo]!;
      bytes[lo] = bytes[hi]!;
      bytes[hi] = t;
    }
  }
}

/** Plain assignment would treat a tensor named `__proto__` as a prototype change. */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function showShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Element count of `shape`, or a description of why it is not a valid shape. */
function elementCount(shape: unknown): number | string {
  if (!Array.isArray(shape)) return 'shape is not an array';
  let count = 1;
  for (const dim of shape) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      return `shape ${JSON.stringify(shape)} has a dimension that is not a non-negative integer`;
    }
    count *= dim;
    if (!Number.isSafeInteger(count)) return `shape ${JSON.stringify(shape)} has too many elements`;
  }
  return count;
}

/** Collapses a message to one short line (JSON.parse messages may quote the input). */
function oneLine(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Serialises tensors (and an optional `__metadata__` string map) to safetensors bytes, exactly as
 * the reference writer lays them out: tensors sorted by dtype alignment (largest first) then name,
 * compact JSON header padded with spaces to a multiple of 8 bytes, data contiguous little-endian.
 * `__metadata__` is written only when `metadata` is given (an empty object writes `{}`).
 * Throws {@link SafetensorsError} if a tensor's dtype, typed array and shape disagree, a name is
 * `__metadata__`, or a metadata value is not a string.
 */
export function encodeSafetensors(
  tensors: Record<string, StoredTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const fail = (problem: string): never => {
    throw new SafetensorsError('encodeSafetensors', problem);
  };
  const entries = Object.keys(tensors).map((name) => {
    const tensor = tensors[name]!;
    if (name === METADATA_KEY) fail(`"${METADATA_KEY}" is reserved and cannot be a tensor name`);
    if (tensor === null || typeof tensor !== 'object') fail(`tensor ${JSON.stringify(name)} is not an object`);
    if (!isDType(tensor.dtype)) {
      fail(
        `tensor ${JSON.stringify(name)} has unsupported dtype ${JSON.stringify(tensor.dtype)} (supported: ${SUPPORTED})`,
      );
    }
    const info = DTYPES[tensor.dtype];
    const tag = ArrayBuffer.isView(tensor.data)
      ? (tensor.data as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag]
      : typeof tensor.data;
    if (tag !== info.arrayTag) {
      fail(
        `tensor ${JSON.stringify(name)} has dtype ${tensor.dtype} but its data is a ${tag}, expected a ${info.arrayTag}`,
      );
    }
    const count = elementCount(tensor.shape);
    if (typeof count === 'string') fail(`tensor ${JSON.stringify(name)}: ${count}`);
    if (tensor.data.length !== count) {
      fail(
        `tensor ${JSON.stringify(name)} has shape ${showShape(tensor.shape)} (${count} elements) ` +
          `but its data holds ${tensor.data.length}`,
      );
    }
    return { name, tensor, info };
  });
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      fail('metadata must be an object of strings');
    }
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') fail(`metadata ${JSON.stringify(key)} is a ${typeof value}, not a string`);
    }
  }

  entries.sort((a, b) => b.info.rank - a.info.rank || compareNames(a.name, b.name));

  // Built by hand rather than with JSON.stringify(object): JS objects put integer-like keys first.
  const parts: string[] = [];
  if (metadata !== undefined) {
    const fields = Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${fields.join(',')}}`);
  }
  let offset = 0;
  for (const { name, tensor, info } of entries) {
    const end = offset + tensor.data.length * info.size;
    parts.push(
      `${JSON.stringify(name)}:{"dtype":${JSON.stringify(tensor.dtype)},` +
        `"shape":[${tensor.shape.join(',')}],"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  if (headerLength > MAX_HEADER_BYTES) fail(`header of ${headerLength} bytes exceeds ${MAX_HEADER_BYTES}`);

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const { tensor, info } of entries) {
    const data = tensor.data;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    out.set(bytes, at);
    if (!HOST_IS_LITTLE_ENDIAN) swapBytes(out.subarray(at, at + bytes.length), info.size);
    at += bytes.length;
  }
  return out;
}

/**
 * Finds a key repeated within one JSON object (JSON.parse silently keeps the last one; the format
 * forbids duplicates). `text` must already be valid JSON.
 */
function findDuplicateKey(text: string): string | undefined {
  const stack: { keys: Set<string> | null; expectKey: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{') stack.push({ keys: new Set(), expectKey: true });
    else if (ch === '[') stack.push({ keys: null, expectKey: false });
    else if (ch === '}' || ch === ']') stack.pop();
    else if (ch === ',') {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
    } else if (ch === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (top.keys.has(key)) return key;
        top.keys.add(key);
        top.expectKey = false;
      }
    }
  }
  return undefined;
}

interface HeaderEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses and strictly validates safetensors bytes, returning copies of every tensor (fresh,
 * properly aligned typed arrays, never views into `bytes`) and the `__metadata__` map.
 * Throws {@link SafetensorsError} (`<source>: <problem>`, `source` defaulting to
 * `safetensors buffer`) when the file is shorter than its 8-byte prefix, the header length runs
 * past the end of the file or over 100 MB, the header is not UTF-8 JSON, is not an object, repeats a
 * key, or has a malformed entry (unknown dtype, bad shape, bad `data_offsets`, unexpected field,
 * non-string metadata), when a tensor's byte span disagrees with shape × dtype size, when tensors
 * overlap or leave holes, or when the data section is shorter (truncated) or longer than the
 * header says.
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors buffer'): DecodedSafetensors {
  const fail = (problem: string, cause?: unknown): never => {
    throw new SafetensorsError(source, problem, cause === undefined ? undefined : { cause });
  };
  if (bytes.length < 8) {
    fail(`truncated: file has ${bytes.length} bytes, less than the 8-byte header length prefix`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  const available = bytes.length - 8;
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${declared} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const headerLength = Number(declared);
  if (headerLength > available) {
    fail(
      `truncated: header length says ${headerLength} bytes, file has only ${available} bytes after the 8-byte prefix`,
    );
  }
  if (headerLength === 0) fail('header length is 0');

  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch (error) {
    fail('header is not valid UTF-8', error);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    fail(`header is not valid JSON (${oneLine(error instanceof Error ? error.message : String(error))})`, error);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    fail(
      `header is not a JSON object (got ${header === null ? 'null' : Array.isArray(header) ? 'an array' : typeof header})`,
    );
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) fail(`header repeats the key ${JSON.stringify(duplicate)}`);

  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    const what = `tensor ${JSON.stringify(name)}`;
    if (name === METADATA_KEY) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(`${METADATA_KEY} is not an object`);
      for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof value !== 'string') fail(`${METADATA_KEY} entry ${JSON.stringify(key)} is not a string`);
        setOwn(metadata, key, value as string);
      }
      continue;
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(`${what}: header entry is not an object`);
    const info = raw as Record<string, unknown>;
    for (const field of ['dtype', 'shape', 'data_offsets']) {
      if (!Object.prototype.hasOwnProperty.call(info, field)) fail(`${what}: header entry has no "${field}"`);
    }
    const extra = Object.keys(info).filter((k) => k !== 'dtype' && k !== 'shape' && k !== 'data_offsets');
    if (extra.length > 0) fail(`${what}: header entry has unexpected field ${JSON.stringify(extra[0])}`);
    if (!isDType(info.dtype)) {
      fail(`${what}: unknown dtype ${JSON.stringify(info.dtype)} (supported: ${SUPPORTED})`);
    }
    const count = elementCount(info.shape);
    if (typeof count === 'string') fail(`${what}: ${count}`);
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(
        `${what}: data_offsets ${oneLine(JSON.stringify(offsets) ?? String(offsets), 60)} is not a pair of non-negative integers`,
      );
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(`${what}: data_offsets [${begin},${end}] end before they begin`);
    const dtype = info.dtype as SafetensorsDType;
    const shape = info.shape as number[];
    const size = DTYPES[dtype].size;
    const expected = (count as number) * size;
    if (!Number.isSafeInteger(expected)) fail(`${what}: shape ${showShape(shape)} is too large`);
    if (end - begin !== expected) {
      fail(
        `${what}: shape ${showShape(shape)} × ${dtype} (${size} bytes) is ${expected} bytes ` +
          `but data_offsets [${begin},${end}] span ${end - begin}`,
      );
    }
    entries.push({ name, dtype, shape: [...shape], begin, end });
  }

  // Tensors must tile the buffer from 0: sort by offsets, then every tensor starts where the last ended.
  const ordered = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: HeaderEntry | undefined;
  for (const entry of ordered) {
    if (entry.begin < covered) {
      fail(
        `tensor ${JSON.stringify(entry.name)}: data_offsets [${entry.begin},${entry.end}] overlap ` +
          `tensor ${JSON.stringify(previous!.name)} [${previous!.begin},${previous!.end}]`,
      );
    }
    if (entry.begin > covered) {
      fail(`hole in tensor data: bytes [${covered},${entry.begin}) belong to no tensor`);
    }
    covered = entry.end;
    previous = entry;
  }
  const dataBytes = available - headerLength;
  if (dataBytes < covered) {
    fail(`truncated: header says ${covered} bytes of tensor data, file has ${dataBytes}`);
  }
  if (dataBytes > covered) {
    fail(`${dataBytes - covered} trailing bytes: header says ${covered} bytes of tensor data, file has ${dataBytes}`);
  }

  const dataStart = 8 + headerLength;
  const tensors: Record<string, StoredTensor> = {};
  for (const { name, dtype, shape, begin, end } of entries) {
    const info = DTYPES[dtype];
    const data = info.create((end - begin) / info.size);
    const target = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    target.set(bytes.subarray(dataStart + begin, dataStart + end));
    if (!HOST_IS_LITTLE_ENDIAN) swapBytes(target, info.size);
    setOwn(tensors, name, { dtype, shape, data });
  }
  return { tensors, metadata };
}
