// Reading and writing Sigstore bundles (media type application/vnd.dev.sigstore.bundle.v0.3+json,
// protobuf-specs JSON form) as model signing uses them: a DSSE envelope, and verification material
// that is a public key hint (key mode), an X.509 chain leaf-first (certificate mode) or a single
// Fulcio certificate plus transparency-log entries (keyless Sigstore). Parsing checks shape only;
// nothing here is trusted until verify.ts has checked the signature.
import { VerifyBundleMalformedError, VerifyUnsupportedFormatError } from './errors.js';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
/** The alternate spelling of the v0.3 media type the Sigstore specs also allow. */
const BUNDLE_MEDIA_TYPES = new Set([BUNDLE_MEDIA_TYPE, 'application/vnd.dev.sigstore.bundle+json;version=0.3']);
const OLDER_MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.bundle(\.v0\.[12]\+json|\+json;version=0\.[12])$/;
/** Bundles are small (a few KB, a few MB for sharded models with very many shards). */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

export type VerificationMaterial =
  | { kind: 'publicKey'; hint?: string; rawBytes?: Buffer; keyDetails?: string }
  | { kind: 'chain'; certificates: Buffer[] }
  | { kind: 'certificate'; certificate: Buffer; tlogEntries: number; timestamps: number };

export interface DsseEnvelope {
  payload: Buffer;
  payloadType: string;
  signatures: Array<{ sig: Buffer; keyid?: string | null }>;
}

export interface ParsedBundle {
  mediaType: string;
  material: VerificationMaterial;
  envelope: DsseEnvelope;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const B64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

/** Strict base64 (standard or URL alphabet, as protobuf JSON accepts both). */
export function decodeBase64(value: unknown, field: string): Buffer {
  if (typeof value !== 'string') throw new VerifyBundleMalformedError(`${field} must be a base64 string`);
  const s = value.replace(/\s+/g, '');
  if (!B64.test(s) || s.replace(/=+$/, '').length % 4 === 1) throw new VerifyBundleMalformedError(`${field} is not valid base64`);
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

function field<T>(obj: Json, key: string, where: string, check: (v: unknown) => v is T): T {
  const v = obj[key];
  if (!check(v)) throw new VerifyBundleMalformedError(`${where}.${key} is missing or has the wrong type`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);

function parseMaterial(vm: Json): VerificationMaterial {
  if (isObject(vm.publicKey)) {
    const pk = vm.publicKey;
    const hint = pk.hint;
    if (hint !== undefined && hint !== null && typeof hint !== 'string') throw new VerifyBundleMalformedError('publicKey.hint must be a string');
    return {
      kind: 'publicKey',
      ...(typeof hint === 'string' && hint !== '' ? { hint } : {}),
      ...(pk.rawBytes !== undefined ? { rawBytes: decodeBase64(pk.rawBytes, 'publicKey.rawBytes') } : {}),
      ...(typeof pk.keyDetails === 'string' ? { keyDetails: pk.keyDetails } : {}),
    };
  }
  if (isObject(vm.x509CertificateChain)) {
    const certs = field(vm.x509CertificateChain, 'certificates', 'x509CertificateChain', isArray);
    if (certs.length === 0 || certs.length > 16) throw new VerifyBundleMalformedError('x509CertificateChain must hold 1 to 16 certificates');
    return {
      kind: 'chain',
      certificates: certs.map((c, i) => {
        if (!isObject(c)) throw new VerifyBundleMalformedError(`certificate ${i} is not an object`);
        return decodeBase64(c.rawBytes, `x509CertificateChain.certificates[${i}].rawBytes`);
      }),
    };
  }
  if (isObject(vm.certificate)) {
    const tlog = Array.isArray(vm.tlogEntries) ? vm.tlogEntries.length : 0;
    const tsv = isObject(vm.timestampVerificationData) && Array.isArray(vm.timestampVerificationData.rfc3161Timestamps)
      ? vm.timestampVerificationData.rfc3161Timestamps.length
      : 0;
    return { kind: 'certificate', certificate: decodeBase64(vm.certificate.rawBytes, 'certificate.rawBytes'), tlogEntries: tlog, timestamps: tsv };
  }
  throw new VerifyBundleMalformedError('verificationMaterial holds no publicKey, x509CertificateChain or certificate');
}

/**
 * Parses the JSON text of a model-signing bundle.
 * Throws VerifyBundleMalformedError or VerifyUnsupportedFormatError (both: could not complete).
 */
export function parseBundle(text: string): ParsedBundle {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new VerifyBundleMalformedError('the signature file is not valid JSON');
  }
  if (!isObject(json)) throw new VerifyBundleMalformedError('the signature file is not a JSON object');
  const mediaType = field(json, 'mediaType', 'bundle', isString);
  if (!BUNDLE_MEDIA_TYPES.has(mediaType)) {
    const why = OLDER_MEDIA_TYPE.test(mediaType) ? 'an older Sigstore bundle version' : 'an unknown media type';
    throw new VerifyUnsupportedFormatError(`bundle media type ${JSON.stringify(mediaType.slice(0, 100))} is ${why} (v0.3 expected)`);
  }
  const vm = field(json, 'verificationMaterial', 'bundle', isObject);
  const material = parseMaterial(vm);
  if (!isObject(json.dsseEnvelope)) {
    if (isObject(json.messageSignature)) {
      throw new VerifyUnsupportedFormatError('the bundle holds a messageSignature; model signatures are DSSE envelopes');
    }
    throw new VerifyBundleMalformedError('bundle.dsseEnvelope is missing');
  }
  const env = json.dsseEnvelope;
  const payload = decodeBase64(env.payload, 'dsseEnvelope.payload');
  const payloadType = field(env, 'payloadType', 'dsseEnvelope', isString);
  const sigs = field(env, 'signatures', 'dsseEnvelope', isArray);
  if (sigs.length === 0) throw new VerifyBundleMalformedError('dsseEnvelope.signatures is empty');
  const signatures = sigs.map((s, i) => {
    if (!isObject(s)) throw new VerifyBundleMalformedError(`dsseEnvelope.signatures[${i}] is not an object`);
    const sig = decodeBase64(s.sig, `dsseEnvelope.signatures[${i}].sig`);
    if (sig.length === 0) throw new VerifyBundleMalformedError(`dsseEnvelope.signatures[${i}].sig is empty`);
    return { sig, keyid: typeof s.keyid === 'string' ? s.keyid : null };
  });
  return { mediaType, material, envelope: { payload, payloadType, signatures } };
}

/** Serialises a bundle the way the reference v1.x writes it (compact JSON, same field names). */
export function serializeBundle(material: VerificationMaterial, envelope: DsseEnvelope): string {
  let vm: Json;
  if (material.kind === 'publicKey') vm = { publicKey: { hint: material.hint ?? '' }, tlogEntries: [] };
  else if (material.kind === 'chain') {
    vm = { x509CertificateChain: { certificates: material.certificates.map((c) => ({ rawBytes: c.toString('base64') })) }, tlogEntries: [] };
  } else throw new Error('keyless bundles are not produced by Rampart');
  const bundle = {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: vm,
    dsseEnvelope: {
      payload: envelope.payload.toString('base64'),
      payloadType: envelope.payloadType,
      signatures: envelope.signatures.map((s) => ({ sig: s.sig.toString('base64'), keyid: s.keyid ?? '' })),
    },
  };
  return JSON.stringify(bundle);
}
