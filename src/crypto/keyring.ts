// The local keyring: a JSON file holding named, versioned key-encryption keys (KEKs), each
// encrypted under a key derived from a passphrase with scrypt (memory-hard). The file also carries
// a passphrase verifier (so a wrong passphrase is told apart from tampering) and an HMAC over all
// metadata (so nobody can un-retire a version or swap key blobs without the passphrase).
// Format: docs/key-providers.md. Writes are atomic (temp file + fsync + rename, mode 0600) and
// serialised by a lock file beside the keyring. A keyring path that is a symbolic link is followed:
// the file it points at is replaced (and locked), the link kept. A keyring that is a device, FIFO
// or other non-regular file is refused: it holds secrets and must be replaced whole.
import { createCipheriv, createDecipheriv, createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  CryptoKeyExistsError,
  CryptoKeyNotFoundError,
  CryptoKeyRetiredError,
  CryptoKeyringInvalidError,
  CryptoKeyringMissingError,
  CryptoKeyringTamperedError,
  CryptoPassphraseRequiredError,
  CryptoWrongPassphraseError,
} from './errors.js';
import { UsageError } from '../core/errors.js';
import { resolveLinks, withFileReplacing } from '../core/replace-file.js';

export const KEYRING_TYPE = 'rampart-keyring';
export const KEYRING_VERSION = 1;
/** Default scrypt cost: N=2^17, r=8, p=1 (128 MiB, a few hundred ms), as OWASP suggests for scrypt. */
export const DEFAULT_SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;
const VERIFIER_PLAINTEXT = Buffer.from('rampart-keyring-v1 verifier', 'utf8');
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

interface KdfRecord extends ScryptParams {
  name: 'scrypt';
  salt: string;
}

interface VersionRecord {
  version: number;
  created: string;
  retired: string | null;
  /** base64(nonce 12 || AES-256-GCM ciphertext 32 || tag 16) of the KEK material. */
  material: string;
}

interface KekRecord {
  name: string;
  versions: VersionRecord[];
}

interface KeyringFile {
  type: typeof KEYRING_TYPE;
  version: typeof KEYRING_VERSION;
  kdf: KdfRecord;
  verifier: string;
  keks: KekRecord[];
  mac: string;
}

/** What `rampart keys list --keyring` shows: never key material. */
export interface KekListing {
  name: string;
  currentVersion: number;
  versions: { version: number; created: string; retired: string | null }[];
}

export type PassphraseSource = string | (() => Promise<string>);

interface MasterKeys {
  salt: string;
  enc: Buffer;
  mac: Buffer;
}

function scrypt(passphrase: string, salt: Buffer, p: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: p.N, r: p.r, p: p.p, maxmem: 128 * p.N * p.r * p.p + 64 * 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCb(passphrase.normalize('NFC'), salt, 64, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([nonce, ct, c.getAuthTag()]);
}

/** Opens a blob made by seal(); returns null when authentication fails. */
function unseal(key: Buffer, blob: Buffer, aad: Buffer): Buffer | null {
  if (blob.length < 12 + 16) return null;
  const d = createDecipheriv('aes-256-gcm', key, blob.subarray(0, 12));
  d.setAAD(aad);
  d.setAuthTag(blob.subarray(blob.length - 16));
  try {
    return Buffer.concat([d.update(blob.subarray(12, blob.length - 16)), d.final()]);
  } catch {
    return null;
  }
}

function materialAad(name: string, version: number): Buffer {
  return Buffer.from(`rampart-keyring-v1 kek\0${name}\0${version}`, 'utf8');
}

/** Canonical bytes of everything the MAC protects (fixed field order, independent of the file's). */
function macInput(f: Omit<KeyringFile, 'mac'>): Buffer {
  const canon = {
    type: f.type,
    version: f.version,
    kdf: { name: f.kdf.name, N: f.kdf.N, r: f.kdf.r, p: f.kdf.p, salt: f.kdf.salt },
    verifier: f.verifier,
    keks: f.keks.map((k) => ({
      name: k.name,
      versions: k.versions.map((v) => ({ version: v.version, created: v.created, retired: v.retired, material: v.material })),
    })),
  };
  return Buffer.from(JSON.stringify(canon), 'utf8');
}

function computeMac(macKey: Buffer, f: Omit<KeyringFile, 'mac'>): string {
  return createHmac('sha256', macKey).update(macInput(f)).digest('base64');
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural validation of an untrusted keyring file. */
function parseKeyringFile(text: string, path: string): KeyringFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new CryptoKeyringInvalidError(`keyring ${path} is not valid JSON`);
  }
  const bad = (why: string): never => {
    throw new CryptoKeyringInvalidError(`keyring ${path}: ${why}`);
  };
  if (!isObj(raw)) return bad('not an object');
  if (raw.type !== KEYRING_TYPE) bad('not a Rampart keyring');
  if (raw.version !== KEYRING_VERSION) bad(`unsupported keyring version ${String(raw.version)}`);
  const kdf = raw.kdf;
  if (!isObj(kdf) || kdf.name !== 'scrypt') return bad('kdf must be scrypt');
  for (const k of ['N', 'r', 'p'] as const) {
    if (!Number.isInteger(kdf[k]) || (kdf[k] as number) < 1) bad(`kdf.${k} must be a positive integer`);
  }
  const N = kdf.N as number;
  // Bounds keep a hostile file from asking for gigabytes of memory or hours of CPU.
  if ((N & (N - 1)) !== 0 || N < 2 ** 10 || N > 2 ** 22) bad('kdf.N must be a power of two between 2^10 and 2^22');
  if ((kdf.r as number) > 32 || (kdf.p as number) > 16) bad('kdf.r or kdf.p out of range');
  if (typeof kdf.salt !== 'string' || Buffer.from(kdf.salt, 'base64').length < 16) bad('kdf.salt must be at least 16 bytes of base64');
  if (typeof raw.verifier !== 'string') bad('verifier missing');
  if (typeof raw.mac !== 'string') bad('mac missing');
  if (!Array.isArray(raw.keks)) return bad('keks must be an array');
  const names = new Set<string>();
  for (const k of raw.keks as unknown[]) {
    if (!isObj(k) || typeof k.name !== 'string' || !NAME_RE.test(k.name)) return bad('a KEK has an invalid name');
    if (names.has(k.name)) bad(`duplicate KEK ${k.name}`);
    names.add(k.name);
    if (!Array.isArray(k.versions) || k.versions.length === 0) bad(`KEK ${k.name} has no versions`);
    (k.versions as unknown[]).forEach((v, i) => {
      if (!isObj(v) || v.version !== i + 1) bad(`KEK ${k.name}: versions must be numbered 1, 2, ...`);
      const rec = v as Record<string, unknown>;
      if (typeof rec.created !== 'string' || typeof rec.material !== 'string') bad(`KEK ${k.name} v${i + 1}: created/material missing`);
      if (rec.retired !== null && typeof rec.retired !== 'string') bad(`KEK ${k.name} v${i + 1}: retired must be null or a date`);
    });
  }
  return raw as unknown as KeyringFile;
}

async function readKeyringFile(path: string): Promise<KeyringFile> {
  let text: string;
  try {
    // Reading a FIFO would wait for a writer forever; a keyring is only ever a regular file.
    if (!(await stat(path)).isFile()) throw new CryptoKeyringInvalidError(`keyring ${path} is not a regular file`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof CryptoKeyringInvalidError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CryptoKeyringMissingError(`keyring ${path} does not exist`);
    throw new CryptoKeyringInvalidError(`keyring ${path} cannot be read`, { cause: err });
  }
  return parseKeyringFile(text, path);
}

/** Replaces the keyring whole (0600, fsynced); a non-regular target is RAMPART_ERR_OUTPUT_NOT_REGULAR. */
async function writeAtomic(path: string, data: string): Promise<void> {
  await withFileReplacing(path, { mode: 0o600, regularOnly: true, fsync: true }, async ({ fh }) => {
    await fh.writeFile(data, 'utf8');
  });
}

/** Serialises read-modify-write cycles across processes with an O_EXCL lock file. */
async function withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  // Beside the file a link points at, so every link to one keyring takes the same lock.
  const lock = `${resolveLinks(path)}.lock`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const fh = await open(lock, 'wx', 0o600);
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock older than a minute was left by a crashed process.
      const st = await stat(lock).catch(() => null);
      if (st && Date.now() - st.mtimeMs > 60_000) await rm(lock, { force: true });
      else if (Date.now() > deadline) throw new CryptoKeyringInvalidError(`keyring ${path} is locked by another process (${lock})`);
      else await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

function validateName(name: string): void {
  if (!NAME_RE.test(name)) throw new UsageError(`invalid KEK name "${name}" (letters, digits, '.', '_', '-'; at most 128)`);
}

/** Lists KEKs without the passphrase (metadata is not verified: use an opened Keyring for that). */
export async function listKeyring(path: string): Promise<KekListing[]> {
  const f = await readKeyringFile(path);
  return listing(f);
}

function listing(f: KeyringFile): KekListing[] {
  return f.keks.map((k) => ({
    name: k.name,
    currentVersion: k.versions.length,
    versions: k.versions.map((v) => ({ version: v.version, created: v.created, retired: v.retired })),
  }));
}

export interface CreateKeyringOptions {
  scrypt?: ScryptParams;
}

/**
 * An opened keyring: the passphrase has been checked and the metadata MAC verified.
 *
 * @example
 * const kr = await Keyring.open('keys.json', process.env.RAMPART_KEYRING_PASSPHRASE!);
 * const v = await kr.createKek('models');
 */
export class Keyring {
  private file: KeyringFile;
  private master: MasterKeys | null;

  private constructor(
    readonly path: string,
    file: KeyringFile,
    master: MasterKeys,
  ) {
    this.file = file;
    this.master = master;
  }

  /** Creates a new, empty keyring file; fails if the file exists. */
  static async create(path: string, passphrase: PassphraseSource, options: CreateKeyringOptions = {}): Promise<Keyring> {
    const pass = await resolvePassphrase(passphrase);
    const params = options.scrypt ?? DEFAULT_SCRYPT;
    const salt = randomBytes(32);
    const derived = await scrypt(pass, salt, params);
    const master: MasterKeys = { salt: salt.toString('base64'), enc: derived.subarray(0, 32), mac: derived.subarray(32, 64) };
    const body: Omit<KeyringFile, 'mac'> = {
      type: KEYRING_TYPE,
      version: KEYRING_VERSION,
      kdf: { name: 'scrypt', N: params.N, r: params.r, p: params.p, salt: master.salt },
      verifier: seal(master.enc, VERIFIER_PLAINTEXT, Buffer.from('rampart-keyring-v1 verifier')).toString('base64'),
      keks: [],
    };
    const file: KeyringFile = { ...body, mac: computeMac(master.mac, body) };
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(path, 'wx', 0o600).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') throw new CryptoKeyExistsError(`keyring ${path} already exists`);
      throw err;
    });
    await fh.close();
    await writeAtomic(path, `${JSON.stringify(file, null, 2)}\n`);
    return new Keyring(path, file, master);
  }

  /** Opens an existing keyring, checking the passphrase and the metadata MAC. */
  static async open(path: string, passphrase: PassphraseSource): Promise<Keyring> {
    const file = await readKeyringFile(path);
    const master = await deriveMaster(file, await resolvePassphrase(passphrase), path);
    return new Keyring(path, file, master);
  }

  list(): KekListing[] {
    return listing(this.file);
  }

  has(name: string): boolean {
    return this.file.keks.some((k) => k.name === name);
  }

  /** Adds a KEK with version 1; returns the version. */
  async createKek(name: string): Promise<number> {
    validateName(name);
    return this.mutate((f, m) => {
      if (f.keks.some((k) => k.name === name)) throw new CryptoKeyExistsError(`KEK "${name}" already exists`);
      f.keks.push({ name, versions: [newVersion(m, name, 1)] });
      return 1;
    });
  }

  /** Adds a new version of a KEK; new wraps use it, older versions still unwrap until retired. */
  async rotate(name: string): Promise<number> {
    return this.mutate((f, m) => {
      const k = findKek(f, name);
      const v = k.versions.length + 1;
      k.versions.push(newVersion(m, name, v));
      return v;
    });
  }

  /** Marks a version retired: it no longer unwraps. The newest version cannot be retired (rotate first). */
  async retire(name: string, version: number): Promise<void> {
    await this.mutate((f) => {
      const k = findKek(f, name);
      const v = k.versions[version - 1];
      if (!v) throw new CryptoKeyNotFoundError(`KEK "${name}" has no version ${version}`, { details: { name, version } });
      if (version === k.versions.length) throw new UsageError(`version ${version} is the newest version of "${name}"; rotate before retiring it`);
      if (v.retired === null) v.retired = new Date().toISOString();
    });
  }

  /** The newest version number of a KEK. */
  currentVersion(name: string): number {
    return findKek(this.file, name).versions.length;
  }

  /**
   * The key material of one version (newest when omitted). Throws CryptoKeyRetiredError for a
   * retired version unless `allowRetired` (never used for unwrapping).
   */
  material(name: string, version?: number): { version: number; key: Buffer } {
    const m = this.requireMaster();
    const k = findKek(this.file, name);
    const n = version ?? k.versions.length;
    const v = k.versions[n - 1];
    if (!v) throw new CryptoKeyNotFoundError(`KEK "${name}" has no version ${n}`, { details: { name, version: n } });
    if (v.retired !== null) throw new CryptoKeyRetiredError(`KEK "${name}" version ${n} was retired on ${v.retired}`, { details: { name, version: n } });
    const key = unseal(m.enc, Buffer.from(v.material, 'base64'), materialAad(name, n));
    // The MAC already vouched for the blob, so failure here means the file was edited cleverly.
    if (!key || key.length !== 32) throw new CryptoKeyringTamperedError(`keyring ${this.path}: KEK "${name}" v${n} does not decrypt`);
    return { version: n, key };
  }

  /** Zeroes the derived keys; the object is unusable afterwards. */
  close(): void {
    if (this.master) {
      this.master.enc.fill(0);
      this.master.mac.fill(0);
    }
    this.master = null;
  }

  private requireMaster(): MasterKeys {
    if (!this.master) throw new Error('keyring is closed');
    return this.master;
  }

  private async mutate<T>(fn: (f: KeyringFile, m: MasterKeys) => T): Promise<T> {
    return withLock(this.path, async () => {
      // Re-read under the lock so concurrent writers never lose each other's changes.
      const fresh = await readKeyringFile(this.path);
      let m = this.requireMaster();
      if (fresh.kdf.salt !== m.salt) throw new CryptoKeyringTamperedError(`keyring ${this.path} was replaced while open`);
      verifyMac(fresh, m, this.path);
      const result = fn(fresh, m);
      const { mac: _old, ...body } = fresh;
      void _old;
      m = this.requireMaster();
      const next: KeyringFile = { ...body, mac: computeMac(m.mac, body) };
      await writeAtomic(this.path, `${JSON.stringify(next, null, 2)}\n`);
      this.file = next;
      return result;
    });
  }
}

function newVersion(m: MasterKeys, name: string, version: number): VersionRecord {
  const material = randomBytes(32);
  const rec = { version, created: new Date().toISOString(), retired: null, material: seal(m.enc, material, materialAad(name, version)).toString('base64') };
  material.fill(0);
  return rec;
}

function findKek(f: KeyringFile, name: string): KekRecord {
  const k = f.keks.find((x) => x.name === name);
  if (!k) throw new CryptoKeyNotFoundError(`no KEK named "${name}" in the keyring`, { details: { name } });
  return k;
}

function verifyMac(f: KeyringFile, m: MasterKeys, path: string): void {
  const { mac, ...body } = f;
  const want = Buffer.from(computeMac(m.mac, body), 'base64');
  const got = Buffer.from(mac, 'base64');
  if (got.length !== want.length || !timingSafeEqual(got, want)) throw new CryptoKeyringTamperedError(`keyring ${path} failed its integrity check`);
}

async function deriveMaster(f: KeyringFile, passphrase: string, path: string): Promise<MasterKeys> {
  const derived = await scrypt(passphrase, Buffer.from(f.kdf.salt, 'base64'), f.kdf);
  const m: MasterKeys = { salt: f.kdf.salt, enc: derived.subarray(0, 32), mac: derived.subarray(32, 64) };
  const v = unseal(m.enc, Buffer.from(f.verifier, 'base64'), Buffer.from('rampart-keyring-v1 verifier'));
  if (!v || !timingSafeEqual(v.length === VERIFIER_PLAINTEXT.length ? v : Buffer.alloc(VERIFIER_PLAINTEXT.length), VERIFIER_PLAINTEXT)) {
    derived.fill(0);
    throw new CryptoWrongPassphraseError(`wrong passphrase for keyring ${path}`);
  }
  verifyMac(f, m, path);
  return m;
}

async function resolvePassphrase(source: PassphraseSource | undefined): Promise<string> {
  const p = typeof source === 'function' ? await source() : source;
  if (p === undefined || p === '') throw new CryptoPassphraseRequiredError();
  return p;
}

/** Opens an existing keyring, or creates it when the file does not exist yet. */
export async function openOrCreateKeyring(path: string, passphrase: PassphraseSource, options: CreateKeyringOptions = {}): Promise<Keyring> {
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  return exists ? Keyring.open(path, passphrase) : Keyring.create(path, passphrase, options);
}
