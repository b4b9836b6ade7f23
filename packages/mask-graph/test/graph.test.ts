import fs from 'node:fs';
import { UndirectedGraph, DirectedGraph, MultiUndirectedGraph } from 'graphology';
import { describe, expect, it } from 'vitest';
import {
  MaskGraphError,
  graphMetrics,
  maskGraph,
  maskGraphMetrics,
  mlpNetwork,
  mnistMlpNetwork,
  type GraphMetrics,
  type LayeredNetwork,
  type MaskArrays,
} from '../src/index.js';

type Expected = Omit<GraphMetrics, 'averageShortestPath' | 'squareClustering' | 'robinsAlexanderClustering'> & {
  averageShortestPath: number | null;
  squareClustering: number | null;
  robinsAlexanderClustering: number | null;
  keptPerTensor?: Record<string, number>;
  largestComponentPerLayer?: Record<string, number>;
};
interface LayeredCase {
  name: string;
  network: { layers: Array<[string, number]>; links: Array<[string, 'out-in' | 'in-out']> };
  packed: boolean;
  masks: Record<string, number[] | string>;
  expected: Expected;
}
/** networkx's values, written by test/fixtures/make_graph_fixtures.py. */
const fixture = JSON.parse(fs.readFileSync(new URL('./fixtures/graph_fixtures.json', import.meta.url), 'utf8')) as {
  networkx: string;
  layered: LayeredCase[];
  general: Array<{ name: string; nodes: string[]; edges: Array<[string, string]>; expected: Expected }>;
};

const networkOf = (c: LayeredCase): LayeredNetwork => ({
  layers: c.network.layers.map(([name, size]) => ({ name, size })),
  links: c.network.links.map(([tensor, layout]) => ({ tensor, layout })),
});

/** np.packbits bytes (most significant bit first), base64 → one 0/1 entry per weight. */
function unpack(text: string, n: number): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
  return out;
}

function masksOf(c: LayeredCase): MaskArrays {
  const net = networkOf(c);
  const sizes = net.layers.map((l) => l.size);
  return Object.fromEntries(
    net.links.map((link, l) => {
      const v = c.masks[link.tensor]!;
      const n = sizes[l]! * sizes[l + 1]!;
      return [link.tensor, typeof v === 'string' ? unpack(v, n) : Float32Array.from(v)];
    }),
  );
}

/** Relative 1e-12 for the real-valued metrics (networkx sums in a different order), exact for counts. */
function expectMetrics(got: GraphMetrics & Partial<Record<string, unknown>>, want: Expected): void {
  for (const key of ['averageShortestPath', 'squareClustering', 'robinsAlexanderClustering'] as const) {
    const w = want[key];
    if (w === null) expect(got[key], key).toBeNaN();
    else
      expect(Math.abs(got[key] - w), `${key}: got ${got[key]}, networkx ${w}`).toBeLessThanOrEqual(1e-12 * Math.abs(w));
  }
  expect({
    units: got.units,
    edges: got.edges,
    activeUnits: got.activeUnits,
    components: got.components,
    largestComponent: got.largestComponent,
    fourCycles: got.fourCycles,
    threePaths: got.threePaths,
  }).toEqual({
    units: want.units,
    edges: want.edges,
    activeUnits: want.activeUnits,
    components: want.components,
    largestComponent: want.largestComponent,
    fourCycles: want.fourCycles,
    threePaths: want.threePaths,
  });
}

describe('graph metrics against networkx', () => {
  it(`fixtures from networkx ${fixture.networkx}`, () => {
    expect(fixture.layered.length).toBeGreaterThanOrEqual(10);
    expect(fixture.general.length).toBeGreaterThanOrEqual(6);
  });
  for (const c of fixture.layered) {
    it(`layered: ${c.name}`, () => {
      const m = maskGraphMetrics(masksOf(c), networkOf(c));
      expectMetrics(m, c.expected);
      expect(m.keptPerTensor).toEqual(c.expected.keptPerTensor);
      expect(m.largestComponentPerLayer).toEqual(c.expected.largestComponentPerLayer);
    });
  }
  for (const c of fixture.general) {
    it(`any simple graph: ${c.name}`, () => {
      const g = new UndirectedGraph();
      for (const n of c.nodes) g.addNode(n);
      for (const [a, b] of c.edges) g.addEdge(a, b);
      expectMetrics(graphMetrics(g), c.expected);
    });
  }
});

describe('by hand', () => {
  it('a square: L = 4/3, C₄ = 1, Robins–Alexander 1', () => {
    const g = new UndirectedGraph();
    ['a', 'b', 'c', 'd'].forEach((n) => g.addNode(n));
    g.addEdge('a', 'b');
    g.addEdge('b', 'c');
    g.addEdge('c', 'd');
    g.addEdge('d', 'a');
    expect(graphMetrics(g)).toEqual({
      units: 4,
      edges: 4,
      activeUnits: 4,
      components: 1,
      largestComponent: { units: 4, edges: 4 },
      averageShortestPath: 4 / 3, // 4 pairs at 1, 2 at 2
      squareClustering: 1,
      robinsAlexanderClustering: 1, // 4·1 square / 4 three-paths
      fourCycles: 1,
      threePaths: 4,
    });
  });
  it('a dense 2-2-2 network: every unit on squares; the mask layouts out-in and in-out', () => {
    // in → mid: out-in [mid, in]; mid → out: in-out [mid, out]
    const net: LayeredNetwork = {
      layers: [
        { name: 'in', size: 2 },
        { name: 'mid', size: 2 },
        { name: 'out', size: 2 },
      ],
      links: [
        { tensor: 'A', layout: 'out-in' },
        { tensor: 'B', layout: 'in-out' },
      ],
    };
    const g = maskGraph({ A: Float32Array.from([0, 1, 0, 0]), B: Float32Array.from([0, 0, 1, 0]) }, net);
    // A[mid 0, in 1] and B[mid 1, out 0]
    expect(g.edges().map((e) => g.extremities(e).join('-'))).toEqual(['in:1-mid:0', 'mid:1-out:0']);
    expect(g.getNodeAttributes('mid:1')).toEqual({ layer: 'mid', index: 1 });
    const dense = maskGraphMetrics({ A: new Float32Array(4).fill(1), B: new Float32Array(4).fill(1) }, net);
    // 15 pairs: in–mid and mid–out at 1 (8), in–in, mid–mid, out–out and in–out at 2 (7): L = 22/15.
    // Every pair of neighbours of every unit shares one more unit: C₄ = 1 everywhere. 4-cycles: in0-mid-in1-mid,
    // out0-mid-out1-mid and in_i-mid0-out_k-mid1 (4): 6; 3-paths: 8 edges · (2 − 1)(4 − 1) = 24; RA = 24/24.
    expect(dense).toMatchObject({
      largestComponent: { units: 6, edges: 8 },
      keptPerTensor: { A: 4, B: 4 },
      averageShortestPath: 22 / 15,
      squareClustering: 1,
      robinsAlexanderClustering: 1,
      fourCycles: 6,
      threePaths: 24,
    });
  });
  it('no kept weight: counts are zero and the metrics NaN', () => {
    const m = maskGraphMetrics({ W: new Float32Array(6) }, mnistLike());
    expect([m.edges, m.activeUnits, m.components, m.largestComponent.units]).toEqual([0, 0, 0, 0]);
    expect([m.averageShortestPath, m.squareClustering, m.robinsAlexanderClustering]).toEqual([NaN, NaN, NaN]);
    expect(m.largestComponentPerLayer).toEqual({ a: 0, b: 0 });
  });
});

function mnistLike(): LayeredNetwork {
  return {
    layers: [
      { name: 'a', size: 2 },
      { name: 'b', size: 3 },
    ],
    links: [{ tensor: 'W', layout: 'out-in' }],
  };
}

describe('networks and errors', () => {
  it('the paper MLP and the MNIST MLP', () => {
    const mlp = mlpNetwork({ vocab: 67, dEmb: 500, dModel: 48 });
    expect(mlp.layers.map((l) => [l.name, l.size])).toEqual([
      ['tokens', 67],
      ['embed', 500],
      ['hidden', 48],
      ['unembed', 500],
      ['logits', 67],
    ]);
    expect(mlp.links.map((l) => `${l.tensor}:${l.layout}`)).toEqual([
      'W_E:out-in',
      'W_in:out-in',
      'W_out:out-in',
      'W_U:in-out',
    ]);
    expect(mlpNetwork({ vocab: 5, dEmb: 4, dModel: 3, hiddenLayers: 2 }).links.map((l) => l.tensor)).toEqual([
      'W_E',
      'W_in',
      'W_h0',
      'W_h1',
      'W_out',
      'W_U',
    ]);
    expect(mnistMlpNetwork({ inputDim: 784, width: 200, classes: 10 }).layers.map((l) => l.size)).toEqual([
      784, 200, 200, 10,
    ]);
    expect(() => mlpNetwork({ vocab: 0, dEmb: 4, dModel: 3 })).toThrow('vocab must be a positive integer, got 0');
  });
  it('bad masks and networks: one-line MaskGraphErrors', () => {
    const net = mnistLike();
    expect(() => maskGraph({}, net)).toThrow('no mask named "W" (it joins "a" and "b")');
    expect(() => maskGraph({ W: new Float32Array(5) }, net)).toThrow('mask "W" has 5 entries, but a × b is 2 × 3 = 6');
    expect(() => maskGraph({ W: Float32Array.from([1, 0, 0, 0, 0, NaN]) }, net)).toThrow('mask "W" holds NaN');
    expect(() => maskGraph({}, { layers: [{ name: 'a', size: 1 }], links: [] })).toThrow(MaskGraphError);
    expect(() => maskGraph({}, { layers: [net.layers[0]!, { name: 'a', size: 2 }], links: net.links })).toThrow(
      'layer name "a" is used twice',
    );
    expect(() => maskGraph({}, { layers: net.layers, links: [] })).toThrow('2 layers need 1 links, got 0');
    expect(() => graphMetrics(new DirectedGraph())).toThrow('graph metrics need an undirected graph');
    expect(() => graphMetrics(new MultiUndirectedGraph())).toThrow('multigraph');
    const loop = new UndirectedGraph({ allowSelfLoops: true });
    loop.addNode('a');
    loop.addEdge('a', 'a');
    expect(() => graphMetrics(loop)).toThrow('without self-loops');
  });
});
