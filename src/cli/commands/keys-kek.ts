// `rampart keys create-kek|rotate|retire|describe` and `rampart keys list --keyring FILE`:
// key-encryption keys in a local keyring (docs/key-providers.md). Hooks into the `keys` command of
// ./keys.ts. Also the shared helpers of the encryption commands: provider options from flags and
// environment, and the no-echo passphrase prompt.
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { CryptoPassphraseRequiredError } from '../../crypto/errors.js';
import { Keyring, listKeyring, openOrCreateKeyring } from '../../crypto/keyring.js';
import { parseKeyRef, ProviderSet } from '../../crypto/index.js';
import type { ProviderOptions } from '../../crypto/providers/types.js';
import { addKeysListVariant, keysCommand } from './keys.js';

export interface KeyFlags {
  keyring?: string;
  kmsEndpoint?: string;
}

/** Reads a line from the terminal without echoing it. */
export async function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY || !process.stderr.isTTY) throw new CryptoPassphraseRequiredError();
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const done = (err?: Error): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new UsageError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The keyring passphrase: RAMPART_KEYRING_PASSPHRASE, else a prompt on a terminal (asked once). */
export function passphraseSource(confirm = false): () => Promise<string> {
  let cached: Promise<string> | null = null;
  return () => {
    cached ??= (async () => {
      const env = process.env.RAMPART_KEYRING_PASSPHRASE;
      if (env) return env;
      const p = await promptHidden('keyring passphrase: ');
      if (confirm) {
        const again = await promptHidden('repeat passphrase: ');
        if (again !== p) throw new UsageError('the passphrases differ');
      }
      if (p === '') throw new CryptoPassphraseRequiredError();
      return p;
    })();
    return cached;
  };
}

/** Provider options from `--keyring`, `--kms-endpoint` and the environment. */
export function providerOptionsFrom(flags: KeyFlags): ProviderOptions {
  const keyringPath = flags.keyring ?? process.env.RAMPART_KEYRING;
  return {
    ...(keyringPath ? { keyringPath } : {}),
    ...(flags.kmsEndpoint ? { kmsEndpoint: flags.kmsEndpoint } : {}),
    passphrase: passphraseSource(),
  };
}

export function withKeyOptions(c: Command): Command {
  return c
    .option('--keyring <file>', 'local keyring file (default: $RAMPART_KEYRING); passphrase from $RAMPART_KEYRING_PASSPHRASE or a prompt')
    .option('--kms-endpoint <url>', 'AWS KMS endpoint override (region and credentials come from the AWS environment)');
}

function keyringPathFrom(flags: KeyFlags): string {
  const p = flags.keyring ?? process.env.RAMPART_KEYRING;
  if (!p) throw new UsageError('no keyring: pass --keyring FILE or set RAMPART_KEYRING');
  return p;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

function parseVersion(v: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(v)) throw new UsageError(`--key-version must be a positive integer, not "${v}"`);
  return Number(v);
}

export function register(program: Command): void {
  const keys = keysCommand(program);

  keys
    .command('create-kek')
    .description('create a key-encryption key in a local keyring (the keyring file is created if needed)')
    .argument('<name>', 'KEK name (letters, digits, ".", "_", "-")')
    .option('--keyring <file>', 'keyring file (default: $RAMPART_KEYRING)')
    .action(async (name: string, o: KeyFlags) => {
      const path = keyringPathFrom(o);
      const kr = await openOrCreateKeyring(path, passphraseSource(true));
      try {
        const v = await kr.createKek(name);
        process.stdout.write(`created KEK ${name} version ${v} in ${path} (use it as --key local:${name})\n`);
      } finally {
        kr.close();
      }
    });

  keys
    .command('rotate')
    .description('add a new version to a KEK; new encryptions and `rampart rewrap` use it, older versions still decrypt until retired')
    .argument('<name>', 'KEK name')
    .option('--keyring <file>', 'keyring file (default: $RAMPART_KEYRING)')
    .action(async (name: string, o: KeyFlags) => {
      const kr = await Keyring.open(keyringPathFrom(o), passphraseSource());
      try {
        const v = await kr.rotate(name);
        process.stdout.write(`KEK ${name} is now at version ${v}; run \`rampart rewrap\` on encrypted files, then retire older versions\n`);
      } finally {
        kr.close();
      }
    });

  keys
    .command('retire')
    .description('retire one version of a KEK: files still wrapped under it no longer decrypt (rewrap them first)')
    .argument('<name>', 'KEK name')
    .requiredOption('--key-version <n>', 'version to retire (not the newest); --version is taken by rampart itself')
    .option('--keyring <file>', 'keyring file (default: $RAMPART_KEYRING)')
    .action(async (name: string, o: KeyFlags & { keyVersion: string }) => {
      const version = parseVersion(o.keyVersion);
      const kr = await Keyring.open(keyringPathFrom(o), passphraseSource());
      try {
        await kr.retire(name, version);
        process.stdout.write(`retired KEK ${name} version ${version}\n`);
      } finally {
        kr.close();
      }
    });

  withKeyOptions(
    keys
      .command('describe-kek')
      .description('show the versions of a key of any provider (e.g. local:models, aws-kms:alias/models); never key material')
      .argument('<keyref>', 'PROVIDER:KEY'),
  ).action(async (keyref: string, o: KeyFlags) => {
    const ref = parseKeyRef(keyref);
    const providers = new ProviderSet(providerOptionsFrom(o));
    try {
      const d = await providers.get(ref.provider).describe(ref.keyRef);
      process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
    } finally {
      await providers.close();
    }
  });

  addKeysListVariant(program, {
    flags: '--keyring <file>',
    description: 'list the key-encryption keys of a local keyring instead of API keys (no passphrase needed)',
    matches: (opts) => typeof opts.keyring === 'string',
    run: async (opts) => {
      const list = await listKeyring(opts.keyring as string);
      if (opts.format === 'json') {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      const rows = [['NAME', 'VERSION', 'CREATED', 'STATUS']];
      for (const k of list) {
        for (const v of k.versions) {
          const status = v.retired !== null ? `retired ${v.retired}` : v.version === k.currentVersion ? 'current' : 'active';
          rows.push([k.name, String(v.version), v.created, status]);
        }
      }
      process.stdout.write(table(rows));
    },
  });
}
