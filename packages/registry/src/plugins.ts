import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { addPending, allSlots, pendingKeys, slotFor } from './slots.js';

/** A plug-in module that cannot be loaded or does not export what a plug-in exports: a usage error. */
export class PluginError extends Error {
  override name = 'PluginError';
  readonly code: string = 'GT_PLUGIN';
}

/** A plug-in as named by the user: a module id (package name or path) and the folder it resolves from. */
export interface PluginSpec {
  spec: string;
  cwd: string;
}

/** What a loaded plug-in added: entry names by registry key (`{ arms: ['ticket-half'] }`). */
export interface LoadedPlugin extends PluginSpec {
  entries: Record<string, string[]>;
}

/** A path rather than a package name: relative, absolute, a file: URL, or ending in a JavaScript extension. */
export function looksLikePath(spec: string): boolean {
  return (
    spec.startsWith('./') ||
    spec.startsWith('../') ||
    spec === '.' ||
    path.isAbsolute(spec) ||
    /\.[cm]?[jt]s$/.test(spec) ||
    spec.startsWith('file:')
  );
}

/** True when an import failed because the module does not exist (rather than failing inside). */
export function isModuleNotFound(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return (
    code === 'ERR_MODULE_NOT_FOUND' ||
    code === 'MODULE_NOT_FOUND' ||
    /cannot find (package|module)|failed to load url/i.test(String((e as Error)?.message))
  );
}

/** Imports a package by name: first as this package would resolve it, then from `cwd`'s node_modules. */
async function importPackage(spec: string, cwd: string): Promise<unknown> {
  try {
    return await import(spec);
  } catch (e) {
    if (!isModuleNotFound(e)) throw e;
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
 * Imports a module named by a module id, the way changesets and vitest resolve their plug-ins: an
 * installed package name (resolved from this package, then from `cwd`), or a path to a module
 * (relative to `cwd`, or a file: URL). Specs that look like paths (`./x.js`, `/abs/x.mjs`, `x.js`)
 * are never looked up as packages; a bare name that is no package but an existing file is loaded
 * as that file. Errors are the import's own (see {@link isModuleNotFound}).
 */
export async function importModule(spec: string, cwd: string = process.cwd()): Promise<Record<string, unknown>> {
  const file = spec.startsWith('file:') ? spec : path.resolve(cwd, spec);
  if (looksLikePath(spec))
    return (await import(spec.startsWith('file:') ? spec : pathToFileURL(file).href)) as Record<string, unknown>;
  try {
    return (await importPackage(spec, cwd)) as Record<string, unknown>;
  } catch (e) {
    // not an installed package: maybe a path given without ./ (e.g. an extension-less file)
    if (!isModuleNotFound(e) || !fs.existsSync(file)) throw e;
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  }
}

/** A module's default export, unwrapping CommonJS and double-wrapped modules (`{ default: { default: x } }`). */
export function defaultExport(mod: Record<string, unknown>): unknown {
  const outer = mod.default as Record<string, unknown> | undefined;
  return outer && typeof outer === 'object' && 'default' in outer ? outer.default : outer;
}

const KEY = Symbol.for('@grokking-tickets/registry:plugins');
function loaded(): Map<string, LoadedPlugin> {
  const g = globalThis as unknown as Record<symbol, Map<string, LoadedPlugin> | undefined>;
  return (g[KEY] ??= new Map());
}
const keyOf = (spec: string, cwd: string) => `${path.resolve(cwd)}\0${spec}`;

/** Keys of a plug-in object that describe it rather than list entries. */
const META_KEYS = new Set(['name', 'description']);

/** Registers what one plug-in module exports; returns the names it added by registry key. */
function install(spec: string, value: unknown): Record<string, string[]> {
  const keys = allSlots()
    .map((s) => s.plural)
    .join(', ');
  const single = allSlots().find((s) => s.single && s.accepts(value));
  if (single) return { [single.plural]: [single.add(value)] };
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new PluginError(
      `plug-in "${spec}" must default-export an object listing its entries ({ ${keys} }), got ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value}`,
    );
  const out: Record<string, string[]> = {};
  for (const [key, list] of Object.entries(value as Record<string, unknown>)) {
    if (META_KEYS.has(key)) continue;
    if (!Array.isArray(list))
      throw new PluginError(`plug-in "${spec}": ${key} must be a list of entries, got ${typeof list}`);
    const slot = slotFor(key);
    if (!slot) {
      // A registry this process has not loaded (e.g. report sources in a training worker).
      addPending(key, list);
      out[key] = [];
      continue;
    }
    out[key] = list.map((entry, i) => {
      try {
        return slot.add(entry);
      } catch (e) {
        throw new PluginError(`plug-in "${spec}": ${key}[${i}]: ${(e as Error).message}`, { cause: e });
      }
    });
  }
  return out;
}

/**
 * Loads plug-in modules named by module id (an installed package name or a path, as given by the
 * user in this invocation) and registers what each default-exports: an object whose keys are
 * registry keys (`{ models: [...], tasks: [...], arms: [...], pruners: [...] }`), or a single entry
 * of a registry that allows it (a pruner package's default-exported pruner). Loading the same spec
 * twice does nothing. Executors pass {@link loadedPlugins} to the worker threads and child
 * processes they start, which call this with the same list, so a plug-in reaches every process of
 * the run; nothing else ever names a module to load (never a file on disk, never a queue message).
 * @example
 * await usePlugins(['@my-lab/grokking-extras', './my-arm.mjs']);
 * loadedPlugins(); // [{ spec: '@my-lab/grokking-extras', cwd: '/home/me', entries: { tasks: ['parity'] } }, ...]
 */
export async function usePlugins(
  specs: readonly (string | PluginSpec)[],
  cwd: string = process.cwd(),
): Promise<LoadedPlugin[]> {
  const out: LoadedPlugin[] = [];
  for (const item of specs) {
    const spec = typeof item === 'string' ? item : item.spec;
    const from = path.resolve(typeof item === 'string' ? cwd : item.cwd);
    if (typeof spec !== 'string' || spec.trim() === '') throw new PluginError('a plug-in is named by a module id');
    const known = loaded().get(keyOf(spec, from));
    if (known) {
      out.push(known);
      continue;
    }
    let mod: Record<string, unknown>;
    try {
      mod = await importModule(spec, from);
    } catch (e) {
      const why = isModuleNotFound(e) ? 'no such package or module' : String((e as Error)?.message ?? e).split('\n')[0];
      throw new PluginError(`cannot load plug-in "${spec}": ${why}`, { cause: e });
    }
    const plugin: LoadedPlugin = { spec, cwd: from, entries: install(spec, defaultExport(mod)) };
    loaded().set(keyOf(spec, from), plugin);
    out.push(plugin);
  }
  return out;
}

/** The plug-ins loaded in this process, in load order: what executors hand to the processes they start. */
export function loadedPlugins(): LoadedPlugin[] {
  return [...loaded().values()];
}

/** The plug-in loaded under this spec (from any folder), or undefined. */
export function findPlugin(spec: string): LoadedPlugin | undefined {
  return loadedPlugins().find((p) => p.spec === spec);
}

/** The keys plug-ins may use in this process: the `plural` of every registry created so far. */
export function registryKeys(): string[] {
  return allSlots().map((s) => s.plural);
}

/**
 * Keys of loaded plug-ins that no registry in this process takes (a typo such as `arm` for
 * `arms`, or a registry of a package this process has not loaded). The CLI, which loads every
 * package, refuses plug-ins with such keys.
 */
export function unclaimedPluginKeys(): string[] {
  return pendingKeys();
}
