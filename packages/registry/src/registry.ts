import { claimPending, registerSlot } from './slots.js';

/**
 * A name a registry does not know: the one error of every registry (models, tasks, arms, pruners,
 * report sources, ...). Its message names the kind and lists the known entries:
 * `unknown arm "lottery" (arms: ticket, dense, ...)`. A usage error (exit code 2 in the CLI).
 */
export class RegistryError extends Error {
  override name = 'RegistryError';
  /** Stable identifier: an unknown name is a usage error. */
  readonly code: string = 'GT_UNKNOWN_NAME';
  /** What kind of entry was asked for (`arm`, `model`, ...). */
  readonly kind: string;
  /** The name that was asked for. */
  readonly entry: string;
  /** The names the registry knew at the time. */
  readonly known: readonly string[];

  constructor(kind: string, entry: string, known: readonly string[], message: string) {
    super(message);
    this.kind = kind;
    this.entry = entry;
    this.known = [...known];
  }
}

/** How a registry names, checks and reports its entries. */
export interface RegistryOptions<T> {
  /** What one entry is called in messages: `model`, `task`, `arm`, `pruner`. */
  kind: string;
  /**
   * The key of a plug-in module's default export that lists entries of this kind (`models`,
   * `tasks`, `arms`, `pruners`): `export default { arms: [myArm] }`.
   */
  plural: string;
  /** The word before the list of known names in the unknown-name error (default `known`). */
  listLabel?: string;
  /** Appended after the list in the unknown-name error (e.g. `; or a path to a module`). */
  hint?: string;
  /** The name of an entry (default: its `name` field). */
  nameOf?: (entry: T) => string;
  /** Why a value is not a valid entry, or null; checked on every registration (plug-ins too). */
  check?: (entry: unknown) => string | null;
  /** The error for an entry that fails `check` (default: a plain Error `invalid <kind>: <problem>`). */
  invalid?: (problem: string) => Error;
  /**
   * True when a plug-in module may default-export one entry of this kind by itself (as pruner
   * packages do): a default export that passes `check` is registered here.
   */
  singleExport?: boolean;
}

/** A table of named entries of one kind. Create one with {@link createRegistry}. */
export interface Registry<T> {
  readonly kind: string;
  readonly plural: string;
  /**
   * Adds an entry (checked first); a later entry with the same name replaces the earlier one and
   * moves to the end of the order. Returns the entry.
   */
  register(entry: T): T;
  /** The entry with this name, or a {@link RegistryError} listing the known names. */
  get(name: string): T;
  /** The entry with this name, or undefined. */
  find(name: string): T | undefined;
  has(name: string): boolean;
  /** Names in registration order. */
  names(): string[];
  /** Entries in registration order. */
  entries(): T[];
  /** Removes an entry (true when it was there). */
  remove(name: string): boolean;
  /** The error {@link get} throws for an unknown name (for callers that prefix it, e.g. `arms: unknown arm …`). */
  unknown(name: string): RegistryError;
  /** Checks a value as an entry of this kind without registering it: the problem, or null. */
  problem(value: unknown): string | null;
}

const defaultName = (entry: unknown): string => String((entry as { name?: unknown } | null)?.name);

/**
 * Creates a registry: one kind of named extension point. Every registry of the toolkit is one of
 * these, so they all behave alike: the same unknown-name error ({@link RegistryError}), the same
 * replace-on-reregister rule, and plug-in modules loaded with {@link usePlugins} fill them in every
 * process (the key of a plug-in's default export is the registry's `plural`).
 * @example
 * const arms = createRegistry<{ name: string; plan(): unknown }>({ kind: 'arm', plural: 'arms', listLabel: 'arms' });
 * arms.register({ name: 'ticket', plan: () => 'the pruned, rewound network' });
 * arms.names();        // [ 'ticket' ]
 * arms.get('lottery'); // throws RegistryError: unknown arm "lottery" (arms: ticket)
 */
export function createRegistry<T>(options: RegistryOptions<T>): Registry<T> {
  const table = new Map<string, T>();
  const nameOf = options.nameOf ?? defaultName;
  const problem = (value: unknown): string | null => {
    if (value === null || typeof value !== 'object')
      return `not a ${options.kind} object (got ${value === null ? 'null' : typeof value})`;
    const custom = options.check?.(value);
    if (custom) return custom;
    const name = nameOf(value as T);
    return typeof name === 'string' && name !== '' && name !== 'undefined'
      ? null
      : `a ${options.kind} needs a non-empty name`;
  };
  const unknown = (name: string): RegistryError => {
    const known = [...table.keys()];
    return new RegistryError(
      options.kind,
      name,
      known,
      `unknown ${options.kind} "${name}" (${options.listLabel ?? 'known'}: ${known.join(', ')}${options.hint ?? ''})`,
    );
  };
  const registry: Registry<T> = {
    kind: options.kind,
    plural: options.plural,
    register(entry) {
      const why = problem(entry);
      if (why) throw options.invalid ? options.invalid(why) : new Error(`invalid ${options.kind}: ${why}`);
      const name = nameOf(entry);
      table.delete(name);
      table.set(name, entry);
      return entry;
    },
    get(name) {
      const entry = table.get(name);
      if (entry === undefined) throw unknown(name);
      return entry;
    },
    find: (name) => table.get(name),
    has: (name) => table.has(name),
    names: () => [...table.keys()],
    entries: () => [...table.values()],
    remove: (name) => table.delete(name),
    unknown,
    problem,
  };
  registerSlot({
    plural: options.plural,
    single: options.singleExport === true,
    accepts: (value) => problem(value) === null,
    add: (value) => nameOf(registry.register(value as T)),
  });
  for (const entry of claimPending(options.plural)) registry.register(entry as T);
  return registry;
}
