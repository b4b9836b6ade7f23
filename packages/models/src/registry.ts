import { createRegistry, type Registry } from '@grokking-tickets/registry';
import type { GrokModel, ModelDefinition } from './types.js';

/** Thrown for unknown models or bad model configuration; the message is one line. */
export class ModelError extends Error {
  override name = 'ModelError';
}

/** The model families, by kind (the registry `registerModel` and `getModelDefinition` use). */
export const models: Registry<ModelDefinition> = createRegistry<ModelDefinition>({
  kind: 'model',
  plural: 'models',
  nameOf: (def) => def.kind,
  check: (def) => {
    const d = def as Partial<ModelDefinition>;
    if (typeof d.kind !== 'string' || d.kind === '') return 'a model definition needs a kind';
    if (typeof d.build !== 'function') return `model "${d.kind}" needs a build(config) function`;
    if (!d.defaults || typeof d.defaults !== 'object') return `model "${d.kind}" needs defaults`;
    return null;
  },
  invalid: (problem) => new ModelError(problem),
});

/** Adds a model family to the registry (a later registration of the same kind replaces it). */
export function registerModel(definition: ModelDefinition): void {
  models.register(definition);
}

/** Names of every registered model family. */
export function listModels(): string[] {
  return models.names();
}

/** The registered definition for `kind`, or a RegistryError listing the known kinds. */
export function getModelDefinition(kind: string): ModelDefinition {
  return models.get(kind);
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
  const def = models.find(kind);
  if (!def) {
    const unknown = models.unknown(kind);
    throw new ModelError(unknown.message, { cause: unknown });
  }
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
