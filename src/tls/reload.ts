// Listener TLS material loaded from files and reloaded when the files change. The watcher polls
// file metadata (fs.watchFile) rather than using inotify because certificate tooling usually
// replaces files by rename, which plain fs.watch loses track of. A new context is only swapped
// in when it loads cleanly (cert and key match), so a half-finished rotation keeps the old one.
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

export interface TlsFiles {
  cert: string;
  key: string;
  /** CA bundle for client certificates (mTLS). */
  clientCa?: string;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
}

/** Reads the files and returns context options; throws (with the cause) if anything is unusable. */
export function loadTlsOptions(files: TlsFiles): SecureContextOptions {
  const opts: SecureContextOptions = {
    cert: readFileSync(files.cert),
    key: readFileSync(files.key),
    minVersion: files.minVersion,
    maxVersion: 'TLSv1.3',
    ...(files.clientCa ? { ca: readFileSync(files.clientCa) } : {}),
  };
  // Throws on unparsable PEM and on a key that does not belong to the certificate.
  createSecureContext(opts);
  return opts;
}

export interface TlsWatcher {
  close(): void;
}

/**
 * Calls `onReload(options)` after the files changed and load cleanly, or `onError(err)` when they
 * changed but cannot be used (the caller keeps its current context).
 */
export function watchTlsFiles(
  files: TlsFiles,
  intervalMs: number,
  onReload: (opts: SecureContextOptions) => void,
  onError: (err: unknown) => void,
): TlsWatcher {
  const paths = [files.cert, files.key, ...(files.clientCa ? [files.clientCa] : [])];
  let timer: NodeJS.Timeout | undefined;
  const listener = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs === prev.mtimeMs && curr.ino === prev.ino && curr.size === prev.size) return;
    // Debounce: cert and key are usually replaced one after the other.
    clearTimeout(timer);
    timer = setTimeout(() => {
      try {
        onReload(loadTlsOptions(files));
      } catch (e) {
        onError(e);
      }
    }, Math.min(200, intervalMs));
    timer.unref();
  };
  for (const p of paths) watchFile(p, { interval: intervalMs, persistent: false }, listener);
  return {
    close() {
      clearTimeout(timer);
      for (const p of paths) unwatchFile(p, listener);
    },
  };
}
