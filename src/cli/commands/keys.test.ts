import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyApiKey } from '../../auth/api-keys.js';
import { silentLogger } from '../../core/logger.js';
import { openStore } from '../../store/index.js';
import { main } from '../main.js';
import { addKeysListVariant, keysCommand, register } from './keys.js';

/** Runs the CLI in-process and captures its output and exit code. */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    const code = await main(['node', 'rampart', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

let dir: string;
let db: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-keys-cli-'));
  db = join(dir, 'keys.db');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rampart keys', () => {
  it('creates a key printed once, lists it without secrets, and revokes it', async () => {
    const c = await run('keys', 'create', '--principal', 'alice', '--roles', 'analyst, ml', '--expires', '30d', '--description', 'ci key', '--store', db);
    expect(c.code).toBe(0);
    const key = c.out.trim();
    expect(key).toMatch(/^rk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(c.err).toContain('shown only this once');
    const id = key.split('_')[1]!;

    const store = await openStore({ type: 'sqlite', path: db }, silentLogger());
    try {
      const rec = await verifyApiKey(store.keys, key);
      expect(rec).toMatchObject({ principal: 'alice', roles: ['analyst', 'ml'], description: 'ci key', kind: 'user' });
      expect(rec.expiresAt! - rec.createdAt).toBe(30 * 86_400_000);
    } finally {
      await store.close();
    }

    const j = await run('keys', 'create', '--principal', 'batch', '--kind', 'service', '--format', 'json', '--store', db);
    expect(j.code).toBe(0);
    const created = JSON.parse(j.out) as { key: string; id: string; kind: string; expiresAt: null };
    expect(created).toMatchObject({ kind: 'service', expiresAt: null });
    expect(created.key.startsWith(`rk_${created.id}_`)).toBe(true);

    const t = await run('keys', 'list', '--store', db);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/^ID\s+PRINCIPAL\s+KIND\s+ROLES\s+STATUS/);
    expect(t.out).toContain(id);
    expect(t.out).not.toContain(key.split('_').slice(2).join('_'));
    const l = await run('keys', 'list', '--format', 'json', '--store', db);
    const listed = JSON.parse(l.out) as Array<{ id: string; status: string; secretHash?: string }>;
    expect(listed.map((k) => k.id).sort()).toEqual([id, created.id].sort());
    expect(listed.every((k) => k.status === 'active' && k.secretHash === undefined)).toBe(true);

    expect((await run('keys', 'revoke', id, '--store', db)).code).toBe(0);
    const after = JSON.parse((await run('keys', 'list', '--format', 'json', '--store', db)).out) as Array<{ id: string; status: string }>;
    expect(after.find((k) => k.id === id)!.status).toBe('revoked');
    const again = await run('keys', 'revoke', id, '--store', db);
    expect(again.code).toBe(2);
    expect(again.err).toContain('RAMPART_ERR_AUTH_KEY_NOT_FOUND');
  });

  it('refuses bad arguments with exit code 2', async () => {
    expect((await run('keys', 'create', '--principal', 'a', '--expires', 'soon', '--store', db)).code).toBe(2);
    expect((await run('keys', 'create', '--principal', 'a', '--kind', 'robot', '--store', db)).code).toBe(2);
    expect((await run('keys', 'create', '--principal', 'a b', '--store', db)).code).toBe(2);
    expect((await run('keys', 'create', '--store', db)).code).toBe(2);
    expect((await run('keys', 'list', '--format', 'xml', '--store', db)).code).toBe(2);
    expect((await run('keys', 'list', '--config', join(dir, 'missing.yaml'))).code).toBe(2);
  });

  it('lets another module add subcommands and list variants in any order', async () => {
    const program = new Command().exitOverride();
    let ran: Record<string, unknown> | null = null;
    addKeysListVariant(program, { flags: '--keyring <file>', description: 'list KEKs', matches: (o) => o.keyring !== undefined, run: async (o) => void (ran = o) });
    keysCommand(program).command('rotate').action(() => undefined);
    register(program);
    expect(keysCommand(program).commands.map((c) => c.name()).sort()).toEqual(['create', 'list', 'revoke', 'rotate']);
    await program.parseAsync(['node', 'rampart', 'keys', 'list', '--keyring', 'k.json']);
    expect(ran).toMatchObject({ keyring: 'k.json' });
  });
});

describe('rampart keys store selection', () => {
  it('does not create a store when listing or revoking with a mistyped path', async () => {
    const missing = join(dir, 'typo.db');
    const r = await run('keys', 'list', '--store', missing);
    expect(r.code).toBe(2);
    expect(r.err).toContain('RAMPART_ERR_FILE_NOT_FOUND');
    expect((await run('keys', 'revoke', 'ffffffffffffffff', '--store', missing)).code).toBe(2);
    expect((await run('keys', 'create', '--principal', 'x', '--store', db, '--config', 'g.yaml')).code).toBe(2);
  });
});
