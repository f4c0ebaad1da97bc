// `rampart verify MODEL --signature FILE (--key PUB.pem | --cert-chain CA.pem)`: exits 0 when the
// signature is valid and every file matches, 1 with a one-line reason when verification fails,
// 2 when it could not complete (see docs/signing.md and src/signing/verify.ts).
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { VerifyCaInvalidError, VerifyKeyInvalidError } from '../../signing/errors.js';
import { readInputFile } from '../../signing/sign.js';
import { verifyModel } from '../../signing/verify.js';
import { ExitCode } from '../exit-code.js';

interface VerifyFlags {
  signature: string;
  key?: string;
  certChain?: string;
  ignorePaths?: string[];
  ignoreGitPaths: boolean;
  format: string;
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('verify a model against an OpenSSF model-signing bundle: exit 0 valid, 1 failed, 2 could not complete')
    .argument('<model>', 'model directory or single model file')
    .requiredOption('--signature <file>', 'the signature bundle (e.g. MODEL/model.sig)')
    .option('--key <file>', 'PEM or DER ECDSA public key (key mode)')
    .option('--cert-chain <file>', 'PEM CA certificate(s) the bundle\'s certificate chain must lead to (certificate mode)')
    .option('--ignore-paths <paths...>', 'paths to skip (relative to the current directory or to the model)')
    .option('--no-ignore-git-paths', 'do not skip .git, .gitattributes, .github and .gitignore')
    .option('--format <format>', 'text or json', 'text')
    .action(async (model: string, flags: VerifyFlags) => {
      if (flags.format !== 'text' && flags.format !== 'json') throw new UsageError('--format must be text or json');
      if ((flags.key === undefined) === (flags.certChain === undefined)) {
        throw new UsageError('give exactly one of --key PUBLIC_KEY or --cert-chain CA.pem');
      }
      const publicKey = flags.key ? await readInputFile(flags.key, (m) => new VerifyKeyInvalidError(m)) : undefined;
      const caPem = flags.certChain ? await readInputFile(flags.certChain, (m) => new VerifyCaInvalidError(m)) : undefined;
      const r = await verifyModel({
        modelPath: model,
        signaturePath: flags.signature,
        ...(publicKey ? { publicKey } : {}),
        ...(caPem ? { caPem } : {}),
        ignorePaths: flags.ignorePaths ?? [],
        ignoreGitPaths: flags.ignoreGitPaths,
      });
      if (flags.format === 'json') process.stdout.write(`${JSON.stringify(r)}\n`);
      if (!r.ok) {
        if (flags.format !== 'json') process.stderr.write(`rampart: verification failed: ${r.reason} [${r.code}]\n`);
        throw new ExitCode(1);
      }
      if (flags.format !== 'json') {
        const by = r.certificatePath ? `, signed by ${r.certificatePath.join(' <- ')}` : '';
        const legacy = r.statementVersion === 'v0.1' ? ' (legacy v0.2 format)' : '';
        process.stdout.write(`verified ${model}: ${r.items} ${r.method === 'shards' ? 'shards' : 'files'} match the signature${legacy}${by}\n`);
      }
    });
}
