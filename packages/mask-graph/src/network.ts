import { UndirectedGraph } from 'graphology';
import { MaskGraphError } from './errors.js';

/** Masks (or weights) by tensor name, flat row-major; an entry is a kept weight when it is non-zero. */
export type MaskArrays = Record<string, Float32Array | Float64Array | Uint8Array>;

/** One layer of units. */
export interface UnitLayer {
  /** Unique name (`tokens`, `embed`, ...); a unit's node key is `<name>:<index>`. */
  name: string;
  size: number;
}

/** The weight tensor joining two consecutive layers. */
export interface LayerLink {
  /** Name of the mask / weight tensor. */
  tensor: string;
  /**
   * How the tensor is stored: `out-in` is [next layer, previous layer] (PyTorch's nn.Linear, y = W x);
   * `in-out` is [previous layer, next layer] (y = x W, as the MLP's unembedding W_U).
   */
  layout: 'out-in' | 'in-out';
}

/**
 * A layered feed-forward network: `layers[0]` are the inputs, and `links[l]` is the weight tensor between
 * `layers[l]` and `layers[l + 1]` (so there is one link fewer than layers). As a graph it is bipartite:
 * every edge joins a layer of even index to one of odd index.
 */
export interface LayeredNetwork {
  layers: UnitLayer[];
  links: LayerLink[];
}

function positiveInt(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new MaskGraphError(`${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * The units of the modular-arithmetic MLP (the reference's `OnlyMLP`) and the tensors that join them:
 * p input tokens → d_emb embedding units (W_E, [d_emb, p]) → d_model hidden units (W_in, [d_model, d_emb])
 * → any square hidden layers (W_h0, ...) → d_emb output-embedding units (W_out, [d_emb, d_model]) → p logits
 * (W_U, [d_emb, p], used as x·W_U). The two tokens of a pair share the input units (their embeddings are
 * summed). With the paper's sizes (p = 67, d_emb = 500, d_model = 48): 1 182 units, 115 000 weights.
 * @example
 * mlpNetwork({ vocab: 67, dEmb: 500, dModel: 48 }).layers.map((l) => l.size); // [67, 500, 48, 500, 67]
 */
export function mlpNetwork(config: {
  vocab: number;
  dEmb: number;
  dModel: number;
  hiddenLayers?: number;
}): LayeredNetwork {
  const vocab = positiveInt('vocab', config.vocab);
  const dEmb = positiveInt('dEmb', config.dEmb);
  const dModel = positiveInt('dModel', config.dModel);
  const hidden = config.hiddenLayers ?? 0;
  if (!Number.isInteger(hidden) || hidden < 0)
    throw new MaskGraphError(`hiddenLayers must be a non-negative integer, got ${JSON.stringify(hidden)}`);
  return {
    layers: [
      { name: 'tokens', size: vocab },
      { name: 'embed', size: dEmb },
      { name: 'hidden', size: dModel },
      ...Array.from({ length: hidden }, (_, l) => ({ name: `hidden${l + 1}`, size: dModel })),
      { name: 'unembed', size: dEmb },
      { name: 'logits', size: vocab },
    ],
    links: [
      { tensor: 'W_E', layout: 'out-in' },
      { tensor: 'W_in', layout: 'out-in' },
      ...Array.from({ length: hidden }, (_, l) => ({ tensor: `W_h${l}`, layout: 'out-in' as const })),
      { tensor: 'W_out', layout: 'out-in' },
      { tensor: 'W_U', layout: 'in-out' },
    ],
  };
}

/**
 * The units of the MNIST MLP (inputDim → width → width → classes through W1, W2, W3, each stored
 * [out, in]).
 * @example
 * mnistMlpNetwork({ inputDim: 784, width: 200, classes: 10 }).layers.length; // 4
 */
export function mnistMlpNetwork(config: { inputDim: number; width: number; classes: number }): LayeredNetwork {
  const inputDim = positiveInt('inputDim', config.inputDim);
  const width = positiveInt('width', config.width);
  const classes = positiveInt('classes', config.classes);
  return {
    layers: [
      { name: 'pixels', size: inputDim },
      { name: 'hidden1', size: width },
      { name: 'hidden2', size: width },
      { name: 'classes', size: classes },
    ],
    links: [
      { tensor: 'W1', layout: 'out-in' },
      { tensor: 'W2', layout: 'out-in' },
      { tensor: 'W3', layout: 'out-in' },
    ],
  };
}

/** Checks a layered network: unique layer names, positive sizes, one link between each pair of layers. */
export function checkNetwork(network: LayeredNetwork): void {
  const { layers, links } = network;
  if (!Array.isArray(layers) || layers.length < 2)
    throw new MaskGraphError('a layered network needs at least 2 layers');
  if (!Array.isArray(links) || links.length !== layers.length - 1)
    throw new MaskGraphError(`${layers.length} layers need ${layers.length - 1} links, got ${links?.length}`);
  const names = new Set<string>();
  for (const l of layers) {
    if (typeof l.name !== 'string' || l.name === '' || l.name.includes(':'))
      throw new MaskGraphError(`layer name ${JSON.stringify(l.name)} must be a non-empty string without ':'`);
    if (names.has(l.name)) throw new MaskGraphError(`layer name "${l.name}" is used twice`);
    names.add(l.name);
    positiveInt(`size of layer "${l.name}"`, l.size);
  }
  for (const k of links)
    if (k.layout !== 'out-in' && k.layout !== 'in-out')
      throw new MaskGraphError(`link "${k.tensor}": layout must be out-in or in-out, got ${JSON.stringify(k.layout)}`);
}

/**
 * The network of a mask as an undirected graphology graph: one node per unit (key `<layer>:<index>`, with
 * attributes `layer` and `index`; every unit is a node, also those whose weights are all pruned), one edge
 * per kept (non-zero) mask entry between the two units the weight joins. Nodes are added layer by layer in
 * index order, which fixes every order-dependent choice (the largest component on a tie). Throws a
 * `MaskGraphError` when a link's mask is missing or has the wrong size.
 * @example
 * const g = maskGraph({ W1: Float32Array.from([1, 0, 0, 1]) }, {
 *   layers: [{ name: 'in', size: 2 }, { name: 'out', size: 2 }],
 *   links: [{ tensor: 'W1', layout: 'out-in' }],
 * });
 * [g.order, g.size, g.hasEdge('in:0', 'out:0')]; // [4, 2, true]
 */
export function maskGraph(masks: MaskArrays, network: LayeredNetwork): UndirectedGraph {
  checkNetwork(network);
  const { layers, links } = network;
  const g = new UndirectedGraph({ allowSelfLoops: false, multi: false });
  const keys = layers.map((l) => Array.from({ length: l.size }, (_, i) => `${l.name}:${i}`));
  layers.forEach((l, li) => keys[li]!.forEach((key, index) => g.addNode(key, { layer: l.name, index })));
  links.forEach((link, l) => {
    const m = masks[link.tensor];
    const from = keys[l]!;
    const to = keys[l + 1]!;
    if (!m)
      throw new MaskGraphError(
        `no mask named "${link.tensor}" (it joins "${layers[l]!.name}" and "${layers[l + 1]!.name}")`,
      );
    if (m.length !== from.length * to.length)
      throw new MaskGraphError(
        `mask "${link.tensor}" has ${m.length} entries, but ${layers[l]!.name} × ${layers[l + 1]!.name} is ${from.length} × ${to.length} = ${from.length * to.length}`,
      );
    // out-in: entry [o, i] at o·|from| + i; in-out: entry [i, o] at i·|to| + o.
    for (let i = 0; i < from.length; i++)
      for (let o = 0; o < to.length; o++) {
        const v = link.layout === 'out-in' ? m[o * from.length + i]! : m[i * to.length + o]!;
        if (Number.isNaN(v)) throw new MaskGraphError(`mask "${link.tensor}" holds NaN`);
        if (v !== 0) g.addEdge(from[i]!, to[o]!);
      }
  });
  return g;
}
