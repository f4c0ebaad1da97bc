// Which paths a signing or verification skips: the user's --ignore-paths, the paths recorded in
// the bundle's serialization.ignore_paths (relative to the model root), the git files the
// reference skips by default, and the signature file itself when it lies inside the model.
import path from 'node:path';
import { GIT_PATHS } from './model-paths.js';

function inside(abs: string, root: string): boolean {
  const rel = path.relative(root, abs);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * Resolves a user-given ignore path. As in the reference CLI it is first taken relative to the
 * working directory; if that does not land inside the model, it is taken relative to the model
 * root, so both `--ignore-paths models/m/README.md` and `--ignore-paths README.md` work.
 */
export function resolveUserIgnore(root: string, p: string): string {
  const fromCwd = path.resolve(p);
  if (inside(fromCwd, root)) return fromCwd;
  return path.resolve(root, p);
}

export interface IgnoreInput {
  root: string;
  user?: readonly string[];
  /** Paths from the bundle, relative to the model root; ones that escape the model are dropped. */
  recorded?: readonly string[];
  gitPaths: boolean;
  signaturePath?: string;
}

export function resolveIgnores(input: IgnoreInput): string[] {
  const out = new Set<string>();
  for (const p of input.user ?? []) out.add(resolveUserIgnore(input.root, p));
  for (const p of input.recorded ?? []) {
    const abs = path.resolve(input.root, p);
    if (inside(abs, input.root)) out.add(abs);
  }
  if (input.gitPaths) for (const g of GIT_PATHS) out.add(path.join(input.root, g));
  if (input.signaturePath) out.add(path.resolve(input.signaturePath));
  return [...out];
}

/** The ignore paths to record in a bundle: those inside the model, relative and POSIX, sorted. */
export function recordableIgnores(root: string, abs: readonly string[]): string[] {
  return [...new Set(abs.filter((a) => inside(a, root)).map((a) => path.relative(root, a).split(path.sep).join('/')))].sort();
}
