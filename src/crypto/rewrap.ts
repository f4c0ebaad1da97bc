// Key rotation for encrypted files: re-wraps each file's data key under the newest version of a
// KEK (or under another KEK) without touching the encrypted payload. Only the key block and the
// header MAC change; the header core, and so every segment, stays byte-identical. The new file is
// written beside the old one and renamed over it, so readers see either the old or the new file.
// A path that is a symbolic link has the file it points at rewritten (the link kept); a device or
// FIFO cannot be rewritten in place and is refused (RAMPART_ERR_OUTPUT_NOT_REGULAR).
import { open, stat } from 'node:fs/promises';
import { FileNotFoundError, OutputNotRegularError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { resolveLinks } from '../core/replace-file.js';
import { FileByteReader } from './envelope/byte-reader.js';
import { openingStateWithKey, unwrapDataKey, withProviders, type ProviderChoice } from './envelope/envelope.js';
import { listTree, writeFileAtomic } from './envelope/file.js';
import { deriveFileKeys, encodeKeyBlock, headerMac, readHeader, WRAP_CONTEXT } from './envelope/format.js';
import { CryptoTruncatedError } from './errors.js';
import type { ProviderSet } from './providers/provider-set.js';
import { parseKeyRef } from './providers/registry.js';
import { join } from 'node:path';


export interface RewrapOptions extends ProviderChoice {
  /** PROVIDER:KEY to wrap under; default: the KEK the file already names. */
  key?: string;
  /** Rewrap even when the file already uses the current version (always needed to move KMS keys). */
  force?: boolean;
  logger?: Logger;
}

export interface KeyInfo {
  provider: string;
  keyRef: string;
  keyVersion: string;
}

export interface RewrapResult {
  path: string;
  changed: boolean;
  from: KeyInfo;
  to: KeyInfo;
}

const COPY_CHUNK = 1024 * 1024;

async function rewrapOne(path: string, opts: RewrapOptions, providers: ProviderSet): Promise<RewrapResult> {
  // The file a link points at is the one rewritten; opening a FIFO would wait for a writer.
  const real = resolveLinks(path);
  const st = await stat(real).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new FileNotFoundError(`${path} does not exist`) : err;
  });
  if (!st.isFile()) throw new OutputNotRegularError(`${path} is not a regular file; rewrap rewrites encrypted files in place`);
  const fh = await open(real, 'r').catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new FileNotFoundError(`${path} does not exist`) : err;
  });
  try {
    const reader = new FileByteReader(fh);
    const header = await readHeader(
      (n) => reader.read(n),
      (where) => new CryptoTruncatedError(`the file ends inside the header (${where})`),
    );
    const from: KeyInfo = { provider: header.provider, keyRef: header.keyRef, keyVersion: header.keyVersion };
    const target = opts.key ? parseKeyRef(opts.key) : { provider: header.provider, keyRef: header.keyRef };
    const dataKey = await unwrapDataKey(header, providers);
    try {
      // Never re-sign a header we cannot vouch for: verify commitment and MAC first.
      openingStateWithKey(header, dataKey);
      const provider = providers.get(target.provider);
      if (!opts.force && target.provider === header.provider && target.keyRef === header.keyRef) {
        const current = (await provider.describe(target.keyRef)).currentVersion;
        if (current === header.keyVersion) return { path, changed: false, from, to: from };
      }
      const wrapped = await provider.wrap(dataKey, target.keyRef, WRAP_CONTEXT);
      const to: KeyInfo = { provider: target.provider, keyRef: target.keyRef, keyVersion: wrapped.keyVersion };
      const keyBlock = encodeKeyBlock({ ...to, wrappedKey: wrapped.wrapped });
      const keys = deriveFileKeys(dataKey, header.salt);
      const newHeader = Buffer.concat([header.core, keyBlock, headerMac(keys.mac, header.core, keyBlock)]);
      keys.mac.fill(0);
      keys.payload.fill(0);
      const mode = (await fh.stat()).mode & 0o777;
      await writeFileAtomic(real, mode, async (out) => {
        await out.write(newHeader);
        // The payload is copied verbatim: segments are bound to the core, which is unchanged.
        let pos = header.raw.length;
        const buf = Buffer.allocUnsafe(COPY_CHUNK);
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) break;
          pos += bytesRead;
          await out.write(buf, 0, bytesRead);
        }
      }, { regularOnly: true });
      opts.logger?.info({ path, from: { keyRef: from.keyRef, keyVersion: from.keyVersion }, to: { keyRef: to.keyRef, keyVersion: to.keyVersion } }, 'rewrapped data key');
      return { path, changed: true, from, to };
    } finally {
      dataKey.fill(0);
    }
  } finally {
    await fh.close();
  }
}

/** Rewraps one encrypted file in place (atomically). */
export async function rewrapFile(path: string, opts: RewrapOptions = {}): Promise<RewrapResult> {
  return withProviders(opts, (p) => rewrapOne(path, opts, p));
}

/** Rewraps a file, or every file under a directory (each must be a Rampart encrypted file). */
export async function rewrapPath(path: string, opts: RewrapOptions = {}): Promise<RewrapResult[]> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new FileNotFoundError(`${path} does not exist`);
  if (!st.isDirectory()) return [await rewrapFile(path, opts)];
  const files = await listTree(path, opts.logger);
  return withProviders(opts, async (p) => {
    const out: RewrapResult[] = [];
    for (const f of files) out.push(await rewrapOne(join(path, f), opts, p));
    return out;
  });
}
