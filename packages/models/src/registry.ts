import type { GrokModel, ModelDefinition } from './types.js';

/** Thrown for unknown models or bad model configuration; the message is one line. */
export class ModelError extends Error {
  override name = 'ModelError';
}

const registry = new Map<string, ModelDefinition>();

/** Adds a model family to the registry (a later registration of the same kind replaces it). */
export function registerModel(definition: ModelDefinition): void {
  registry.set(definition.kind, definition);
}

/** Names of every registered model family. */
export function listModels(): string[] {
  return [...registry.keys()];
}

/** The registered definition for `kind`, or a ModelError listing the known kinds. */
export function getModelDefinition(kind: string): ModelDefinition {
  const def = registry.get(kind);
  if (!def) throw new ModelError(`unknown model "${kind}" (known: ${listModels().join(', ')})`);
  return def;
}

/**
 * Builds a model from its registry name and configuration overrides. Unknown keys and values of the
 * wrong type are rejected so a typo in a config file cannot silently fall back to a default.
 * @example
 * const mlp = createModel('mlp');                       // the reference MLP: 115 000 weights
 * const small = createModel('mlp', { vocab: 11, dEmb: 32, dModel: 16 });
 * small.params.map((p) => `${p.name} ${p.shape.join('×')}`); // [ 'W_E 32×11', 'W_in 16×32', 'W_out 32×16', 'W_U 32×11'
 * ]
 */
export function createModel(kind: string, overrides: Record<string, unknown> = {}): GrokModel {
  const def = getModelDefinition(kind);
  const config: Record<string, number | string | boolean> = { ...def.defaults };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(key in def.defaults)) {
      throw new ModelError(`model "${kind}" has no option "${key}" (options: ${Object.keys(def.defaults).join(', ')})`);
    }
    const expected = typeof def.defaults[key];
    if (typeof value !== expected) {
      throw new ModelError(`model "${kind}" option "${key}" must be a ${expected}, got ${JSON.stringify(value)}`);
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new ModelError(`model "${kind}" option "${key}" must be finite, got ${value}`);
    }
    config[key] = value as number | string | boolean;
  }
  return def.build(config);
}

/** Checks a positive integer option; used by the model builders. */
export function positiveInt(kind: string, key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ModelError(`model "${kind}" option "${key}" must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks a positive finite number option. */
export function positiveNumber(kind: string, key: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new ModelError(`model "${kind}" option "${key}" must be a positive number, got ${JSON.stringify(value)}`);
  }
  return value;
}
