// Keys and passphrases never reach logs or error objects, whatever the log level.
import { Writable } from 'node:stream';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import { decryptFile, encryptFile } from './envelope/file.js';
import { ProviderSet } from './providers/provider-set.js';
import { rewrapFile } from './rewrap.js';
import { makeKeyring, seededBytes, tempDir, TEST_PASSPHRASE } from './testing/fixtures.js';
import { WRAP_CONTEXT, parseHeaderBytes } from './envelope/format.js';
import { readFile } from 'node:fs/promises';

describe('secrets stay out of logs and errors', () => {
  it('a debug-level run of encrypt, rewrap, failed and successful decrypt logs no key material or passphrase', async () => {
    const { dir, cleanup } = await tempDir();
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const logger = createLogger({ level: 'trace', destination: sink });
    try {
      const kr = await makeKeyring(dir, ['models']);
      const opts = { logger, providerOptions: { keyringPath: kr.path, passphrase: TEST_PASSPHRASE, logger } };
      await writeFile(join(dir, 'a.bin'), seededBytes('a', 10_000));
      await encryptFile(join(dir, 'a.bin'), join(dir, 'a.enc'), { ...opts, key: 'local:models' });
      await kr.keyring.rotate('models');
      await rewrapFile(join(dir, 'a.enc'), opts);
      const errors: unknown[] = [];
      await decryptFile(join(dir, 'a.enc'), join(dir, 'x.bin'), { logger, providerOptions: { keyringPath: kr.path, passphrase: 'definitely-wrong-passphrase', logger } }).catch((e) => errors.push(e));
      await decryptFile(join(dir, 'a.enc'), join(dir, 'b.bin'), opts);

      // Every secret the run touched: passphrases, both KEK versions, the file's data key.
      const providers = new ProviderSet({ keyringPath: kr.path, passphrase: TEST_PASSPHRASE });
      const h = await parseHeaderBytes(await readFile(join(dir, 'a.enc')));
      const dataKey = await providers.get('local').unwrap(h.wrappedKey, h.keyRef, h.keyVersion, WRAP_CONTEXT);
      await providers.close();
      const secrets = [TEST_PASSPHRASE, 'definitely-wrong-passphrase'];
      for (const b of [kr.keyring.material('models', 1).key, kr.keyring.material('models', 2).key, dataKey]) secrets.push(b.toString('hex'), b.toString('base64'));
      const text = lines.join('') + JSON.stringify(errors.map((e) => ({ m: (e as Error).message, d: (e as { details?: unknown }).details, s: (e as Error).stack })));
      expect(lines.some((l) => l.includes('rewrapped data key'))).toBe(true);
      expect(errors).toHaveLength(1);
      for (const s of secrets) expect(text).not.toContain(s);
      await kr.providers.close();
    } finally {
      await cleanup();
    }
  });
});
