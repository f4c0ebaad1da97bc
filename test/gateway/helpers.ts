// Test helpers for the gateway: small real implementations of the layer interfaces (not mocks:
// they enforce what the tests configure), a local upstream model server, and a config builder.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfig, GatewayConfigInput } from '../../src/config/schema.js';
import type { AuditLog, AuditRecord, Authenticator, Authorizer, AuthzRequest, QuotaLease, QuotaManager, QuotaRequest } from '../../src/core/contracts.js';
import { RampartError } from '../../src/core/errors.js';
import type { Principal, TokenUsage } from '../../src/core/types.js';
import type { GatewayDeps } from '../../src/gateway/server.js';

/** API keys → principals; mTLS certificates → principal named by the CN. */
export class TableAuthenticator implements Authenticator {
  constructor(private readonly keys: Record<string, { id: string; roles: string[] }>) {}
  seen: { authorization?: string; apiKey?: string; cn?: string }[] = [];
  async authenticate(input: Parameters<Authenticator['authenticate']>[0]): Promise<Principal> {
    const cn = input.peerCertificate?.subject?.CN;
    this.seen.push({ authorization: input.authorization, apiKey: input.apiKey, cn: typeof cn === 'string' ? cn : undefined });
    const token = input.authorization?.replace(/^Bearer\s+/i, '') ?? input.apiKey;
    if (token) {
      const k = this.keys[token];
      if (!k) throw new RampartError('RAMPART_ERR_AUTH_INVALID', 'the credentials are not valid');
      return { id: k.id, kind: 'user', roles: k.roles, groups: [], authMethod: 'api-key', attributes: {} };
    }
    if (typeof cn === 'string') return { id: cn, kind: 'service', roles: ['svc'], groups: [], authMethod: 'mtls', attributes: {} };
    throw new RampartError('RAMPART_ERR_AUTH_MISSING', 'the request carries no credentials');
  }
  async close(): Promise<void> {}
}

/** Allows `role:action:model` triples ('*' matches anything). */
export class TableAuthorizer implements Authorizer {
  requests: AuthzRequest[] = [];
  constructor(private readonly rules: string[]) {}
  authorize(req: AuthzRequest) {
    this.requests.push(req);
    for (const r of this.rules) {
      const [role, action, model] = r.split(':');
      if ((role === '*' || req.principal.roles.includes(role!)) && (action === '*' || action === req.action) && (model === '*' || model === req.model)) {
        return { decision: 'allow' as const, policyIds: [r], errors: [] };
      }
    }
    return { decision: 'deny' as const, policyIds: [], errors: [] };
  }
}

class QuotaError extends RampartError {
  constructor(readonly retryAfterSeconds: number) {
    super('RAMPART_ERR_QUOTA_EXCEEDED', 'principal quota exceeded: requestsPerMinute');
  }
}

/** A fixed number of requests per principal, then 429; records usage released. */
export class CountingQuotas implements QuotaManager {
  used = new Map<string, number>();
  released: (TokenUsage | null | undefined)[] = [];
  active = 0;
  constructor(private readonly limit = Infinity) {}
  async acquire(req: QuotaRequest): Promise<QuotaLease> {
    const n = (this.used.get(req.principal) ?? 0) + 1;
    if (n > this.limit) throw new QuotaError(7);
    this.used.set(req.principal, n);
    this.active++;
    let done = false;
    return {
      release: (usage) => {
        if (done) throw new Error('released twice');
        done = true;
        this.active--;
        this.released.push(usage);
      },
    };
  }
}

export class MemoryAudit implements AuditLog {
  records: AuditRecord[] = [];
  closed = false;
  private waiters: (() => void)[] = [];
  record(rec: AuditRecord): void {
    this.records.push(rec);
    for (const w of this.waiters.splice(0)) w();
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {
    this.closed = true;
  }
  /** Resolves once `n` records exist. */
  async waitFor(n: number, timeoutMs = 5000): Promise<AuditRecord[]> {
    const until = Date.now() + timeoutMs;
    while (this.records.length < n) {
      if (Date.now() > until) throw new Error(`only ${this.records.length} audit records`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.records;
  }
}

export interface TestDeps extends GatewayDeps {
  authenticator: TableAuthenticator;
  authorizer: TableAuthorizer;
  quotas: CountingQuotas;
  audit: MemoryAudit;
}

export function testDeps(opts: { rules?: string[]; quotaLimit?: number } = {}): TestDeps {
  return {
    authenticator: new TableAuthenticator({
      'key-alice': { id: 'alice', roles: ['analyst'] },
      'key-bob': { id: 'bob', roles: ['viewer'] },
    }),
    authorizer: new TableAuthorizer(opts.rules ?? ['analyst:*:*', 'viewer:list:*', 'svc:*:*']),
    quotas: new CountingQuotas(opts.quotaLimit),
    audit: new MemoryAudit(),
  };
}

/** A temporary folder removed by the returned function. */
export function tempDir(prefix = 'rampart-gw-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeFiles(dir: string, files: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(files)) {
    out[name] = join(dir, name);
    writeFileSync(out[name], text);
  }
  return out;
}

/** Builds a validated config; `models` default to one of each protocol against `upstreamUrl`. */
export function makeConfig(upstreamUrl: string, over: Partial<GatewayConfigInput> & { server?: GatewayConfigInput['server'] } = {}): GatewayConfig {
  const raw: GatewayConfigInput = {
    server: { listen: '127.0.0.1:0', allowPlainHttp: true },
    store: { type: 'sqlite', path: ':memory:' },
    policy: { files: ['unused.cedar'] },
    observability: { logLevel: 'silent' },
    models: [
      { name: 'chat', protocol: 'openai', upstream: { url: upstreamUrl, model: 'upstream-chat' }, attributes: { owner: 'team-a' } },
      { name: 'embed', protocol: 'openai', upstream: { url: upstreamUrl } },
      { name: 'digits', protocol: 'kserve-v2', upstream: { url: upstreamUrl, model: 'digits-v1' } },
      { name: 'thing', protocol: 'generic', upstream: { url: `${upstreamUrl}/base` } },
      { name: 'slow', protocol: 'openai', upstream: { url: upstreamUrl, timeout: '300ms' } },
      { name: 'down', protocol: 'openai', upstream: { url: 'http://127.0.0.1:9', timeout: '2s' } },
    ],
    ...over,
  };
  return parseConfig(raw, process.cwd(), 'test');
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface TestUpstream {
  url: string;
  seen: SeenRequest[];
  /** Streams controlled by the test: resolve to let the upstream send its last chunk. */
  releaseLast: () => void;
  /** Resolves when the upstream noticed the client side of a stream went away. */
  streamAborted: Promise<void>;
  close(): Promise<void>;
}

/**
 * A local model server speaking just enough OpenAI, KServe v2 and generic JSON for the tests.
 * `/v1/chat/completions` with `"stream": true` sends two content chunks, then waits for
 * `releaseLast()` (model `hold`) before the final chunk, usage (if asked for) and [DONE].
 */
export async function startUpstream(): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  // Each held stream waits on its own gate; releaseLast() opens the gates of the streams held now.
  const held = new Set<() => void>();
  const releaseLast = (): void => {
    for (const r of held) r();
    held.clear();
  };
  let onAbort!: () => void;
  const streamAborted = new Promise<void>((r) => (onAbort = r));
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      void route(req, res, body);
    });
  });
  const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
  async function route(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const json = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    const url = req.url ?? '';
    if (url === '/v1/chat/completions' && json.model === 'slow') {
      await new Promise((r) => setTimeout(r, 1500));
      if (!res.destroyed) res.end('{}');
      return;
    }
    if (url === '/v1/chat/completions' && json.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.on('close', () => {
        if (!res.writableFinished) onAbort();
      });
      const chunk = (content: string, extra: Record<string, unknown> = {}) =>
        `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: json.model, choices: [{ index: 0, delta: { content }, finish_reason: null }], ...extra })}\n\n`;
      const withUsage = (json.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      res.write(chunk('Hel', withUsage ? { usage: null } : {}));
      res.write(chunk('lo', withUsage ? { usage: null } : {}));
      if (json.messages && JSON.stringify(json.messages).includes('hold')) {
        await new Promise<void>((r) => {
          held.add(r);
          res.on('close', r);
        });
      }
      if (res.destroyed) return;
      res.write(chunk('!', withUsage ? { usage: null } : {}));
      if (withUsage) res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: json.model, choices: [], usage })}\n\n`);
      res.end('data: [DONE]\n\n');
      return;
    }
    if (url === '/v1/chat/completions') {
      const out = {
        id: 'c1',
        object: 'chat.completion',
        created: 1,
        model: json.model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!' }, finish_reason: 'stop', logprobs: null }],
        usage,
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
      return;
    }
    if (url === '/v1/embeddings') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const vec = [0.5, 0.25, 0.125];
      // The official client asks for base64 (little-endian float32) by default.
      const embedding = json.encoding_format === 'base64' ? Buffer.from(new Float32Array(vec).buffer).toString('base64') : vec;
      res.end(JSON.stringify({ object: 'list', model: json.model, data: [{ object: 'embedding', index: 0, embedding }], usage: { prompt_tokens: 3, total_tokens: 3 } }));
      return;
    }
    if (url.startsWith('/v2/models/')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (url.endsWith('/infer')) res.end(JSON.stringify({ model_name: 'digits-v1', outputs: [{ name: 'label', shape: [1], datatype: 'INT64', data: [3] }] }));
      else if (url.endsWith('/ready')) res.end(JSON.stringify({ name: 'digits-v1', ready: true }));
      else res.end(JSON.stringify({ name: 'digits-v1', platform: 'test', inputs: [], outputs: [] }));
      return;
    }
    if (url.startsWith('/base/')) {
      res.writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'generic' });
      res.end(JSON.stringify({ echoed: json, path: url }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"nope"}');
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    releaseLast,
    streamAborted,
    close: () =>
      new Promise<void>((r) => {
        releaseLast();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * Starts `node DIR/child.mjs CONFIG` (a gateway launcher written by the test) and resolves `line`
 * with the first line it prints (its URL, or whatever the launcher reports); rejects if it exits first.
 */
export function startChild(dir: string, configFile: string): { child: ChildProcess; line: Promise<string> } {
  const child = spawn(process.execPath, [join(dir, 'child.mjs'), configFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => (out.includes('\n') ? undefined : reject(new Error(`gateway exited with ${code}`))));
  });
  return { child, line };
}
