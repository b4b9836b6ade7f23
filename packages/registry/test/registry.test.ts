import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  PluginError,
  RegistryError,
  createRegistry,
  findPlugin,
  loadedPlugins,
  unclaimedPluginKeys,
  usePlugins,
} from '../src/index.js';

interface Thing {
  name: string;
  size: number;
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gt-registry-'));

describe('createRegistry', () => {
  it('registers, lists in order, replaces by name, and names the known entries for an unknown one', () => {
    const things = createRegistry<Thing>({ kind: 'thing', plural: 'things-a', listLabel: 'things' });
    things.register({ name: 'a', size: 1 });
    things.register({ name: 'b', size: 2 });
    expect(things.names()).toEqual(['a', 'b']);
    expect(things.get('b').size).toBe(2);
    things.register({ name: 'a', size: 3 });
    expect(things.names()).toEqual(['b', 'a']);
    expect(things.get('a').size).toBe(3);
    expect(things.find('c')).toBeUndefined();
    let err: unknown;
    try {
      things.get('c');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).message).toBe('unknown thing "c" (things: b, a)');
    expect((err as RegistryError).known).toEqual(['b', 'a']);
    expect((err as RegistryError).code).toBe('GT_UNKNOWN_NAME');
    expect(things.remove('a')).toBe(true);
    expect(things.names()).toEqual(['b']);
  });

  it('checks entries with the registry check and its own error; a hint follows the list', () => {
    class ThingError extends Error {}
    const things = createRegistry<Thing>({
      kind: 'thing',
      plural: 'things-b',
      hint: '; or a path',
      check: (v) => (typeof (v as Thing).size === 'number' ? null : 'needs a size'),
      invalid: (p) => new ThingError(`registerThing: ${p}`),
    });
    expect(() => things.register({ name: 'x' } as Thing)).toThrow(ThingError);
    expect(() => things.register({ name: 'x' } as Thing)).toThrow('registerThing: needs a size');
    expect(() => things.register({ name: '', size: 1 })).toThrow('registerThing: a thing needs a non-empty name');
    expect(() => things.get('x')).toThrow('unknown thing "x" (known: ; or a path)');
  });
});

describe('usePlugins', () => {
  it('loads a module by path once and fills every registry it names', async () => {
    const arms = createRegistry<Thing>({ kind: 'arm', plural: 'test-arms' });
    const models = createRegistry<Thing>({ kind: 'model', plural: 'test-models' });
    const dir = tmp();
    fs.writeFileSync(
      path.join(dir, 'plugin.mjs'),
      "export default { name: 'p', test_arms_unused: [], 'test-arms': [{ name: 'half', size: 1 }], 'test-models': [{ name: 'tiny', size: 2 }] };\n",
    );
    const [p] = await usePlugins(['./plugin.mjs'], dir);
    expect(p!.entries).toEqual({ test_arms_unused: [], 'test-arms': ['half'], 'test-models': ['tiny'] });
    expect(arms.get('half').size).toBe(1);
    expect(models.names()).toEqual(['tiny']);
    // a key no registry takes is kept for later and reported
    expect(unclaimedPluginKeys()).toContain('test_arms_unused');
    // once per spec and folder
    await usePlugins(['./plugin.mjs'], dir);
    expect(loadedPlugins().filter((l) => l.spec === './plugin.mjs')).toHaveLength(1);
    expect(findPlugin('./plugin.mjs')!.cwd).toBe(path.resolve(dir));
  });

  it('a registry created after a plug-in took its key receives the pending entries', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'late.mjs'), "export default { 'late-things': [{ name: 'early', size: 7 }] };\n");
    await usePlugins([path.join(dir, 'late.mjs')]);
    const late = createRegistry<Thing>({ kind: 'thing', plural: 'late-things' });
    expect(late.get('early').size).toBe(7);
  });

  it('a single default-exported entry goes to the registry that takes it', async () => {
    const single = createRegistry<Thing & { score(): number }>({
      kind: 'scorer',
      plural: 'test-scorers',
      singleExport: true,
      check: (v) => (typeof (v as { score?: unknown }).score === 'function' ? null : 'needs score()'),
    });
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 's.mjs'), "export default { name: 'solo', size: 0, score: () => 1 };\n");
    const [p] = await usePlugins(['s.mjs'], dir);
    expect(p!.entries).toEqual({ 'test-scorers': ['solo'] });
    expect(single.get('solo').score()).toBe(1);
  });

  it('one-line PluginErrors: a missing module, a bad export, a bad entry', async () => {
    createRegistry<Thing>({
      kind: 'gadget',
      plural: 'gadgets',
      check: (v) => (typeof (v as Thing).size === 'number' ? null : 'needs a size'),
    });
    const dir = tmp();
    await expect(usePlugins(['no-such-package-for-grokking-tickets'], dir)).rejects.toThrow(
      'cannot load plug-in "no-such-package-for-grokking-tickets": no such package or module',
    );
    fs.writeFileSync(path.join(dir, 'num.mjs'), 'export default 42;\n');
    await expect(usePlugins(['./num.mjs'], dir)).rejects.toThrow(
      /plug-in "\.\/num\.mjs" must default-export an object/,
    );
    fs.writeFileSync(path.join(dir, 'bad.mjs'), "export default { gadgets: [{ name: 'g' }] };\n");
    await expect(usePlugins(['./bad.mjs'], dir)).rejects.toThrow(
      'plug-in "./bad.mjs": gadgets[0]: invalid gadget: needs a size',
    );
    await expect(usePlugins(['./bad.mjs'], dir)).rejects.toBeInstanceOf(PluginError);
    fs.writeFileSync(path.join(dir, 'throws.mjs'), "throw new Error('boom');\n");
    await expect(usePlugins(['./throws.mjs'], dir)).rejects.toThrow('cannot load plug-in "./throws.mjs": boom');
  });
});
