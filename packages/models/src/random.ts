/**
 * Seeded Gaussian generator for weight initialisation.
 *
 * The reference initialises with PyTorch's unseeded global generator, so its dense runs are not
 * repeatable (protocol §9 row 2). We seed every tensor from (seed, stream, tensor name) instead, in plain
 * JavaScript, so θ0 is identical on every backend and can be regenerated without running a model.
 */

/** 32-bit FNV-1a hash of a string, used to derive independent streams from names. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** splitmix32: spreads a seed over the four words of the xoshiro state. */
function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) >>> 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [state, (z ^ (z >>> 16)) >>> 0];
}

/** xoshiro128** generator with Box-Muller normals; deterministic for (seed, stream). */
export class SeededRandom {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  /** @param seed non-negative integer run seed; @param stream a name that separates uses of one seed. */
  constructor(seed: number, stream: string) {
    let st = (fnv1a(stream) ^ Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.floor(seed / 2 ** 32)) >>> 0;
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitmix32(st);
      st = next;
      this.s[i] = out;
    }
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    const s = this.s;
    let [s0, s1, s2, s3] = [s[0]!, s[1]!, s[2]!, s[3]!];
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 = (s2 ^ s0) >>> 0;
    s3 = (s3 ^ s1) >>> 0;
    s1 = (s1 ^ s2) >>> 0;
    s0 = (s0 ^ s3) >>> 0;
    s2 = (s2 ^ t) >>> 0;
    s3 = rotl(s3, 11);
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
    return result;
  }

  /** Uniform double in (0, 1): 53 random bits, never exactly 0 (safe for log). */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }

  /** Standard normal draw (Box-Muller, both values used). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const theta = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Fills a Float32Array of `size` i.i.d. N(0, std²) values from the stream `init/<name>` of `seed`. */
export function gaussianArray(size: number, std: number, seed: number, name: string): Float32Array {
  const rng = new SeededRandom(seed, `init/${name}`);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal() * std;
  return out;
}
