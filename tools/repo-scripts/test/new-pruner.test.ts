import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../new-pruner.mjs', import.meta.url));

function fakeWorkspace(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gt-newpruner-'));
  for (const [pkg, version] of [['pruners', '0.3.1'], ['models', '0.2.0'], ['backend', '0.1.4']]) {
    fs.mkdirSync(path.join(root, 'packages', pkg), { recursive: true });
    fs.writeFileSync(path.join(root, 'packages', pkg, 'package.json'), JSON.stringify({ name: `@grokking-tickets/${pkg}`, version }));
  }
  return root;
}
const run = (root: string, ...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args, '--root', root, '--no-install'], { encoding: 'utf8' });

describe('new-pruner', () => {
  it('scaffolds a package with pinned sibling versions, a conformance test, a README and a changeset', () => {
    const root = fakeWorkspace();
    const r = run(root, 'my-crit');
    expect(r.status).toBe(0);
    const dir = path.join(root, 'packages', 'pruner-my-crit');
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('@grokking-tickets/pruner-my-crit');
    expect(pkg.dependencies).toEqual({ '@grokking-tickets/pruners': '0.3.1' });
    expect(pkg.devDependencies).toEqual({ '@grokking-tickets/backend': '0.1.4', '@grokking-tickets/models': '0.2.0' });
    expect(fs.readFileSync(path.join(dir, 'src', 'index.ts'), 'utf8')).toMatch(/export default myCritPruner/);
    expect(fs.readFileSync(path.join(dir, 'test', 'my-crit.test.ts'), 'utf8')).toMatch(/assertPrunerConforms/);
    expect(fs.existsSync(path.join(dir, 'README.md'))).toBe(true);
    expect(fs.readFileSync(path.join(root, '.changeset', 'pruner-my-crit-initial.md'), 'utf8')).toMatch(/"@grokking-tickets\/pruner-my-crit": minor/);
  });

  it.each([['Bad_Name'], ['-x'], ['a--b']])('rejects the invalid name %s with one line', (name) => {
    const r = run(fakeWorkspace(), name);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not a valid pruner name/);
  });

  it('refuses an existing package and a missing name', () => {
    const root = fakeWorkspace();
    expect(run(root, 'dup').status).toBe(0);
    const again = run(root, 'dup');
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/packages\/pruner-dup already exists/);
    expect(run(root).stderr).toMatch(/usage: npm run new-pruner -- <name>/);
  });
});
