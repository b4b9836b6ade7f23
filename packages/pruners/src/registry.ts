import { createRegistry, importModule, isModuleNotFound, type Registry } from '@grokking-tickets/registry';
import { BUILTIN_PRUNERS, prunerShapeProblem } from './builtins.js';
import { PrunerError } from './errors.js';
import type { Pruner } from './types.js';

const BUILTIN_NAMES = BUILTIN_PRUNERS.map((p) => p.name);

/**
 * The pruners, by name (the registry `registerPruner` and `getPruner` use). A plug-in package may
 * default-export one pruner by itself (`export default definePruner({...})`).
 */
export const pruners: Registry<Pruner> = createRegistry<Pruner>({
  kind: 'pruner',
  plural: 'pruners',
  hint: '; or an installed package name, or a path to a module',
  check: prunerShapeProblem,
  invalid: (problem) => new PrunerError(`registerPruner: ${problem}`),
  singleExport: true,
});
for (const p of BUILTIN_PRUNERS) pruners.register(p);

/** Adds a pruner to the registry (a later one with the same name replaces it). Checks the shape. */
export function registerPruner(pruner: Pruner): void {
  pruners.register(pruner);
}

/**
 * Names of every registered pruner: the built-ins (random, magnitude, snip, grasp, synflow), then any registered at run
 * time.
 */
export function listPruners(): string[] {
  return pruners.names();
}

/** A registered pruner by name, or a PrunerError listing the known names (its cause: the RegistryError). */
export function getPruner(name: string): Pruner {
  const p = pruners.find(name);
  if (!p) {
    const unknown = pruners.unknown(name);
    throw new PrunerError(unknown.message, { cause: unknown });
  }
  return p;
}

/** True for the pruners that come with this package (random, magnitude, snip, grasp, synflow). */
export function isBuiltinPruner(name: string): boolean {
  return BUILTIN_NAMES.includes(name);
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
  const known = pruners.find(spec);
  if (known) return known;
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(spec, cwd);
  } catch (e) {
    const why = isModuleNotFound(e)
      ? 'no such pruner, package or module'
      : String((e as Error)?.message ?? e).split('\n')[0];
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
