/**
 * @grokking-tickets/datasets — the data of the Grokking Tickets experiments as plain typed arrays:
 * modular arithmetic with the reference's exact split, and MNIST from IDX files.
 */
export { DatasetError } from './errors.js';
export { PythonRandom } from './pythonRandom.js';
export {
  getModularOp,
  listModularOps,
  modularArithmetic,
  modularOps,
  registerModularOp,
  type ModularConfig,
  type ModularDataset,
  type ModularOp,
  type PairSplit,
} from './modular.js';
export {
  defaultMnistDir,
  loadMnist,
  readIdx,
  type IdxData,
  type ImageSplit,
  type MnistDataset,
  type MnistOptions,
} from './mnist.js';
