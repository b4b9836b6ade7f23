import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { checkWorkspace } from '../check-deps.mjs';
// @ts-expect-error plain ESM script without types
import { isValidPrunerName } from '../new-pruner.mjs';

const SCRIPT = fileURLToPath(new URL('../new-pruner.mjs', import.meta.url));
const REPO = path.resolve(path.dirname(SCRIPT), '../..');
const VERSIONS = { pruners: '0.3.1', models: '0.2.0', backend: '0.1.4' };
const tmpDirs: string[] = [];
const tmp = (prefix: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A minimal fake workspace: a root package.json and the three sibling manifests the generator reads. */
function fakeWorkspace(versions: Record<string, string> = VERSIONS): string {
  const root = tmp('gt-newpruner-');
  fs.writeFileSync(
    path.join(root, 'package.json'),
    JSON.stringify({ name: 'fake', private: true, workspaces: ['packages/*'], devDependencies: { vitest: '^4.1.12' } }),
  );
  for (const [pkg, version] of Object.entries(versions)) {
    fs.mkdirSync(path.join(root, 'packages', pkg), { recursive: true });
    fs.writeFileSync(
      path.join(root, 'packages', pkg, 'package.json'),
      JSON.stringify({ name: `@grokking-tickets/${pkg}`, version }),
    );
  }
  return root;
}
const run = (root: string, ...args: string[]) =>
  spawnSync(process.execPath, [SCRIPT, ...args, '--root', root, '--no-install'], { encoding: 'utf8' });

/** Every file under dir, relative, sorted. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** Exit code 1 and exactly one line on stderr matching `re`. */
function expectOneLineFailure(r: ReturnType<typeof run>, re: RegExp) {
  expect(r.status).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^new-pruner: /);
  expect(lines[0]).toMatch(re);
}

describe('new-pruner', () => {
  it('scaffolds the package files and a changeset, and prints them', () => {
    const root = fakeWorkspace();
    const r = run(root, 'my-crit');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const dir = path.join(root, 'packages', 'pruner-my-crit');
    expect(listFiles(dir)).toEqual([
      'README.md',
      'package.json',
      'src/index.ts',
      'test/my-crit.test.ts',
      'tsconfig.json',
      'vitest.config.ts',
    ]);
    for (const f of listFiles(dir)) expect(r.stdout).toContain(`packages/pruner-my-crit/${f}`);
    expect(r.stdout).toContain('.changeset/pruner-my-crit-initial.md');
    expect(r.stdout).toMatch(/skipped npm install/);
    // nothing else is touched: only the new package and the changeset appear
    expect(fs.readdirSync(path.join(root, 'packages')).sort()).toEqual([
      'backend',
      'models',
      'pruner-my-crit',
      'pruners',
    ]);
    expect(fs.readdirSync(path.join(root, '.changeset'))).toEqual(['pruner-my-crit-initial.md']);
    expect(fs.readFileSync(path.join(root, '.changeset', 'pruner-my-crit-initial.md'), 'utf8')).toMatch(
      /^---\n"@grokking-tickets\/pruner-my-crit": minor\n---\n\n\S.*\n$/,
    );
  });

  it('writes a package.json modelled on the others, with the siblings pinned to their exact versions', () => {
    const root = fakeWorkspace();
    expect(run(root, 'my-crit').status).toBe(0);
    const dir = path.join(root, 'packages', 'pruner-my-crit');
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({
      name: '@grokking-tickets/pruner-my-crit',
      version: '0.1.0',
      type: 'module',
      main: './dist/index.js',
      types: './dist/index.d.ts',
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
      files: ['dist', 'README.md'],
      scripts: {
        build: 'tsc -p tsconfig.json',
        test: 'vitest run --reporter=default --reporter=json --outputFile=test-results.json',
      },
    });
    expect(pkg.keywords).toContain('grokking-tickets-pruner');
    expect(pkg.dependencies).toEqual({ '@grokking-tickets/models': '0.2.0', '@grokking-tickets/pruners': '0.3.1' });
    expect(pkg.devDependencies).toEqual({ '@grokking-tickets/backend': '0.1.4' });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'tsconfig.json'), 'utf8'))).toEqual({
      extends: '../../tsconfig.base.json',
      compilerOptions: { rootDir: 'src', outDir: 'dist' },
      include: ['src'],
    });
    expect(fs.readFileSync(path.join(dir, 'vitest.config.ts'), 'utf8')).toMatch(
      /include: \['test\/\*\*\/\*\.test\.ts'\]/,
    );
    // and the generated imports are all declared (the repo's own dependency check)
    expect(checkWorkspace(root)).toEqual([]);
  });

  it('writes a working placeholder pruner, a conformance test and a README', () => {
    const root = fakeWorkspace();
    expect(run(root, 'my-crit2').status).toBe(0);
    const dir = path.join(root, 'packages', 'pruner-my-crit2');
    const src = fs.readFileSync(path.join(dir, 'src', 'index.ts'), 'utf8');
    expect(src).toMatch(/import \{ definePruner \} from '@grokking-tickets\/pruners';/);
    expect(src).toMatch(/const myCrit2Pruner = definePruner\(\{\n {2}name: 'my-crit2',/);
    expect(src).toMatch(/export default myCrit2Pruner;/);
    expect(src).not.toMatch(/TODO|FIXME/);
    const test = fs.readFileSync(path.join(dir, 'test', 'my-crit2.test.ts'), 'utf8');
    expect(test).toMatch(/import \{ assertPrunerConforms \} from '@grokking-tickets\/pruners\/testing';/);
    expect(test).toMatch(/await initBackend\('wasm'\)/);
    expect(test).toMatch(
      /it\('passes the pruner conformance kit', async \(\) => \{\n\s+await assertPrunerConforms\(pruner\);/,
    );
    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('grokking-tickets ticket --pruner @grokking-tickets/pruner-my-crit2');
    expect(readme).toContain("import pruner from '@grokking-tickets/pruner-my-crit2';");
  });

  it('checks names', () => {
    for (const ok of ['x', 'snip2', 'magnitude-increase', 'a-1-b']) expect(isValidPrunerName(ok)).toBe(true);
    for (const bad of ['', 'Bad', 'my_crit', '1abc', 'a--b', 'trailing-', 'with space', 'a/b', '..', 'é'])
      expect(isValidPrunerName(bad)).toBe(false);
  });

  it.each([['Bad_Name'], ['a--b'], ['1abc'], ['trailing-'], ['../escape']])(
    'rejects the invalid name %s with one line and creates nothing',
    (name) => {
      const root = fakeWorkspace();
      expectOneLineFailure(run(root, name), /is not a valid pruner name/);
      expect(fs.readdirSync(path.join(root, 'packages')).sort()).toEqual(['backend', 'models', 'pruners']);
      expect(fs.existsSync(path.join(root, '.changeset'))).toBe(false);
    },
  );

  it('refuses an existing package with one line and leaves it untouched', () => {
    const root = fakeWorkspace();
    expect(run(root, 'dup').status).toBe(0);
    const index = path.join(root, 'packages', 'pruner-dup', 'src', 'index.ts');
    fs.writeFileSync(index, '// edited\n');
    expectOneLineFailure(run(root, 'dup'), /packages\/pruner-dup already exists/);
    expect(fs.readFileSync(index, 'utf8')).toBe('// edited\n');
  });

  it('fails with one line on bad usage or outside the workspace', () => {
    const root = fakeWorkspace();
    expectOneLineFailure(run(root), /usage: npm run new-pruner -- <name>/);
    expectOneLineFailure(run(root, 'a', 'b'), /one name expected, got 2/);
    expectOneLineFailure(run(root, 'a', '--frobnicate'), /unknown option --frobnicate/);
    expectOneLineFailure(
      spawnSync(process.execPath, [SCRIPT, 'a', '--no-install', '--root'], { encoding: 'utf8' }),
      /--root needs a directory/,
    );
    const noPruners = fakeWorkspace({ models: '0.1.0', backend: '0.1.0' });
    expectOneLineFailure(run(noPruners, 'a'), /packages\/pruners\/package.json is missing/);
    expect(fs.existsSync(path.join(noPruners, 'packages', 'pruner-a'))).toBe(false);
  });

  // End to end against the real sibling packages: needs packages/pruners built (`nx run-many -t build`).
  const prunersBuilt = fs.existsSync(path.join(REPO, 'packages', 'pruners', 'dist', 'testing.js'));
  it.skipIf(!prunersBuilt)(
    'generates a package that builds and passes its own test (against the real siblings)',
    () => {
      const root = tmp('gt-newpruner-e2e-');
      fs.copyFileSync(path.join(REPO, 'tsconfig.base.json'), path.join(root, 'tsconfig.base.json'));
      fs.copyFileSync(path.join(REPO, 'package.json'), path.join(root, 'package.json'));
      fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'), 'dir');
      for (const pkg of ['pruners', 'models', 'backend']) {
        fs.mkdirSync(path.join(root, 'packages', pkg), { recursive: true });
        fs.copyFileSync(
          path.join(REPO, 'packages', pkg, 'package.json'),
          path.join(root, 'packages', pkg, 'package.json'),
        );
      }
      expect(run(root, 'e2e-crit').status).toBe(0);
      const dir = path.join(root, 'packages', 'pruner-e2e-crit');
      const bin = (name: string) => path.join(REPO, 'node_modules', name);
      const tsc = spawnSync(process.execPath, [bin('typescript/bin/tsc'), '-p', 'tsconfig.json'], {
        cwd: dir,
        encoding: 'utf8',
      });
      expect(tsc.stdout + tsc.stderr).toBe('');
      expect(tsc.status).toBe(0);
      expect(fs.existsSync(path.join(dir, 'dist', 'index.js'))).toBe(true);
      const vitest = spawnSync(process.execPath, [bin('vitest/vitest.mjs'), 'run'], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, CI: '1', NO_COLOR: '1' },
      });
      expect(vitest.status, vitest.stdout + vitest.stderr).toBe(0);
      expect(vitest.stdout).toMatch(/2 passed/);
    },
  );
});
