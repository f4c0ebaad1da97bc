// Test helpers for the crypto area: temp dirs, a fast keyring (low scrypt cost; the production
// default is far higher), seeded pseudo-random bytes. Not part of the build.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring } from '../keyring.js';
import { ProviderSet } from '../providers/provider-set.js';

export const TEST_SCRYPT = { N: 2 ** 12, r: 8, p: 1 };
export const TEST_PASSPHRASE = 'correct horse battery staple (test only)';

export async function tempDir(prefix = 'rampart-crypto-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Deterministic bytes from a seed (SHA-256 in counter mode); fast enough for tens of MB. */
export function seededBytes(seed: string, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let o = 0;
  let i = 0;
  while (o < length) {
    const block = createHash('sha256').update(seed).update(String(i++)).digest();
    o += block.copy(out, o);
  }
  return out;
}

/** A small deterministic PRNG (mulberry32) for fuzz tests. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TestKeyring {
  path: string;
  keyring: Keyring;
  providers: ProviderSet;
  providerOptions: { keyringPath: string; passphrase: string };
}

/** Creates a keyring with the given KEKs in `dir`. */
export async function makeKeyring(dir: string, keks: string[] = ['test-kek'], name = 'keyring.json'): Promise<TestKeyring> {
  const path = join(dir, name);
  const keyring = await Keyring.create(path, TEST_PASSPHRASE, { scrypt: TEST_SCRYPT });
  for (const k of keks) await keyring.createKek(k);
  const providerOptions = { keyringPath: path, passphrase: TEST_PASSPHRASE };
  return { path, keyring, providers: new ProviderSet(providerOptions), providerOptions };
}

/** The stable error code a promise rejects with ('ok' when it resolves; 'uncoded: ...' for an error without one). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? `uncoded: ${String(err)}`;
  }
}
