/**
 * Release check: every publishable package is packed (its `prepack` builds it), published to a real
 * local registry (Verdaccio, started here on a loopback port with its own storage; other packages are
 * proxied from the npm registry this machine uses), then installed ALONE by name into an empty
 * project, and the runnable examples of its README (every ```js block) are run there. The installed
 * size of each package is written to install-sizes.json beside this test's results.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const VERDACCIO = path.join(ROOT, 'node_modules', 'verdaccio', 'bin', 'verdaccio');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gt-release-'));
const npmrc = path.join(work, 'npmrc');

/** Publishable packages (every non-private package under packages/), by folder. */
const PACKAGES = fs
  .readdirSync(path.join(ROOT, 'packages'))
  .filter((d) => fs.existsSync(path.join(ROOT, 'packages', d, 'package.json')))
  .map((d) => ({
    dir: path.join(ROOT, 'packages', d),
    json: JSON.parse(fs.readFileSync(path.join(ROOT, 'packages', d, 'package.json'), 'utf8')),
  }))
  .filter((p) => !p.json.private)
  .sort((a, b) => a.json.name.localeCompare(b.json.name));

/** The ```js blocks of a README: the examples a user can paste into a file and run. */
export function runnableExamples(readme: string): string[] {
  return [...readme.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const npm = (args: string[], cwd: string, timeout = 300_000) =>
  execFileSync('npm', [...args, '--userconfig', npmrc, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    encoding: 'utf8',
    timeout,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

function duBytes(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

const npmAsync = (args: string[], cwd: string) =>
  promisify(execFile)('npm', [...args, '--userconfig', npmrc, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    encoding: 'utf8',
    timeout: 600_000,
  });

/** The empty project each package is installed into, alone. */
const projectOf = (name: string) => path.join(work, 'projects', name.replace('/', '__'));

let registry: ChildProcess | null = null;
let url = '';
let unavailable = '';

beforeAll(async () => {
  if (!fs.existsSync(VERDACCIO)) {
    unavailable = 'verdaccio is not installed (npm ci installs it as a dev dependency)';
    return;
  }
  const port = await freePort();
  url = `http://127.0.0.1:${port}/`;
  const upstream = execFileSync('npm', ['config', 'get', 'registry'], { cwd: work, encoding: 'utf8' }).trim();
  fs.writeFileSync(
    path.join(work, 'config.yaml'),
    [
      `storage: ${path.join(work, 'storage')}`,
      'auth:',
      '  htpasswd:',
      `    file: ${path.join(work, 'htpasswd')}`,
      '    max_users: 10',
      'uplinks:',
      '  upstream:',
      `    url: ${upstream}`,
      '    timeout: 60s',
      'packages:',
      "  '@grokking-tickets/*':",
      '    access: $all',
      '    publish: $authenticated',
      "  '**':",
      '    access: $all',
      '    proxy: upstream',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  registry = spawn(
    process.execPath,
    [VERDACCIO, '--config', path.join(work, 'config.yaml'), '--listen', `127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Ready when the port accepts connections (event-driven: retry on each refusal, bounded count).
  for (let attempt = 0; ; attempt++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (registry.exitCode !== null || attempt > 600) {
      unavailable = `the local registry did not start (exit code ${registry.exitCode})`;
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // A user for publishing (Verdaccio's htpasswd registration), then its token in a private npmrc.
  const res = await fetch(`${url}-/user/org.couchdb.user:release`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'release', password: 'release-check' }),
  });
  const { token } = (await res.json()) as { token: string };
  fs.writeFileSync(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
  // Pack (prepack builds) and publish every package.
  fs.mkdirSync(path.join(work, 'tarballs'));
  for (const p of PACKAGES) {
    // Nx built every package before this test (its `^build` dependency); packing with the prepack
    // build would rebuild dist/ in place while other packages' tests run from it.
    expect(p.json.scripts?.prepack, `${p.json.name} builds before it is packed`).toMatch(/:build/);
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', path.join(work, 'tarballs')], {
      cwd: p.dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // npm's tarball name: the package name without '@', '/' → '-', then the version.
    const file = `${(p.json.name as string).replace('@', '').replace('/', '-')}-${p.json.version}.tgz`;
    npm(['publish', path.join(work, 'tarballs', file)], work);
  }
  // Install every package alone into its own empty project, three at a time (network-bound).
  const queue = [...PACKAGES];
  const lane = async () => {
    for (let p = queue.shift(); p; p = queue.shift()) {
      const project = projectOf(p.json.name);
      fs.mkdirSync(project, { recursive: true });
      fs.writeFileSync(
        path.join(project, 'package.json'),
        JSON.stringify({ name: 'empty-project', version: '1.0.0', private: true, type: 'module' }),
      );
      try {
        await npmAsync(['install', p.json.name], project);
      } catch (e) {
        installErrors.set(p.json.name, String((e as { stderr?: string }).stderr ?? e));
      }
    }
  };
  await Promise.all([lane(), lane(), lane()]);
}, 900_000);

const installErrors = new Map<string, string>();

afterAll(() => {
  registry?.kill('SIGTERM');
});

const sizes: Record<string, { bytes: number; packages: number }> = {};

describe('every package installs alone from a registry and runs its README examples', () => {
  it.each(PACKAGES.map((p) => [p.json.name as string, p]))('%s', (name, p, ctx) => {
    if (unavailable) ctx.skip(`release check skipped: ${unavailable}`);
    const project = projectOf(name);
    expect(installErrors.get(name), `npm install ${name}`).toBeUndefined();
    const installed = JSON.parse(
      fs.readFileSync(path.join(project, 'node_modules', ...name.split('/'), 'package.json'), 'utf8'),
    );
    expect(installed.version).toBe(p.json.version);
    // What the package ships: its build, README and LICENSE; no source maps without sources.
    const shipped = path.join(project, 'node_modules', ...name.split('/'));
    expect(fs.existsSync(path.join(shipped, 'LICENSE')), 'LICENSE').toBe(true);
    expect(fs.existsSync(path.join(shipped, 'dist', 'index.js')), 'dist/index.js').toBe(true);
    const maps = execFileSync('find', [shipped, '-name', '*.map'], { encoding: 'utf8' }).trim();
    expect(maps, 'no source maps').toBe('');
    sizes[name] = {
      bytes: duBytes(path.join(project, 'node_modules')),
      packages: fs.readdirSync(path.join(project, 'node_modules')).length,
    };
    const examples = runnableExamples(fs.readFileSync(path.join(p.dir, 'README.md'), 'utf8'));
    expect(examples.length, `${name}/README.md has a runnable js example`).toBeGreaterThan(0);
    examples.forEach((code, i) => {
      const file = path.join(project, `example-${i}.mjs`);
      fs.writeFileSync(file, code);
      try {
        execFileSync(process.execPath, [file], {
          cwd: project,
          encoding: 'utf8',
          timeout: 300_000,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (e) {
        const err = e as { stderr?: string; stdout?: string };
        throw new Error(`${name} README example ${i + 1} failed:\n${err.stderr ?? ''}${err.stdout ?? ''}`, {
          cause: e,
        });
      }
    });
    if (installed.bin) {
      for (const bin of Object.keys(installed.bin)) {
        const out = execFileSync(path.join(project, 'node_modules', '.bin', bin), ['--version'], {
          cwd: project,
          encoding: 'utf8',
        });
        expect(out.trim()).toBe(installed.version);
      }
    }
  });

  it('records the install size of each package', (ctx) => {
    if (unavailable) ctx.skip(`release check skipped: ${unavailable}`);
    expect(Object.keys(sizes)).toHaveLength(PACKAGES.length);
    const file = fileURLToPath(new URL('../install-sizes.json', import.meta.url));
    fs.writeFileSync(file, JSON.stringify(sizes, null, 2) + '\n');
    for (const [name, s] of Object.entries(sizes)) expect(s.bytes, name).toBeGreaterThan(0);
  });
});
