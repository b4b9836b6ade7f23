/**
 * @grokking-tickets/registry — the one kind of registry every extension point of grokking-tickets
 * uses (models, tasks, arms, pruners, sweep axes, modular operations, report sources), with one
 * unknown-name error, and plug-in modules named by module id that fill those registries in every
 * process of a run (the CLI, its worker threads and child processes, queue workers).
 */
export { RegistryError, createRegistry, type Registry, type RegistryOptions } from './registry.js';
export {
  PluginError,
  defaultExport,
  findPlugin,
  importModule,
  isModuleNotFound,
  loadedPlugins,
  looksLikePath,
  registryKeys,
  unclaimedPluginKeys,
  usePlugins,
  type LoadedPlugin,
  type PluginSpec,
} from './plugins.js';
