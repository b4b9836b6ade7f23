import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILTIN_PRUNERS, prunerShapeProblem } from './builtins.js';
import { PrunerError } from './errors.js';
import type { Pruner } from './types.js';

const registry = new Map<string, Pruner>(BUILTIN_PRUNERS.map((p) => [p.name, p]));
const BUILTIN_NAMES = BUILTIN_PRUNERS.map((p) => p.name);

/** Adds a pruner to the registry (a later one with the same name replaces it). Checks the shape. */
export function registerPruner(pruner: Pruner): void {
  const problem = prunerShapeProblem(pruner);
  if (problem) throw new PrunerError(`registerPruner: ${problem}`);
  registry.set(pruner.name, pruner);
}

/**
 * Names of every registered pruner: the built-ins (random, magnitude, snip, grasp, synflow), then any registered at run
 * time.
 */
export function listPruners(): string[] {
  return [...registry.keys()];
}

/** A registered pruner by name, or a PrunerError listing the known names. */
export function getPruner(name: string): Pruner {
  const p = registry.get(name);
  if (!p)
    throw new PrunerError(
      `unknown pruner "${name}" (known: ${listPruners().join(', ')}; or an installed package name, or a path to a module)`,
    );
  return p;
}

/** A path rather than a package name: relative, absolute, or ending in a JavaScript extension. */
function looksLikePath(spec: string): boolean {
  return (
    spec.startsWith('./') ||
    spec.startsWith('../') ||
    spec === '.' ||
    path.isAbsolute(spec) ||
    /\.[cm]?[jt]s$/.test(spec) ||
    spec.startsWith('file:')
  );
}

const isNotFound = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return (
    code === 'ERR_MODULE_NOT_FOUND' ||
    code === 'MODULE_NOT_FOUND' ||
    /cannot find (package|module)|failed to load url/i.test(String((e as Error)?.message))
  );
};

/** Imports a package by name: first as this package would resolve it, then from `cwd`'s node_modules. */
async function importPackage(spec: string, cwd: string): Promise<unknown> {
  try {
    return await import(spec);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    let resolved: string;
    try {
      resolved = createRequire(path.join(cwd, 'noop.js')).resolve(spec);
    } catch {
      throw e;
    }
    return await import(pathToFileURL(resolved).href);
  }
}

/**
 * Resolves `--pruner <spec>` the way changesets and vitest resolve their plug-ins:
 * 1. a registered name (`magnitude`, `snip`, ...);
 * 2. else an installed package name (`@grokking-tickets/pruner-magnitude-increase`), imported
 *    dynamically (resolved from this package, then from `cwd`), `default` unwrapped;
 * 3. else a path to a module (relative to `cwd`, turned into a file URL), `default` unwrapped.
 * Specs that look like paths (`./x.js`, `/abs/x.mjs`, `x.js`) skip step 2. The default export is
 * checked to be a Pruner. Any failure is a one-line PrunerError that lists the built-ins, with the
 * underlying load error as `cause`.
 * @example
 * const builtin = await loadPruner('snip');
 * const fromPackage = await loadPruner('@grokking-tickets/pruner-magnitude-increase');
 * const fromFile = await loadPruner('./my-pruner.mjs', process.cwd());
 */
export async function loadPruner(spec: string, cwd: string = process.cwd()): Promise<Pruner> {
  if (typeof spec !== 'string' || spec === '')
    throw new PrunerError(`pruner spec must be a non-empty string (built-in: ${BUILTIN_NAMES.join(', ')})`);
  const known = registry.get(spec);
  if (known) return known;
  const file = spec.startsWith('file:') ? spec : path.resolve(cwd, spec);
  let mod: Record<string, unknown>;
  try {
    if (looksLikePath(spec)) {
      mod = (await import(spec.startsWith('file:') ? spec : pathToFileURL(file).href)) as Record<string, unknown>;
    } else {
      try {
        mod = (await importPackage(spec, cwd)) as Record<string, unknown>;
      } catch (e) {
        // not an installed package: maybe a path given without ./ (e.g. an extension-less file)
        if (!isNotFound(e) || !fs.existsSync(file)) throw e;
        mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      }
    }
  } catch (e) {
    const why = isNotFound(e) ? 'no such pruner, package or module' : String((e as Error)?.message ?? e).split('\n')[0];
    throw new PrunerError(
      `cannot load pruner "${spec}": ${why} (built-in: ${BUILTIN_NAMES.join(', ')}; or an installed package name, or a path to a module)`,
      { cause: e },
    );
  }
  const outer = mod.default as Record<string, unknown> | undefined;
  // CommonJS or double-wrapped modules: { default: { default: pruner } }
  const candidate =
    outer && typeof outer === 'object' && 'default' in outer && !('score' in outer) ? outer.default : outer;
  const problem = prunerShapeProblem(candidate);
  if (problem) {
    throw new PrunerError(
      `"${spec}" does not default-export a pruner: ${problem} (export default definePruner({...}) from @grokking-tickets/pruners; built-in: ${BUILTIN_NAMES.join(', ')})`,
    );
  }
  return candidate as Pruner;
}
