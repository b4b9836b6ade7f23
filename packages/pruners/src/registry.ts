import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILTIN_PRUNERS, prunerShapeProblem } from './builtins.js';
import { PrunerError } from './errors.js';
import type { Pruner } from './types.js';

const registry = new Map<string, Pruner>(BUILTIN_PRUNERS.map((p) => [p.name, p]));

/** Adds a pruner to the registry (a later one with the same name replaces it). */
export function registerPruner(pruner: Pruner): void {
  const problem = prunerShapeProblem(pruner);
  if (problem) throw new PrunerError(`registerPruner: ${problem}`);
  registry.set(pruner.name, pruner);
}

/** Names of every registered pruner. */
export function listPruners(): string[] {
  return [...registry.keys()];
}

/** A registered pruner, or a PrunerError listing the known names. */
export function getPruner(name: string): Pruner {
  const p = registry.get(name);
  if (!p) throw new PrunerError(`unknown pruner "${name}" (built-in: ${listPruners().join(', ')}; or an installed package name, or a path to a module)`);
  return p;
}

/**
 * Resolves `--pruner <spec>` as vitest resolves its providers: a registered name; else an installed
 * package (dynamic import, `default` unwrapped); else a module path relative to `cwd`. The shape is
 * checked; a failure is one PrunerError line listing the built-ins, with the load error as `cause`.
 */
export async function loadPruner(spec: string, cwd: string = process.cwd()): Promise<Pruner> {
  if (registry.has(spec)) return registry.get(spec)!;
  const looksLikePath = spec.startsWith('.') || spec.startsWith('/') || /\.[cm]?js$/.test(spec);
  const target = looksLikePath ? pathToFileURL(path.resolve(cwd, spec)).href : spec;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(target)) as Record<string, unknown>;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ? 'not found' : (e as Error).message.split('\n')[0];
    throw new PrunerError(`cannot load pruner "${spec}": ${why} (built-in: ${listPruners().join(', ')})`, { cause: e });
  }
  const candidate = (mod.default as Record<string, unknown> | undefined)?.default ?? mod.default;
  const problem = prunerShapeProblem(candidate);
  if (problem) throw new PrunerError(`"${spec}" does not default-export a pruner: ${problem} (use definePruner from @grokking-tickets/pruners)`);
  return candidate as Pruner;
}
