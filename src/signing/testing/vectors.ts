// Test helpers: locate the shared model-signing vectors and copy one into a writable temp dir.
import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const VECTORS = path.resolve(import.meta.dirname, '../../../../shared/data/model-signing-vectors');
export const KEYS = path.join(VECTORS, 'keys/certificate');

/** Vectors whose signed model is the single file signme-1 (resource name "."). */
export const SINGLE_FILE_VECTORS = new Set(['v0.3.1-elliptic-key', 'v1.0.0-elliptic-key']);

export function vectorDirs(mode: 'elliptic-key' | 'certificate' | 'sigstore'): string[] {
  return readdirSync(VECTORS)
    .filter((d) => d.endsWith(`-${mode}`))
    .sort();
}

function makeWritable(p: string): void {
  const st = statSync(p);
  chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
  if (st.isDirectory()) for (const e of readdirSync(p)) makeWritable(path.join(p, e));
}

/** Copies a vector directory into a fresh temp dir (keeping its name) and returns the copy's path. */
export function copyVector(name: string): { dir: string; cleanup: () => void } {
  const base = mkdtempSync(path.join(tmpdir(), 'rampart-sigvec-'));
  const dir = path.join(base, name);
  cpSync(path.join(VECTORS, name), dir, { recursive: true });
  makeWritable(dir);
  return { dir, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

export function tempDir(prefix = 'rampart-sign-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
