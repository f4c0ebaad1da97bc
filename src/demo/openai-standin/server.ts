// An OpenAI-compatible chat model stand-in for the demo and the tests: real HTTP(S), the API's
// JSON shapes, Server-Sent-Events streaming in several chunks, and `usage` token counts. Replies are
// deterministic (see reply.ts), so tests and screenshots are stable.
//
// Routes: POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses; GET /v1/models,
// GET /v1/models/{id}, GET /health. Errors use the OpenAI error object.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import { BodyTooLargeError, listen, readBody, sendJson, type RunningServer, type ServerTls } from '../http.js';
import {
  countChatPromptTokens,
  countTokens,
  embed,
  embeddingBase64,
  limitTokens,
  replyText,
  streamPieces,
  type ChatTurn,
} from './reply.js';

export interface OpenAiStandinOptions {
  /** Model ids served (default `demo-chat`). Requests naming another model get a 404. */
  models?: string[];
  host?: string;
  port?: number;
  tls?: ServerTls;
  logger?: Logger;
  /** Pause between stream chunks, so streaming is visible in a terminal (default 15 ms). */
  chunkDelayMs?: number;
  /** Default embedding size when the request sets no `dimensions` (default 256). */
  embeddingDimensions?: number;
  bodyLimit?: number;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;

const MAX_DIMENSIONS = 3072;
const MAX_EMBED_INPUTS = 2048;

/** Starts the stand-in; resolves once it listens. */
export async function startOpenAiStandin(opts: OpenAiStandinOptions = {}): Promise<RunningServer> {
  const log = opts.logger ?? silentLogger();
  const ctx: Ctx = {
    models: opts.models ?? ['demo-chat'],
    delay: opts.chunkDelayMs ?? 15,
    dims: opts.embeddingDimensions ?? 256,
    created: Math.floor(Date.now() / 1000),
  };
  const bodyLimit = opts.bodyLimit ?? 4 * 1024 * 1024;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, ctx, bodyLimit).catch((err: unknown) => {
      if (err instanceof ApiError) return sendError(res, err);
      log.error({ err }, 'stand-in request failed');
      sendError(res, new ApiError(500, 'internal error', 'server_error'));
    });
  };
  const server = await listen(handler, { host: opts.host, port: opts.port, tls: opts.tls });
  log.info({ url: server.url, models: ctx.models }, 'OpenAI-compatible stand-in listening');
  return server;
}

interface Ctx {
  models: string[];
  delay: number;
  dims: number;
  created: number;
}

function sendError(res: ServerResponse, e: ApiError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, e.status, { error: { message: e.message, type: e.type, param: e.param, code: e.code } });
}

async function handle(req: IncomingMessage, res: ServerResponse, ctx: Ctx, bodyLimit: number): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
  const method = req.method ?? 'GET';
  if (method === 'GET') {
    if (path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (path === '/v1/models') return sendJson(res, 200, { object: 'list', data: ctx.models.map((id) => modelObject(ctx, id)) });
    const m = /^\/v1\/models\/(.+)$/.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1]!);
      if (!ctx.models.includes(id)) throw new ApiError(404, `The model '${id}' does not exist`, 'invalid_request_error', 'model', 'model_not_found');
      return sendJson(res, 200, modelObject(ctx, id));
    }
    throw new ApiError(404, `Unknown request URL: GET ${path}`, 'invalid_request_error', null, 'unknown_url');
  }
  if (method !== 'POST') throw new ApiError(405, `Method ${method} not allowed`, 'invalid_request_error');
  const routes: Record<string, (b: Json, res: ServerResponse, ctx: Ctx) => Promise<void> | void> = {
    '/v1/chat/completions': chatCompletions,
    '/v1/completions': completions,
    '/v1/embeddings': embeddings,
    '/v1/responses': responses,
  };
  const fn = routes[path];
  if (!fn) throw new ApiError(404, `Unknown request URL: POST ${path}`, 'invalid_request_error', null, 'unknown_url');
  let raw: Buffer;
  try {
    raw = await readBody(req, bodyLimit);
  } catch (e) {
    if (e instanceof BodyTooLargeError) throw new ApiError(413, `Request body over ${bodyLimit} bytes`);
    throw e;
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ApiError(400, 'We could not parse the JSON body of your request.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'The request body must be a JSON object.');
  await fn(body as Json, res, ctx);
}

function modelObject(ctx: Ctx, id: string): Json {
  return { id, object: 'model', created: ctx.created, owned_by: 'rampart-demo' };
}

function requireModel(b: Json, ctx: Ctx): string {
  if (typeof b.model !== 'string' || b.model === '') throw new ApiError(400, 'you must provide a model parameter', 'invalid_request_error', 'model');
  if (!ctx.models.includes(b.model)) {
    throw new ApiError(404, `The model '${b.model}' does not exist`, 'invalid_request_error', 'model', 'model_not_found');
  }
  return b.model;
}

function optionalInt(b: Json, key: string, min: number, max: number): number | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ApiError(400, `'${key}' must be an integer between ${min} and ${max}`, 'invalid_request_error', key);
  }
  return v;
}

/** Text of a message `content`: a string or an array of parts with `text`. */
function contentText(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content
      .map((p: unknown) => {
        if (typeof p === 'object' && p !== null && typeof (p as Json).text === 'string') return (p as Json).text as string;
        if (typeof p === 'object' && p !== null && typeof (p as Json).type === 'string') return '';
        throw new ApiError(400, `Invalid content part in '${param}'`, 'invalid_request_error', param);
      })
      .join(' ');
  }
  throw new ApiError(400, `Invalid type for '${param}': expected a string or an array of content parts`, 'invalid_request_error', param);
}

function chatTurns(messages: unknown): ChatTurn[] {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new ApiError(400, "'messages' must be a non-empty array", 'invalid_request_error', 'messages');
  }
  return messages.map((m: unknown, i) => {
    if (typeof m !== 'object' || m === null || typeof (m as Json).role !== 'string') {
      throw new ApiError(400, `Invalid message at 'messages[${i}]': a role is required`, 'invalid_request_error', `messages[${i}]`);
    }
    return { role: (m as Json).role as string, content: contentText((m as Json).content, `messages[${i}].content`) };
  });
}

function lastUser(turns: ChatTurn[]): string {
  for (let i = turns.length - 1; i >= 0; i--) if (turns[i]!.role === 'user') return turns[i]!.content;
  return turns[turns.length - 1]?.content ?? '';
}

function isStream(b: Json): boolean {
  if (b.stream === undefined || b.stream === null) return false;
  if (typeof b.stream !== 'boolean') throw new ApiError(400, "'stream' must be a boolean", 'invalid_request_error', 'stream');
  return b.stream;
}

function includeUsage(b: Json): boolean {
  const so = b.stream_options;
  return typeof so === 'object' && so !== null && (so as Json).include_usage === true;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Writes SSE events, pausing between them; stops quietly if the client went away. */
async function sse(res: ServerResponse, events: { event?: string; data: unknown }[], delay: number, done: boolean): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  for (const [i, e] of events.entries()) {
    if (closed) return;
    if (i > 0 && delay > 0) await sleep(delay);
    res.write(`${e.event ? `event: ${e.event}\n` : ''}data: ${JSON.stringify(e.data)}\n\n`);
  }
  if (done && !closed) res.write('data: [DONE]\n\n');
  res.end();
}

function chatCompletions(b: Json, res: ServerResponse, ctx: Ctx): Promise<void> | void {
  const model = requireModel(b, ctx);
  const turns = chatTurns(b.messages);
  const maxTokens = optionalInt(b, 'max_completion_tokens', 1, 1_000_000) ?? optionalInt(b, 'max_tokens', 1, 1_000_000);
  const stream = isStream(b);
  const { text, tokens, truncated } = limitTokens(replyText(model, lastUser(turns)), maxTokens);
  const usage = { prompt_tokens: countChatPromptTokens(turns), completion_tokens: tokens, total_tokens: countChatPromptTokens(turns) + tokens };
  const id = `chatcmpl-${randomUUID().replaceAll('-', '')}`;
  const created = Math.floor(Date.now() / 1000);
  const finish = truncated ? 'length' : 'stop';
  if (!stream) {
    return sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      system_fingerprint: 'fp_rampart_demo',
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: finish }],
      usage,
    });
  }
  const chunk = (delta: Json, finishReason: string | null, extra: Json = {}) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    system_fingerprint: 'fp_rampart_demo',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...extra,
  });
  const withUsage = includeUsage(b);
  const nullUsage = withUsage ? { usage: null } : {};
  const events = [
    { data: chunk({ role: 'assistant', content: '', refusal: null }, null, nullUsage) },
    ...streamPieces(text).map((p) => ({ data: chunk({ content: p }, null, nullUsage) })),
    { data: chunk({}, finish, nullUsage) },
  ];
  if (withUsage) events.push({ data: { ...chunk({}, null), choices: [], usage } as ReturnType<typeof chunk> });
  return sse(res, events, ctx.delay, true);
}

function completions(b: Json, res: ServerResponse, ctx: Ctx): Promise<void> | void {
  const model = requireModel(b, ctx);
  let prompt: string;
  if (typeof b.prompt === 'string') prompt = b.prompt;
  else if (Array.isArray(b.prompt) && b.prompt.length === 1 && typeof b.prompt[0] === 'string') prompt = b.prompt[0];
  else throw new ApiError(400, "'prompt' must be a string (or a list of one string)", 'invalid_request_error', 'prompt');
  const maxTokens = optionalInt(b, 'max_tokens', 1, 1_000_000) ?? 16;
  const { text, tokens, truncated } = limitTokens(` ${replyText(model, prompt)}`, maxTokens);
  const promptTokens = countTokens(prompt);
  const usage = { prompt_tokens: promptTokens, completion_tokens: tokens, total_tokens: promptTokens + tokens };
  const id = `cmpl-${randomUUID().replaceAll('-', '')}`;
  const created = Math.floor(Date.now() / 1000);
  const finish = truncated ? 'length' : 'stop';
  const choice = (t: string, f: string | null) => ({ text: t, index: 0, logprobs: null, finish_reason: f });
  if (!isStream(b)) {
    return sendJson(res, 200, { id, object: 'text_completion', created, model, choices: [choice(text, finish)], usage });
  }
  const base = { id, object: 'text_completion', created, model };
  const events: { data: unknown }[] = streamPieces(text).map((p) => ({ data: { ...base, choices: [choice(p, null)] } }));
  events.push({ data: { ...base, choices: [choice('', finish)] } });
  if (includeUsage(b)) events.push({ data: { ...base, choices: [], usage } });
  return sse(res, events, ctx.delay, true);
}

function embeddings(b: Json, res: ServerResponse, ctx: Ctx): void {
  const model = requireModel(b, ctx);
  const raw = b.input;
  let inputs: string[];
  if (typeof raw === 'string') inputs = [raw];
  else if (Array.isArray(raw) && raw.length > 0 && raw.every((s) => typeof s === 'string')) inputs = raw as string[];
  else if (Array.isArray(raw) && raw.length > 0 && raw.every((t) => Number.isInteger(t))) inputs = [JSON.stringify(raw)];
  else if (Array.isArray(raw) && raw.length > 0 && raw.every((a) => Array.isArray(a) && a.every((t) => Number.isInteger(t)))) inputs = raw.map((a) => JSON.stringify(a));
  else throw new ApiError(400, "'input' must be a string, a list of strings, or token arrays", 'invalid_request_error', 'input');
  if (inputs.length > MAX_EMBED_INPUTS) throw new ApiError(400, `'input' holds more than ${MAX_EMBED_INPUTS} items`, 'invalid_request_error', 'input');
  if (inputs.some((s) => s === '')) throw new ApiError(400, "'input' cannot contain an empty string", 'invalid_request_error', 'input');
  const dims = optionalInt(b, 'dimensions', 1, MAX_DIMENSIONS) ?? ctx.dims;
  const format = b.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') throw new ApiError(400, "'encoding_format' must be 'float' or 'base64'", 'invalid_request_error', 'encoding_format');
  const tokens = inputs.reduce((n, s) => n + countTokens(s), 0);
  sendJson(res, 200, {
    object: 'list',
    model,
    data: inputs.map((s, index) => {
      const v = embed(s, dims);
      return { object: 'embedding', index, embedding: format === 'base64' ? embeddingBase64(v) : v };
    }),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

/** Texts of a Responses API `input`: a string or a list of message items. */
function responseTurns(input: unknown, instructions: unknown): ChatTurn[] {
  const turns: ChatTurn[] = [];
  if (typeof instructions === 'string') turns.push({ role: 'system', content: instructions });
  if (typeof input === 'string') turns.push({ role: 'user', content: input });
  else if (Array.isArray(input) && input.length > 0) {
    input.forEach((item: unknown, i) => {
      if (typeof item !== 'object' || item === null) throw new ApiError(400, `Invalid 'input[${i}]'`, 'invalid_request_error', `input[${i}]`);
      const it = item as Json;
      turns.push({ role: typeof it.role === 'string' ? it.role : String(it.type ?? 'user'), content: contentText(it.content ?? it.output ?? '', `input[${i}].content`) });
    });
  } else throw new ApiError(400, "'input' must be a string or a non-empty list of items", 'invalid_request_error', 'input');
  return turns;
}

function responses(b: Json, res: ServerResponse, ctx: Ctx): Promise<void> | void {
  const model = requireModel(b, ctx);
  const turns = responseTurns(b.input, b.instructions);
  const maxTokens = optionalInt(b, 'max_output_tokens', 1, 1_000_000);
  const { text, tokens, truncated } = limitTokens(replyText(model, lastUser(turns)), maxTokens);
  const inputTokens = countChatPromptTokens(turns);
  const id = `resp_${randomUUID().replaceAll('-', '')}`;
  const msgId = `msg_${randomUUID().replaceAll('-', '')}`;
  const createdAt = Math.floor(Date.now() / 1000);
  const part = (t: string) => ({ type: 'output_text', text: t, annotations: [] as unknown[] });
  const item = (t: string, status: string) => ({ type: 'message', id: msgId, status, role: 'assistant', content: t === '' && status !== 'completed' ? [] : [part(t)] });
  const response = (status: string, output: unknown[], usage: unknown) => ({
    id,
    object: 'response',
    created_at: createdAt,
    status,
    error: null,
    incomplete_details: truncated && status !== 'in_progress' ? { reason: 'max_output_tokens' } : null,
    instructions: typeof b.instructions === 'string' ? b.instructions : null,
    max_output_tokens: maxTokens ?? null,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    temperature: 1,
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    usage,
    metadata: {},
  });
  const finalStatus = truncated ? 'incomplete' : 'completed';
  const usage = {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + tokens,
  };
  const final = response(finalStatus, [item(text, 'completed')], usage);
  if (!isStream(b)) return sendJson(res, 200, final);
  let seq = 0;
  const ev = (type: string, data: Json) => ({ event: type, data: { type, sequence_number: seq++, ...data } });
  const events = [
    ev('response.created', { response: response('in_progress', [], null) }),
    ev('response.in_progress', { response: response('in_progress', [], null) }),
    ev('response.output_item.added', { output_index: 0, item: item('', 'in_progress') }),
    ev('response.content_part.added', { item_id: msgId, output_index: 0, content_index: 0, part: part('') }),
    ...streamPieces(text).map((p) => ev('response.output_text.delta', { item_id: msgId, output_index: 0, content_index: 0, delta: p, logprobs: [] })),
    ev('response.output_text.done', { item_id: msgId, output_index: 0, content_index: 0, text, logprobs: [] }),
    ev('response.content_part.done', { item_id: msgId, output_index: 0, content_index: 0, part: part(text) }),
    ev('response.output_item.done', { output_index: 0, item: item(text, 'completed') }),
    ev(truncated ? 'response.incomplete' : 'response.completed', { response: final }),
  ];
  return sse(res, events, ctx.delay, false);
}
