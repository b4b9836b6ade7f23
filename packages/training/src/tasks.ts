import { createRegistry, type Registry } from '@grokking-tickets/registry';
import { parseWith } from './schema.js';
import { mnistTask } from './tasks/mnist.js';
import { modularTask } from './tasks/modular.js';
import type { TaskConfig, TaskDefinition } from './tasks/types.js';

export type { TaskConfig, TaskData, TaskDefinition } from './tasks/types.js';

/**
 * The tasks, by name: what `task.name` of a config selects. A new task is one file under `tasks/`
 * exporting a {@link TaskDefinition} and one line in the list below (or, from outside this package,
 * `tasks.register(def)` or a plug-in's `tasks: [def]`).
 */
export const tasks: Registry<TaskDefinition> = createRegistry<TaskDefinition>({
  kind: 'task',
  plural: 'tasks',
  check: (def) => {
    const d = def as Partial<TaskDefinition>;
    if (typeof d.name !== 'string' || d.name === '') return 'a task needs a non-empty name';
    for (const fn of ['options', 'modelOptions', 'size', 'load'] as const)
      if (typeof d[fn] !== 'function') return `task "${d.name}" needs a ${fn}() function`;
    if (typeof d.defaultModel !== 'string') return `task "${d.name}" needs a defaultModel`;
    return null;
  },
});
for (const task of [modularTask, mnistTask]) tasks.register(task);

/** Adds a task to the registry (a later one with the same name replaces it). */
export function registerTask(def: TaskDefinition): void {
  tasks.register(def);
}

/** Registered task names. */
export function listTasks(): string[] {
  return tasks.names();
}

/** A task definition by name, or a RegistryError listing the known tasks. */
export function getTask(name: string): TaskDefinition {
  return tasks.get(name);
}

/** Thrown for invalid task options; one line naming the field. */
export class TaskConfigError extends Error {
  override name = 'TaskConfigError';
  readonly code = 'GT_CONFIG';
}

/** Fills a task config's defaults and rejects unknown keys, wrong types and out-of-range values. */
export function resolveTaskConfig(config: Partial<TaskConfig> & { name: string }): TaskConfig {
  const def = tasks.find(config.name);
  if (!def) throw new TaskConfigError(`task.name: ${tasks.unknown(config.name).message}`);
  const { name: _name, ...options } = config;
  const resolved = parseWith(def.options(), options, (m) => new TaskConfigError(m), 'task');
  return { name: def.name, ...resolved };
}
