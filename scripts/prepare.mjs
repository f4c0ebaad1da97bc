#!/usr/bin/env node
// `prepare` hook: compiles src/ to dist/ unless dist/ is already newer than every source file.
// npm runs `prepare` after `npm ci`, and again each time `npx rampart` links the project into
// npx's cache; skipping an up-to-date build keeps the second case to a few seconds.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.build-stamp');

function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

// The optional native segment cipher of encryption at rest; never fails, skips an up-to-date build.
spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs'), '--quiet'], { stdio: 'inherit' });

const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((p) => join(root, p));
const sourceTime = Math.max(...inputs.filter(existsSync).map(newestMtime));
if (existsSync(stamp) && statSync(stamp).mtimeMs >= sourceTime) process.exit(0);

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
writeFileSync(stamp, `${new Date().toISOString()}\n`);
