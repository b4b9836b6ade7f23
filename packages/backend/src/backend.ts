import * as tf from '@tensorflow/tfjs-core';
// Register the 'cpu' and 'wasm' backend factories (the .wasm binary is loaded lazily by tf.setBackend).
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerGradientFixes } from './gradients/register.js';
import { registerFastKernels } from './kernels/fastKernels.js';

/** A tfjs backend this package can select: tfjs-node (`tensorflow`), WebAssembly, or plain JS. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** The outcome of {@link initBackend}. */
export interface BackendChoice {
  /** The backend now active in the shared tfjs engine. */
  name: BackendName;
  /** What the caller asked for. */
  requested: BackendName | 'auto';
  /** One line per backend that was tried and skipped, saying why (empty when the first try worked). */
  notes: string[];
}

/** A requested backend could not be loaded or initialised. The message is one line. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
}

/** Preference order for `'auto'`. */
const AUTO_ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];
const BACKEND_NAMES: readonly string[] = AUTO_ORDER;

/**
 * Module specifier of the optional native backend. Kept in a variable so that neither TypeScript
 * nor a bundler insists on resolving it: it is an optionalDependency and is often absent.
 */
const TFJS_NODE: string = '@tensorflow/tfjs-node';

/** How to get the native backend with npm 11, whose install-script policy blocks tfjs-node's download by default. */
export const TFJS_NODE_HINT =
  'npm install @tensorflow/tfjs-node@4.22.0 && npm install-scripts approve @tensorflow/tfjs-node && npm rebuild @tensorflow/tfjs-node';

/** First line of an error's message, trimmed, for one-line notes and errors. */
function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (message.split('\n').find((l) => l.trim() !== '') ?? message).trim();
}

/** Makes `name` loadable (registers its factory) or returns why it cannot be. */
async function ensureRegistered(name: BackendName): Promise<string | null> {
  if (tf.findBackendFactory(name) != null) return null;
  if (name !== 'tensorflow') return `no '${name}' backend is registered with @tensorflow/tfjs-core`;
  try {
    await import(TFJS_NODE);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const missing =
      code === 'ERR_MODULE_NOT_FOUND' ||
      code === 'MODULE_NOT_FOUND' ||
      /cannot find (package|module)|could not resolve/i.test(firstLine(err));
    if (missing && firstLine(err).includes(TFJS_NODE) && !/\.node\b|binding/i.test(firstLine(err))) {
      return `@tensorflow/tfjs-node could not be loaded (not installed; it is optional: ${TFJS_NODE_HINT})`;
    }
    // Installed but its native library is missing: npm 11 blocks install scripts by default.
    return `@tensorflow/tfjs-node could not be loaded (${firstLine(err)}); if npm skipped its install script: ${TFJS_NODE_HINT}`;
  }
  if (tf.findBackendFactory('tensorflow') == null) {
    return '@tensorflow/tfjs-node loaded but registered no backend with this copy of @tensorflow/tfjs-core (version mismatch?)';
  }
  return null;
}

/** Tries to make `name` the active backend; returns null on success, else the reason. */
async function trySet(name: BackendName): Promise<string | null> {
  const missing = await ensureRegistered(name);
  if (missing != null) return missing;
  const previous = tf.getBackend() as string | undefined;
  let ok = false;
  let thrown: string | null = null;
  try {
    ok = await tf.setBackend(name);
  } catch (err) {
    thrown = firstLine(err);
  }
  if (ok) return null;
  // A failed setBackend leaves the engine pointing at a backend with no instance; go back.
  if (previous != null && previous !== name && tf.findBackend(previous) != null) await tf.setBackend(previous);
  return thrown != null
    ? `tf.setBackend('${name}') threw (${thrown})`
    : `backend '${name}' failed to initialise (tfjs logged the cause above)`;
}

const chosen = new Map<BackendName | 'auto', BackendChoice>();
let queue: Promise<unknown> = Promise.resolve();

async function select(requested: BackendName | 'auto'): Promise<BackendChoice> {
  const cached = chosen.get(requested);
  if (cached != null && tf.getBackend() === cached.name) {
    registerGradientFixes();
    return { ...cached, notes: [...cached.notes] };
  }
  tf.enableProdMode();
  registerGradientFixes();
  const notes: string[] = [];
  let name: BackendName | undefined;
  if (requested === 'auto') {
    for (const candidate of AUTO_ORDER) {
      const why = await trySet(candidate);
      if (why == null) {
        name = candidate;
        break;
      }
      notes.push(`${candidate}: ${why}`);
    }
    if (name === undefined) throw new BackendError(`no tfjs backend could be initialised: ${notes.join('; ')}`);
  } else {
    const why = await trySet(requested);
    if (why != null) throw new BackendError(`backend '${requested}' was requested but cannot be used: ${why}`);
    name = requested;
  }
  // Loading tfjs-node can evaluate a second copy of the tfjs union bundle, which re-registers the
  // stock gradients in the shared registry; make sure ours are the ones in place.
  registerGradientFixes();
  registerFastKernels();
  const choice: BackendChoice = { name, requested, notes };
  chosen.set(requested, choice);
  return { ...choice, notes: [...notes] };
}

/**
 * Picks and activates the tfjs backend for this process (one shared engine for all packages).
 *
 * - `'auto'` (default) tries tfjs-node first (a dynamic import of `@tensorflow/tfjs-node`, which
 *   registers the `tensorflow` backend), then `wasm`, then `cpu`; each one skipped adds a line to
 *   `notes` saying why.
 * - Forcing `'tensorflow'`, `'wasm'` or `'cpu'` uses exactly that one, or throws a
 *   {@link BackendError} with a one-line message if it cannot load (the previous backend stays).
 *
 * Also calls `tf.enableProdMode()` and {@link registerGradientFixes} (both idempotent). Calling it
 * again with the same request while that backend is still active is cheap and returns the same
 * choice; concurrent calls are serialised.
 * @example
 * const { name, notes } = await initBackend();   // 'auto': tfjs-node, else wasm, else cpu
 * console.log(name, notes); // e.g. wasm [ "tensorflow: @tensorflow/tfjs-node could not be loaded (not installed; ...)"
 * ]
 * await initBackend('cpu');                       // or force one
 */
export async function initBackend(requested: BackendName | 'auto' = 'auto'): Promise<BackendChoice> {
  if (requested !== 'auto' && !BACKEND_NAMES.includes(requested)) {
    throw new BackendError(`unknown backend ${JSON.stringify(requested)}: expected auto, ${BACKEND_NAMES.join(', ')}`);
  }
  const run = queue.then(() => select(requested));
  queue = run.catch(() => undefined);
  return run;
}
