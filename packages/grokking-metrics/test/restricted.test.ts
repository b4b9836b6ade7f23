import { describe, expect, it } from 'vitest';
import { MetricsError, crossEntropy, restrictedLoss } from '../src/index.js';
import { expectRel, fixture, gaussian } from './fixture.js';

describe('crossEntropy: float64 and exact when tiny', () => {
  it('memorised regime: margins 20–30 give losses 1e-7…1e-13, exact to float64 precision', () => {
    for (const margin of [20, 23.5, 27, 30]) {
      for (const classes of [2, 67]) {
        const logits = new Float64Array(classes).fill(-3);
        logits[1] = margin - 3;
        // by hand: loss = log1p(x), x = (classes − 1)·e^−margin; the series x − x²/2 + x³/3 is exact to
        // ~x³ ≤ 3e-21 relative, far below float64's 1.1e-16. Allowed: 1e-14, a few ulps of rounding in
        // the sum of 66 exponentials (measured ≤ 1.4e-15)
        const x = (classes - 1) * Math.exp(-margin);
        const want = x - (x * x) / 2 + (x * x * x) / 3;
        const got = crossEntropy(logits, 1);
        expect(got).toBeGreaterThan(1e-14);
        expect(got).toBeLessThan(2e-7);
        expectRel(got, want, 1e-14);
        // the textbook form log(Σ exp(l − m)) − (l_y − m) is off by 3e-8 … 1e-3 relative here
        const naive = Math.log(logits.reduce((t, l) => t + Math.exp(l - (margin - 3)), 0));
        expect(Math.abs(naive - want) / want).toBeGreaterThan(1e-8);
      }
    }
  });
  it('label not the maximum: log Σ exp(l_j − m) − (l_y − m)', () => {
    expectRel(crossEntropy([0, 1, 2], 0), Math.log(1 + Math.E + Math.E ** 2), 1e-15);
    expectRel(
      crossEntropy(Float32Array.from([1000, 0, 999]), 2),
      1 + Math.log1p(Math.exp(-1) + Math.exp(-1000)),
      1e-15,
    );
    expect(crossEntropy([5, 5], 0)).toBeCloseTo(Math.LN2, 15); // a tie with the label
    expect(crossEntropy([1, 2, 3, 9, 9], 1, 1, 2)).toBe(Math.log1p(Math.exp(-1))); // offset and classes: the row [2, 3]
  });
  it('errors: label outside the row, row outside the array', () => {
    expect(() => crossEntropy([1, 2], 2)).toThrow('label 2 is outside 0..1');
    expect(() => crossEntropy([1, 2], 0, 1, 2)).toThrow(MetricsError);
  });
});

describe('the orthogonality restrictedLoss relies on', () => {
  it('u_k = cos(2πk(a+b)/p), v_k = sin(...) are orthogonal to each other and to the constant over the p² pairs', () => {
    for (const p of [7, 8, 11, 12]) {
      const h = Math.floor(p / 2);
      const vecs: Array<{ name: string; v: Float64Array }> = [{ name: 'const', v: new Float64Array(p * p).fill(1) }];
      for (let k = 1; k <= h; k++) {
        for (const [name, g] of [
          ['u', Math.cos],
          ['v', Math.sin],
        ] as const) {
          const v = Float64Array.from({ length: p * p }, (_, i) =>
            g((2 * Math.PI * k * (Math.floor(i / p) + (i % p))) / p),
          );
          vecs.push({ name: `${name}${k}`, v });
        }
      }
      const dot = (x: Float64Array, y: Float64Array) => x.reduce((t, xi, i) => t + xi * y[i]!, 0);
      for (let i = 0; i < vecs.length; i++) {
        for (let j = i; j < vecs.length; j++) {
          const d = dot(vecs[i]!.v, vecs[j]!.v);
          const nyquist = 2 * Number(vecs[i]!.name.slice(1)) === p;
          if (i !== j) expect(Math.abs(d), `${vecs[i]!.name}·${vecs[j]!.name}, p = ${p}`).toBeLessThan(1e-9);
          else if (vecs[i]!.name === 'const') expect(d).toBe(p * p);
          else if (nyquist && vecs[i]!.name.startsWith('v'))
            expect(d).toBeLessThan(1e-20); // sin(πs) = 0
          else expectRel(d, nyquist ? p * p : (p * p) / 2, 1e-12);
        }
      }
    }
  });
});

describe('restrictedLoss (Nanda et al.; an extra)', () => {
  it.each(fixture.restricted.map((c) => [c.name, c] as const))(
    '%s against numpy (QR projection, 50-digit cross-entropy)',
    (_n, c) => {
      const got = restrictedLoss({
        logits: Float64Array.from(c.logits),
        p: c.p,
        labels: c.labels,
        trainPairs: c.trainPairs,
        keyFrequencies: c.keyFrequencies,
      });
      for (const v of ['full', 'restricted', 'excluded'] as const) {
        for (const s of ['train', 'all'] as const) expectRel(got[v][s], c[v][s], 1e-10);
      }
    },
  );
  it('memorised case: tiny losses exact (full 1e-14 relative, restricted 1e-12)', () => {
    const c = fixture.restricted.find((x) => x.name === 'p7-memorised')!;
    expect(c.full.train).toBeLessThan(1e-9);
    const got = restrictedLoss({
      logits: Float64Array.from(c.logits),
      p: c.p,
      labels: Int32Array.from(c.labels),
      trainPairs: Uint8Array.from(c.trainPairs, Number),
      keyFrequencies: c.keyFrequencies,
    });
    expectRel(got.full.train, c.full.train, 1e-14);
    expectRel(got.full.all, c.full.all, 1e-14);
    expectRel(got.restricted.train, c.restricted.train, 1e-12);
    expectRel(got.restricted.all, c.restricted.all, 1e-12);
    expect(got.excluded.train).toBeGreaterThan(1); // without its key frequencies the network knows nothing
  });
  it('logits that are a function of a + b only: all frequencies restore them; none leaves the class means', () => {
    const p = 9;
    const g = gaussian(7);
    const table = Float64Array.from({ length: p * p }, () => 3 * g()); // table[s·p + c]
    const logits = new Float64Array(p * p * p);
    const labels: number[] = [];
    for (let a = 0; a < p; a++)
      for (let b = 0; b < p; b++) {
        for (let c = 0; c < p; c++) logits[(a * p + b) * p + c] = table[((a + b) % p) * p + c]!;
        labels.push((a * b) % p);
      }
    const trainPairs = labels.map((_, i) => i % 3 === 0);
    const all = restrictedLoss({ logits, p, labels, trainPairs, keyFrequencies: [1, 2, 3, 4] });
    const none = restrictedLoss({ logits, p, labels, trainPairs, keyFrequencies: [] });
    expectRel(all.restricted.train, all.full.train, 1e-12);
    expectRel(all.restricted.all, all.full.all, 1e-12);
    expectRel(all.excluded.all, none.restricted.all, 1e-12); // L − P = the class means
    expect(none.excluded).toEqual(none.full);
    // the class means by hand: restricted logits with no key frequencies
    const mean = new Float64Array(p);
    for (let s = 0; s < p; s++) for (let c = 0; c < p; c++) mean[c] += table[s * p + c]! / p;
    const want = labels.reduce((t, y) => t + crossEntropy(mean, y), 0) / labels.length;
    expectRel(none.restricted.all, want, 1e-12);
    // a subset of the frequencies sits in between
    const some = restrictedLoss({ logits, p, labels, trainPairs, keyFrequencies: [2] });
    expect(some.restricted.all).not.toBeCloseTo(all.restricted.all, 3);
  });
  it('the key frequencies of a Nanda-style algorithm: restricted ≈ full ≪ excluded; the order of keys does not matter', () => {
    const c = fixture.restricted.find((x) => x.name === 'p11')!;
    const input = { logits: Float64Array.from(c.logits), p: c.p, labels: c.labels, trainPairs: c.trainPairs };
    const a = restrictedLoss({ ...input, keyFrequencies: [2, 5] });
    const b = restrictedLoss({ ...input, keyFrequencies: [5, 2] });
    expectRel(b.restricted.all, a.restricted.all, 1e-13);
    expect(a.restricted.train).toBeLessThan(a.full.train);
    expect(a.excluded.train).toBeGreaterThan(2 * a.full.train);
    // a wrong frequency explains nothing
    const wrong = restrictedLoss({ ...input, keyFrequencies: [3] });
    const none = restrictedLoss({ ...input, keyFrequencies: [] });
    expect(Math.abs(wrong.restricted.all - none.restricted.all)).toBeLessThan(0.05 * none.restricted.all);
    expect(wrong.restricted.all).toBeGreaterThan(4 * a.restricted.all);
  });
  it('Float32Array logits: same as their float64 values', () => {
    const c = fixture.restricted.find((x) => x.name === 'p8-nyquist')!;
    const l32 = Float32Array.from(c.logits);
    const a = restrictedLoss({
      logits: l32,
      p: c.p,
      labels: c.labels,
      trainPairs: c.trainPairs,
      keyFrequencies: c.keyFrequencies,
    });
    const b = restrictedLoss({
      logits: Float64Array.from(l32),
      p: c.p,
      labels: c.labels,
      trainPairs: c.trainPairs,
      keyFrequencies: c.keyFrequencies,
    });
    expect(a).toEqual(b);
    expectRel(a.full.all, c.full.all, 1e-6);
  });
  it('no training pairs: train losses NaN', () => {
    const c = fixture.restricted[0]!;
    const r = restrictedLoss({
      logits: Float64Array.from(c.logits),
      p: c.p,
      labels: c.labels,
      trainPairs: new Uint8Array(c.p * c.p),
      keyFrequencies: c.keyFrequencies,
    });
    expect(r.full.train).toBeNaN();
    expectRel(r.full.all, c.full.all);
  });
  it('errors: lengths, labels, frequencies (one line each)', () => {
    const c = fixture.restricted[0]!;
    const ok = {
      logits: Float64Array.from(c.logits),
      p: c.p,
      labels: c.labels,
      trainPairs: c.trainPairs,
      keyFrequencies: c.keyFrequencies,
    };
    const cases: Array<[Partial<typeof ok>, string]> = [
      [{ logits: new Float64Array(10) }, 'logits has 10 entries, expected p² × p = 1331'],
      [{ labels: c.labels.slice(1) }, 'labels has 120 entries, expected p² = 121'],
      [{ trainPairs: c.trainPairs.slice(1) }, 'trainPairs has 120 entries, expected p² = 121'],
      [{ labels: c.labels.map((y, i) => (i === 5 ? 11 : y)) }, 'label 5 is 11, outside 0..10'],
      [{ keyFrequencies: [0] }, 'key frequency 0 is outside 1..5'],
      [{ keyFrequencies: [6] }, 'key frequency 6 is outside 1..5'],
      [{ keyFrequencies: [2, 2] }, 'key frequency 2 is repeated'],
      [{ keyFrequencies: [1.5] }, 'key frequency 1.5 is outside 1..5'],
      [{ p: 1 }, 'p must be an integer >= 2'],
    ];
    for (const [change, message] of cases) {
      expect(() => restrictedLoss({ ...ok, ...change })).toThrow(MetricsError);
      expect(() => restrictedLoss({ ...ok, ...change })).toThrow(message);
    }
  });
});
