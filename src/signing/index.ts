// Public API of model signing, for the CLI and for other layers (e.g. a model server that must
// refuse a model whose signature does not verify). See docs/signing.md.
import { RampartError } from '../core/errors.js';
import { verifyModel, type VerifyOptions, type VerifySuccess } from './verify.js';

export { signModel, DEFAULT_SIGNATURE_NAME, type SignOptions, type SignResult } from './sign.js';
export { verifyModel, type VerifyOptions, type VerifyResult, type VerifySuccess, type VerifyFailure } from './verify.js';
export type { HashOptions, HashStrategy } from './hash-pool.js';

/**
 * Verifies a model and throws a RampartError carrying the failure's code (e.g.
 * RAMPART_ERR_VERIFY_FILE_MISMATCH) unless it verifies; could-not-complete errors propagate as is.
 *
 * @example
 * await assertModelVerified({ modelPath: dir, signaturePath: `${dir}/model.sig`, publicKey: pem });
 * loadModel(dir); // only reached for a verified model
 */
export async function assertModelVerified(opts: VerifyOptions): Promise<VerifySuccess> {
  const r = await verifyModel(opts);
  if (!r.ok) throw new RampartError(r.code, `model verification failed: ${r.reason}`);
  return r;
}
