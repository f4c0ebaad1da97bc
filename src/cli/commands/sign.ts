// `rampart sign MODEL --key KEY.pem [--cert-chain CHAIN.pem]`: writes an OpenSSF model-signing
// bundle for a model directory or file (see docs/signing.md and src/signing/sign.ts).
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { parseSize } from '../../core/units.js';
import { SignCertInvalidError, SignKeyInvalidError } from '../../signing/errors.js';
import { readInputFile, signModel } from '../../signing/sign.js';

interface SignFlags {
  key: string;
  certChain?: string;
  signature?: string;
  ignorePaths?: string[];
  ignoreGitPaths: boolean;
  allowSymlinks?: boolean;
  shardSize?: string;
  passphraseEnv?: string;
  format: string;
}

export function register(program: Command): void {
  program
    .command('sign')
    .description('sign a model directory (or file) in the OpenSSF model-signing format (Sigstore bundle v0.3, DSSE, in-toto)')
    .argument('<model>', 'model directory or single model file')
    .requiredOption('--key <file>', 'PEM ECDSA private key (P-256, P-384 or P-521)')
    .option('--cert-chain <file>', 'PEM signing certificate for the key plus its intermediates (certificate mode)')
    .option('--signature <file>', 'where to write the bundle (default: model.sig in the current directory, as the reference does)')
    .option('--ignore-paths <paths...>', 'paths to leave out of the signature (relative to the current directory or to the model)')
    .option('--no-ignore-git-paths', 'also sign .git, .gitattributes, .github and .gitignore')
    .option('--allow-symlinks', 'follow symlinks inside the model instead of refusing them')
    .option('--shard-size <size>', 'hash files in shards of this size (serialization method "shards"), e.g. 1GB or 268435456')
    .option('--passphrase-env <var>', 'environment variable holding the passphrase of an encrypted private key')
    .option('--format <format>', 'text or json', 'text')
    .action(async (model: string, flags: SignFlags) => {
      if (flags.format !== 'text' && flags.format !== 'json') throw new UsageError('--format must be text or json');
      const shardSize = flags.shardSize === undefined ? undefined : parseSize(flags.shardSize);
      let passphrase: string | undefined;
      if (flags.passphraseEnv !== undefined) {
        passphrase = process.env[flags.passphraseEnv];
        if (passphrase === undefined) throw new UsageError(`environment variable ${flags.passphraseEnv} is not set`);
      }
      const privateKeyPem = await readInputFile(flags.key, (m) => new SignKeyInvalidError(m));
      const certChainPem = flags.certChain ? await readInputFile(flags.certChain, (m) => new SignCertInvalidError(m)) : undefined;
      const started = process.hrtime.bigint();
      const r = await signModel({
        modelPath: model,
        privateKeyPem,
        ...(passphrase !== undefined ? { passphrase } : {}),
        ...(certChainPem ? { certChainPem } : {}),
        ...(flags.signature ? { signaturePath: flags.signature } : {}),
        ignorePaths: flags.ignorePaths ?? [],
        ignoreGitPaths: flags.ignoreGitPaths,
        allowSymlinks: flags.allowSymlinks ?? false,
        ...(shardSize !== undefined ? { method: 'shards' as const, shardSize } : {}),
      });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (flags.format === 'json') {
        process.stdout.write(
          `${JSON.stringify({ signature: r.signaturePath, mode: r.mode, method: r.manifest.serialization.method, items: r.manifest.items.length, bytes: r.bytesHashed, ms: Math.round(ms) })}\n`,
        );
      } else {
        process.stdout.write(
          `signed ${model} (${r.mode} mode, ${r.manifest.items.length} ${r.manifest.serialization.method === 'shards' ? 'shards' : 'files'}, ${r.bytesHashed} bytes) -> ${r.signaturePath}\n`,
        );
      }
    });
}
