// The in-toto statement model signing signs (in-toto attestation v1 Statement). Since reference
// v1.0 the predicate type is https://model_signing/signature/v1.0: one subject (the model name and
// a SHA-256 over the raw bytes of every resource digest, in the listed order), and a predicate with
// `serialization` (method files|shards, hash_type, allow_symlinks, shard_size, ignore_paths) and
// `resources` (name, algorithm, digest hex). Reference v0.2 used https://model_signing/Digests/v0.1:
// one subject per file and no serialization block; we read it for verification only.
import { createHash } from 'node:crypto';
import { isSafeRelativePath } from './model-paths.js';
import { compareItems, parseShardName, type Manifest, type ManifestItem, type Serialization } from './manifest.js';
import { VerifyManifestInconsistentError, VerifyPayloadInvalidError, VerifyUnsupportedFormatError } from './errors.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE_V1 = 'https://model_signing/signature/v1.0';
export const PREDICATE_TYPE_V01 = 'https://model_signing/Digests/v0.1';
/** The model name the reference assigns to v0.2 statements, which carry none. */
export const COMPAT_MODEL_NAME = 'compat-undefined-not-present';
const MAX_RESOURCES = 2_000_000;

/** SHA-256 over the concatenated raw digests, in order: the statement's subject digest. */
export function rootDigest(items: readonly ManifestItem[]): string {
  const h = createHash('sha256');
  for (const it of items) h.update(Buffer.from(it.digest, 'hex'));
  return h.digest('hex');
}

function serializationJson(s: Serialization): Record<string, unknown> {
  const out: Record<string, unknown> = { method: s.method, hash_type: s.hashType };
  if (s.method === 'shards') out.shard_size = s.shardSize;
  out.allow_symlinks = s.allowSymlinks;
  if (s.ignorePaths) out.ignore_paths = s.ignorePaths;
  return out;
}

/** The v1.0 statement for a manifest (items must already be in canonical order). */
export function buildStatement(m: Manifest): Record<string, unknown> {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: m.modelName, digest: { sha256: rootDigest(m.items) } }],
    predicateType: PREDICATE_TYPE_V1,
    predicate: {
      serialization: serializationJson(m.serialization),
      resources: m.items.map((it) => ({ name: it.name, algorithm: it.algorithm, digest: it.digest })),
    },
  };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const HEX64 = /^[0-9a-f]{64}$/;

function bad(msg: string): never {
  throw new VerifyPayloadInvalidError(msg);
}

function parseSerialization(s: unknown): Serialization {
  if (!isObject(s)) bad('predicate.serialization is missing');
  const method = s.method;
  const hashType = s.hash_type;
  if (method !== 'files' && method !== 'shards') {
    throw new VerifyUnsupportedFormatError(`serialization method ${JSON.stringify(String(method).slice(0, 50))} is not supported (files or shards)`);
  }
  if (hashType !== 'sha256') {
    throw new VerifyUnsupportedFormatError(`hash type ${JSON.stringify(String(hashType).slice(0, 50))} is not supported (sha256)`);
  }
  // The reference v0.2 compat path passes the string "false"; accept booleans and those strings.
  const rawSym = s.allow_symlinks ?? false;
  let allowSymlinks: boolean;
  if (rawSym === true || rawSym === 'true') allowSymlinks = true;
  else if (rawSym === false || rawSym === 'false') allowSymlinks = false;
  else bad('serialization.allow_symlinks must be a boolean');
  let ignorePaths: string[] | undefined;
  if (s.ignore_paths !== undefined) {
    if (!Array.isArray(s.ignore_paths) || !s.ignore_paths.every((p) => typeof p === 'string' && p.length > 0 && p.length < 4096)) {
      bad('serialization.ignore_paths must be a list of paths');
    }
    ignorePaths = s.ignore_paths as string[];
  }
  if (method === 'files') return { method, hashType, allowSymlinks, ...(ignorePaths ? { ignorePaths } : {}) };
  const shardSize = s.shard_size;
  if (typeof shardSize !== 'number' || !Number.isSafeInteger(shardSize) || shardSize < 1) bad('serialization.shard_size must be a positive integer');
  return { method, hashType, allowSymlinks, shardSize, ...(ignorePaths ? { ignorePaths } : {}) };
}

function parseItem(name: unknown, algorithm: unknown, digest: unknown, method: 'files' | 'shards'): ManifestItem {
  if (typeof name !== 'string') bad('resource name must be a string');
  if (algorithm !== 'sha256') throw new VerifyUnsupportedFormatError(`resource algorithm ${JSON.stringify(String(algorithm).slice(0, 50))} is not supported`);
  if (typeof digest !== 'string' || !HEX64.test(digest.toLowerCase())) bad(`resource ${name.slice(0, 200)} has no valid sha256 digest`);
  const d = digest.toLowerCase();
  if (method === 'files') {
    if (!isSafeRelativePath(name)) bad(`resource name ${JSON.stringify(name.slice(0, 200))} is not a relative path inside the model`);
    return { name, path: name, algorithm, digest: d };
  }
  const shard = parseShardName(name);
  // isSafeRelativePath accepts "." too: a single-file sharded model names its shards ".:start:end".
  if (!shard || !isSafeRelativePath(shard.path)) bad(`resource name ${JSON.stringify(name.slice(0, 200))} is not path:start:end`);
  return { name, path: shard.path, start: shard.start, end: shard.end, algorithm, digest: d };
}

export interface ParsedStatement {
  manifest: Manifest;
  predicateType: string;
}

/**
 * Parses the signed payload (already authenticated) into the expected manifest and checks the
 * subject digest against the resources. Unknown predicate or serialization: VerifyUnsupportedFormatError;
 * other malformations: VerifyPayloadInvalidError; subject digest mismatch: VerifyManifestInconsistentError.
 */
export function parseStatement(payload: Buffer): ParsedStatement {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    bad('the signed payload is not JSON');
  }
  if (!isObject(json)) bad('the signed payload is not a JSON object');
  if (json._type !== STATEMENT_TYPE) {
    throw new VerifyUnsupportedFormatError(`statement type ${JSON.stringify(String(json._type).slice(0, 80))} is not ${STATEMENT_TYPE}`);
  }
  const predicateType = json.predicateType;
  const subjects = json.subject;
  if (!Array.isArray(subjects)) bad('statement.subject must be a list');
  const seen = new Set<string>();
  const addItem = (items: ManifestItem[], it: ManifestItem): void => {
    if (seen.has(it.name)) bad(`resource ${it.name.slice(0, 200)} is listed twice`);
    seen.add(it.name);
    items.push(it);
  };

  if (predicateType === PREDICATE_TYPE_V01) {
    if (subjects.length === 0 || subjects.length > MAX_RESOURCES) bad('statement.subject must list the files');
    const items: ManifestItem[] = [];
    for (const s of subjects) {
      if (!isObject(s) || !isObject(s.digest)) bad('subject entries need a name and a digest');
      addItem(items, parseItem(s.name, 'sha256', s.digest.sha256, 'files'));
    }
    items.sort(compareItems);
    return {
      predicateType,
      manifest: { modelName: COMPAT_MODEL_NAME, serialization: { method: 'files', hashType: 'sha256', allowSymlinks: false }, items },
    };
  }
  if (predicateType !== PREDICATE_TYPE_V1) {
    throw new VerifyUnsupportedFormatError(`predicate type ${JSON.stringify(String(predicateType).slice(0, 80))} is not supported`);
  }
  if (subjects.length !== 1) bad('a v1.0 statement has exactly one subject');
  const subject = subjects[0];
  if (!isObject(subject) || typeof subject.name !== 'string' || !isObject(subject.digest)) bad('statement subject needs a name and a digest');
  const expectedRoot = subject.digest.sha256;
  if (typeof expectedRoot !== 'string' || !HEX64.test(expectedRoot.toLowerCase())) bad('statement subject has no sha256 digest');
  const predicate = json.predicate;
  if (!isObject(predicate)) bad('statement.predicate is missing');
  const serialization = parseSerialization(predicate.serialization);
  const resources = predicate.resources;
  if (!Array.isArray(resources) || resources.length > MAX_RESOURCES) bad('predicate.resources must be a list');
  const items: ManifestItem[] = [];
  for (const r of resources) {
    if (!isObject(r)) bad('resources entries must be objects');
    addItem(items, parseItem(r.name, r.algorithm, r.digest, serialization.method));
  }
  // The subject digest covers the resources in the order they are listed (the signer's order).
  if (rootDigest(items) !== expectedRoot.toLowerCase()) {
    throw new VerifyManifestInconsistentError('the subject digest does not match the listed resources');
  }
  items.sort(compareItems);
  return { predicateType, manifest: { modelName: subject.name, serialization, items } };
}
