#!/usr/bin/env node
// Builds the optional native segment cipher (src/crypto/native/segments.c) into
// dist/native/segments.node with the system C compiler, against the headers Node ships (node_api.h
// and the OpenSSL headers of the OpenSSL that the node binary exports). No download, no node-gyp.
// It never fails the build: without a compiler or headers Rampart uses its JavaScript segment
// cipher, which produces the same bytes (docs/encryption.md, "Native segment cipher").
// Usage: node scripts/build-native.mjs [--quiet]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'crypto', 'native', 'segments.c');
const outDir = join(root, 'dist', 'native');
const target = join(outDir, 'segments.node');
const quiet = process.argv.includes('--quiet');

function skip(reason) {
  process.stderr.write(`rampart: native segment cipher not built (${reason}); encryption uses the JavaScript segment cipher\n`);
  process.exit(0);
}

if (process.env.RAMPART_NATIVE_CRYPTO === '0') skip('RAMPART_NATIVE_CRYPTO=0');
// An installed package ships dist/ (with the addon when it was built) but not src/.
if (!existsSync(source)) process.exit(0);
if (existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs && statSync(target).mtimeMs >= statSync(process.execPath).mtimeMs) process.exit(0);

const include = join(dirname(dirname(process.execPath)), 'include', 'node');
if (!existsSync(join(include, 'node_api.h'))) skip(`no node_api.h in ${include}`);
const includes = [`-I${include}`];
// A node linked against the system OpenSSL ships no OpenSSL headers of its own.
if (!existsSync(join(include, 'openssl', 'evp.h'))) {
  if (!process.config.variables.node_shared_openssl) skip('no OpenSSL headers beside node_api.h');
  includes.push('-I/usr/include');
}
const cc = process.env.CC || 'cc';
mkdirSync(outDir, { recursive: true });
const tmp = `${target}.${process.pid}.tmp`;
const args = ['-O2', '-Wall', '-Wextra', '-shared', '-fPIC', '-fvisibility=hidden', '-DNAPI_VERSION=8', ...includes, source, '-o', tmp];
if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
const r = spawnSync(cc, args, { encoding: 'utf8' });
if (r.error || r.status !== 0) {
  rmSync(tmp, { force: true });
  skip(r.error ? `${cc}: ${r.error.code ?? r.error.message}` : `${cc} failed: ${(r.stderr || '').trim().split('\n').slice(0, 3).join(' / ')}`);
}
renameSync(tmp, target);
if (!quiet) process.stderr.write(`rampart: built ${target}\n`);
