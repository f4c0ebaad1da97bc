// Enumerates the files of a model the way the OpenSSF model-signing reference does: a model is a
// single file or a directory walked recursively; every regular file not under an ignored path is an
// item, named by its POSIX path relative to the model root (a single-file model's item is named
// "."). Symlinks are refused unless allowed; sockets, pipes and devices are always refused.
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export type ModelPathProblem = 'missing' | 'symlink' | 'special' | 'unreadable' | 'empty' | 'outside';

/** Raised by the walk; callers turn it into the coded error of their command. */
export class ModelPathError extends Error {
  constructor(
    readonly problem: ModelPathProblem,
    readonly filePath: string,
    message: string,
  ) {
    super(message);
    this.name = 'ModelPathError';
  }
}

export interface ModelFile {
  /** POSIX path relative to the model root ("." for a single-file model). */
  name: string;
  /** Absolute path on disk. */
  absPath: string;
  /** Size in bytes at walk time. */
  size: number;
}

export interface WalkOptions {
  /** Absolute paths; a file equal to or under one of them is skipped. */
  ignore: readonly string[];
  allowSymlinks: boolean;
}

/** The git paths the reference ignores by default (relative to the model root). */
export const GIT_PATHS = ['.git', '.gitattributes', '.github', '.gitignore'] as const;

function isUnder(p: string, root: string): boolean {
  if (p === root) return true;
  const rel = path.relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

export function isIgnored(absPath: string, ignore: readonly string[]): boolean {
  return ignore.some((ig) => isUnder(absPath, ig));
}

/** The final path component the reference uses as the model name (subject name). */
export function modelName(modelPath: string): string {
  return path.basename(path.resolve(modelPath));
}

/**
 * Lists the files of a model, sorted in manifest order.
 *
 * @example
 * const files = await walkModel('models/bert', { ignore: [path.resolve('models/bert/model.sig')], allowSymlinks: false });
 */
export async function walkModel(modelPath: string, opts: WalkOptions): Promise<{ isFile: boolean; files: ModelFile[] }> {
  const root = path.resolve(modelPath);
  let st;
  try {
    st = await lstat(root);
  } catch (err) {
    throw new ModelPathError('missing', root, `model path ${modelPath} does not exist or cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (st.isSymbolicLink()) {
    if (!opts.allowSymlinks) throw new ModelPathError('symlink', root, `model path ${modelPath} is a symlink (allow symlinks to follow it)`);
    st = await stat(root).catch(() => {
      throw new ModelPathError('missing', root, `model path ${modelPath} is a broken symlink`);
    });
  }
  if (st.isFile()) return { isFile: true, files: [{ name: '.', absPath: root, size: st.size }] };
  if (!st.isDirectory()) throw new ModelPathError('special', root, `model path ${modelPath} is neither a file nor a directory`);

  const files: ModelFile[] = [];
  // Real paths of directories entered, so symlinked directory loops end.
  const seenDirs = new Set<string>([await realpath(root)]);
  const walkDir = async (dir: string, relParts: string[]): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      throw new ModelPathError('unreadable', dir, `cannot list ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    for (const entry of entries) {
      const abs = path.join(dir, entry.name);
      const parts = [...relParts, entry.name];
      if (isIgnored(abs, opts.ignore)) continue;
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      let size = 0;
      if (entry.isSymbolicLink()) {
        if (!opts.allowSymlinks) {
          throw new ModelPathError('symlink', abs, `${parts.join('/')} is a symlink; symlinks are not allowed by this signature's settings`);
        }
        let target;
        try {
          target = await stat(abs);
        } catch {
          throw new ModelPathError('special', abs, `${parts.join('/')} is a broken symlink`);
        }
        isDir = target.isDirectory();
        isFile = target.isFile();
        size = target.size;
      }
      if (isDir) {
        const real = await realpath(abs);
        if (seenDirs.has(real)) continue;
        seenDirs.add(real);
        await walkDir(abs, parts);
      } else if (isFile) {
        if (!entry.isSymbolicLink()) {
          try {
            size = (await stat(abs)).size;
          } catch (err) {
            throw new ModelPathError('unreadable', abs, `cannot stat ${parts.join('/')} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
          }
        }
        files.push({ name: parts.join('/'), absPath: abs, size });
      } else {
        throw new ModelPathError('special', abs, `${parts.join('/')} is not a regular file or directory`);
      }
    }
  };
  await walkDir(root, []);
  files.sort((a, b) => comparePosixPaths(a.name, b.name));
  return { isFile: false, files };
}

/** Compares strings by Unicode code point, as Python does (JS compares UTF-16 code units). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (astral code point) sorts above every BMP code unit.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * Orders paths component by component, like Python's PurePosixPath ordering the reference uses
 * to sort its manifest ("a/b" sorts before "a.txt", unlike a plain string sort).
 */
export function comparePosixPaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const c = compareCodePoints(pa[i]!, pb[i]!);
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

/** True for a safe manifest path: relative, POSIX, no "..", no empty components ("." alone allowed). */
export function isSafeRelativePath(name: string): boolean {
  if (name === '.') return true;
  if (name.length === 0 || name.startsWith('/') || name.includes('\0')) return false;
  return name.split('/').every((p) => p !== '' && p !== '..' && p !== '.');
}
