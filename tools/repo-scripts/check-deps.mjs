#!/usr/bin/env node
// Fails when a package imports a sibling (@grokking-tickets/*) or an npm package that its
// package.json does not declare. Nx only sees declared edges, and a user who installs one package
// alone only gets declared dependencies, so an undeclared import is a bug either way.
import fs from 'node:fs';
import path from 'node:path';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])import\s*['"]([^'"]+)['"]/gm;

/** Package name of a bare import specifier (`@scope/name/sub` → `@scope/name`). */
export function packageOf(spec) {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) return null;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Every bare import specifier in a source text. */
export function importsOf(text) {
  const out = new Set();
  // Examples inside doc comments (`@example` blocks) are not imports of the package itself.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const m of code.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    const pkg = packageOf(spec);
    if (pkg && !builtinModules.includes(pkg)) out.add(pkg);
  }
  return out;
}

function walk(dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/**
 * Checks every workspace package under packages/: `src` imports must be in dependencies,
 * optionalDependencies or peerDependencies; test imports may also use devDependencies and the
 * root's devDependencies (the test toolchain). Returns a list of problems.
 */
export function checkWorkspace(workspaceRoot = root) {
  const rootPkg = JSON.parse(fs.readFileSync(path.join(workspaceRoot, 'package.json'), 'utf8'));
  const problems = [];
  const pkgDir = path.join(workspaceRoot, 'packages');
  for (const name of fs.readdirSync(pkgDir)) {
    const dir = path.join(pkgDir, name);
    const manifest = path.join(dir, 'package.json');
    if (!fs.existsSync(manifest)) continue;
    const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    const runtime = new Set([
      ...Object.keys(pkg.dependencies ?? {}),
      ...Object.keys(pkg.optionalDependencies ?? {}),
      ...Object.keys(pkg.peerDependencies ?? {}),
    ]);
    const testOnly = new Set([
      ...runtime,
      ...Object.keys(pkg.devDependencies ?? {}),
      ...Object.keys(rootPkg.devDependencies ?? {}),
      pkg.name,
    ]);
    for (const file of walk(dir)) {
      const rel = path.relative(workspaceRoot, file);
      const isSrc = rel.split(path.sep).includes('src') && !/\.test\.[mc]?[jt]s$/.test(file);
      const allowed = isSrc ? runtime : testOnly;
      for (const dep of importsOf(fs.readFileSync(file, 'utf8'))) {
        if (dep === pkg.name && isSrc)
          problems.push(`${rel}: imports its own package name "${dep}"; use a relative import`);
        else if (!allowed.has(dep))
          problems.push(
            `${rel}: imports "${dep}" but ${pkg.name} does not declare it${isSrc ? ' in dependencies' : ''}`,
          );
      }
    }
    // Internal edges must pin the sibling's exact current version (npm has no workspace: protocol).
    for (const [dep, range] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
      if (!dep.startsWith('@grokking-tickets/')) continue;
      const sibling = fs
        .readdirSync(pkgDir)
        .map((d) => path.join(pkgDir, d, 'package.json'))
        .filter(fs.existsSync)
        .map((f) => JSON.parse(fs.readFileSync(f, 'utf8')))
        .find((p) => p.name === dep);
      if (!sibling) problems.push(`packages/${name}/package.json: depends on ${dep}, which is not a workspace package`);
      else if (range !== sibling.version)
        problems.push(`packages/${name}/package.json: ${dep} must be pinned to ${sibling.version}, found ${range}`);
    }
  }
  return problems;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const problems = checkWorkspace();
  if (problems.length) {
    for (const p of problems) console.error(`check-deps: ${p}`);
    process.exit(1);
  }
  console.log('check-deps: every import is declared');
}
