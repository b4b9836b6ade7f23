import type { z } from 'zod';

/** Short JSON of a value for error messages (long values cut). */
function show(value: unknown): string {
  const text = value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

function where(path: readonly PropertyKey[], prefix: string): string {
  const parts = [prefix, ...path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))].filter(Boolean);
  return parts.join('.').replace(/\.\[/g, '[') || 'config';
}

type Node = { _zod?: { def?: Record<string, unknown> } } | undefined;
const WRAPPERS = ['optional', 'default', 'nullable', 'prefault'];

/** A schema without its optional, default, nullable and prefault wrappers. */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  let node = schema as unknown as Node;
  while (node?._zod?.def && WRAPPERS.includes(String(node._zod.def.type))) node = node._zod.def.innerType as Node;
  return node as unknown as z.ZodType;
}

/**
 * The schema of one field of an object schema, by path (through optional, default and nullable
 * wrappers), unwrapped: how sweep axes and command-line flags reuse a config field's values and
 * ranges instead of restating them. Throws when the path names no field (a programming error).
 * @example
 * schemaField(trainConfigInputSchema, ['optimizer', 'lr']).safeParse(0).success; // false: lr must be > 0
 */
export function schemaField(schema: z.ZodType, path: readonly string[]): z.ZodType {
  let node: z.ZodType = unwrapSchema(schema);
  for (const key of path) {
    const shape = (node as unknown as Node)?._zod?.def?.shape as Record<string, z.ZodType> | undefined;
    const next = shape?.[key];
    if (!next) throw new Error(`schema has no field ${path.join('.')}`);
    node = unwrapSchema(next);
  }
  return node;
}

/** The fields an object schema accepts at `path` (through optional, default and nullable wrappers), or []. */
function knownKeys(schema: z.ZodType | undefined, path: readonly PropertyKey[]): string[] {
  let node = schema as { _zod?: { def?: Record<string, unknown> } } | undefined;
  const unwrap = () => {
    while (node?._zod?.def && ['optional', 'default', 'nullable', 'prefault'].includes(String(node._zod.def.type)))
      node = node._zod.def.innerType as typeof node;
  };
  unwrap();
  for (const key of path) {
    const shape = node?._zod?.def?.shape as Record<string, typeof node> | undefined;
    node = shape?.[String(key)];
    unwrap();
  }
  const shape = node?._zod?.def?.shape as Record<string, unknown> | undefined;
  return shape ? Object.keys(shape) : [];
}

/** One zod issue as a one-line message that names the field by its path (`optimizer.lr: …`). */
export function formatIssue(issue: z.core.$ZodIssue, prefix = '', schema?: z.ZodType): string {
  const at = where(issue.path, prefix);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = (issue as { keys: string[] }).keys;
      const known = knownKeys(schema, issue.path);
      const list = known.length ? ` (fields: ${known.join(', ')})` : '';
      return `${at === 'config' ? 'unknown config' : `${at}: unknown`} field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}${list}`;
    }
    case 'invalid_type': {
      const expected = (issue as { expected: string }).expected;
      const name =
        expected === 'int'
          ? 'an integer'
          : expected === 'object' || expected === 'record'
            ? 'an object'
            : expected === 'array'
              ? 'a list'
              : `a ${expected}`;
      return `${at}: must be ${name}, got ${show(input)}`;
    }
    case 'invalid_value':
      return `${at}: must be one of ${(issue as { values: unknown[] }).values.map((v) => JSON.stringify(v)).join(', ')}, got ${show(input)}`;
    case 'too_small': {
      const i = issue as { minimum: number | bigint; inclusive?: boolean; origin: string };
      if (i.origin === 'string') return `${at}: must not be empty`;
      if (i.origin === 'array')
        return `${at}: must list at least ${i.minimum} item${Number(i.minimum) === 1 ? '' : 's'}`;
      return `${at}: must be ${i.inclusive === false ? '>' : '>='} ${i.minimum}, got ${show(input)}`;
    }
    case 'too_big': {
      const i = issue as { maximum: number | bigint; inclusive?: boolean; origin: string };
      return `${at}: must be ${i.inclusive === false ? '<' : '<='} ${i.maximum}, got ${show(input)}`;
    }
    default:
      return `${at}: ${issue.message}`;
  }
}

/**
 * Parses `value` with a zod schema; on failure throws `makeError(message)` with the first issue as
 * one line naming the field path. Unknown fields are rejected at every depth by strict schemas.
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  makeError: (message: string) => Error,
  prefix = '',
): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  throw makeError(formatIssue(result.error.issues[0]!, prefix, schema));
}
