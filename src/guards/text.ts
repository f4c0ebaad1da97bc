// Every text an LLM will read in a request, and every text a client will read in a response, in the
// OpenAI request shapes the gateway serves (chat completions, completions, responses, embeddings).
// Guards that look at text (prompt injection, PII and secrets) take them from here, so a new request
// shape is taught once. Each part knows where it sits (a JSON pointer) and can be rewritten in place.
import { GuardFailedError } from './errors.js';
import { MAX_TEXT_DEPTH, textLeaves } from './text-leaves.js';

/** Who wrote a text, as far as the request shape tells. */
export type TextSource =
  /** system or developer prompt, `instructions` of the Responses API */
  | 'system'
  /** a user message, a completions prompt */
  | 'user'
  /** an earlier assistant turn, or the model's output in a response */
  | 'assistant'
  /** a tool or function result handed back to the model (indirect injection lands here) */
  | 'tool'
  /** tool-call arguments written by the model */
  | 'tool-call'
  /** a tool definition's description (the model reads it as instructions) */
  | 'tool-definition'
  /** a document sent to be embedded (retrieval corpora: indirect injection at rest) */
  | 'document';

export interface TextPart {
  text: string;
  source: TextSource;
  /** JSON pointer of the string in the body, e.g. `/messages/2/content/0/text`. */
  pointer: string;
  /** Replaces the string in the body (used by redaction). */
  set(value: string): void;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function part(parent: Obj | unknown[], key: string | number, source: TextSource, pointer: string, out: TextPart[]): void {
  const v = (parent as Record<string | number, unknown>)[key];
  if (typeof v !== 'string' || v === '') return;
  out.push({
    text: v,
    source,
    pointer,
    set(value: string) {
      (parent as Record<string | number, unknown>)[key] = value;
      this.text = value;
    },
  });
}

/** Strings inside an OpenAI `content` value: a string or a list of typed parts. */
function content(msg: Obj, source: TextSource, base: string, out: TextPart[]): void {
  const c = msg.content;
  if (typeof c === 'string') return part(msg, 'content', source, `${base}/content`, out);
  if (!Array.isArray(c)) return;
  c.forEach((p, i) => {
    if (typeof p === 'string') return part(c, i, source, `${base}/content/${i}`, out);
    if (!isObj(p)) return;
    // text / input_text / output_text parts carry `text`; tool results may nest their own content.
    part(p, 'text', source, `${base}/content/${i}/text`, out);
    if (Array.isArray(p.content) || typeof p.content === 'string') content(p, source, `${base}/content/${i}`, out);
  });
}

function roleSource(role: unknown): TextSource {
  switch (role) {
    case 'system':
    case 'developer':
      return 'system';
    case 'assistant':
      return 'assistant';
    case 'tool':
    case 'function':
      return 'tool';
    default:
      return 'user';
  }
}

function toolCalls(msg: Obj, base: string, out: TextPart[]): void {
  if (!Array.isArray(msg.tool_calls)) return;
  msg.tool_calls.forEach((tc, i) => {
    if (isObj(tc) && isObj(tc.function)) part(tc.function, 'arguments', 'tool-call', `${base}/tool_calls/${i}/function/arguments`, out);
  });
  if (isObj(msg.function_call)) part(msg.function_call, 'arguments', 'tool-call', `${base}/function_call/arguments`, out);
}

function toolDefinitions(body: Obj, out: TextPart[]): void {
  if (!Array.isArray(body.tools)) return;
  body.tools.forEach((t, i) => {
    if (!isObj(t)) return;
    if (isObj(t.function)) part(t.function, 'description', 'tool-definition', `/tools/${i}/function/description`, out);
    else part(t, 'description', 'tool-definition', `/tools/${i}/description`, out);
  });
}

/** Items of a Responses API `input` list (messages, function call outputs, ...). */
function responseItems(items: unknown[], base: string, out: TextPart[]): void {
  items.forEach((it, i) => {
    if (typeof it === 'string') return part(items, i, 'user', `${base}/${i}`, out);
    if (!isObj(it)) return;
    const p = `${base}/${i}`;
    switch (it.type) {
      case 'function_call_output':
      case 'custom_tool_call_output':
      case 'computer_call_output':
        if (typeof it.output === 'string') part(it, 'output', 'tool', `${p}/output`, out);
        else if (Array.isArray(it.output)) {
          const list = it.output;
          list.forEach((o, j) => {
            if (typeof o === 'string') part(list, j, 'tool', `${p}/output/${j}`, out);
            else if (isObj(o)) part(o, 'text', 'tool', `${p}/output/${j}/text`, out);
          });
        }
        return;
      case 'function_call':
      case 'custom_tool_call':
        part(it, 'arguments', 'tool-call', `${p}/arguments`, out);
        part(it, 'input', 'tool-call', `${p}/input`, out);
        return;
      default:
        content(it, roleSource(it.role), p, out);
    }
  });
}

/** Texts of a request on an OpenAI route (`route` as in src/gateway/routes.ts); [] for other routes. */
export function requestTexts(route: string, body: Obj): TextPart[] {
  const out: TextPart[] = [];
  switch (route) {
    case 'openai.chat.completions':
      if (Array.isArray(body.messages)) {
        body.messages.forEach((m, i) => {
          if (!isObj(m)) return;
          content(m, roleSource(m.role), `/messages/${i}`, out);
          toolCalls(m, `/messages/${i}`, out);
        });
      }
      toolDefinitions(body, out);
      break;
    case 'openai.completions':
      if (typeof body.prompt === 'string') part(body, 'prompt', 'user', '/prompt', out);
      else if (Array.isArray(body.prompt)) body.prompt.forEach((_, i) => part(body.prompt as unknown[], i, 'user', `/prompt/${i}`, out));
      part(body, 'suffix', 'user', '/suffix', out);
      break;
    case 'openai.responses':
      part(body, 'instructions', 'system', '/instructions', out);
      if (typeof body.input === 'string') part(body, 'input', 'user', '/input', out);
      else if (Array.isArray(body.input)) responseItems(body.input, '/input', out);
      toolDefinitions(body, out);
      break;
    case 'openai.embeddings':
      if (typeof body.input === 'string') part(body, 'input', 'document', '/input', out);
      else if (Array.isArray(body.input)) body.input.forEach((_, i) => part(body.input as unknown[], i, 'document', `/input/${i}`, out));
      break;
    default:
      break;
  }
  return out;
}

/**
 * Texts of a non-streamed response on an OpenAI route; [] for other routes. The fields the route's
 * shape names come first (with their source); then every other string of the body that is not
 * known to be non-text (src/guards/text-leaves.ts), as `assistant`: `reasoning_content`, audio
 * transcripts, annotations, fields newer than this file. Throws GuardFailedError (the guard's
 * onError decides) when the body nests deeper than MAX_TEXT_DEPTH.
 */
export function responseTexts(route: string, body: unknown): TextPart[] {
  const out: TextPart[] = [];
  if (!isObj(body) || !OPENAI_RESPONSE_ROUTES.has(route)) return out;
  shapeTexts(route, body, out);
  const known = new Set(out.map((p) => p.pointer));
  const rest = textLeaves(body);
  if (!rest) throw new GuardFailedError(`the response nests deeper than ${MAX_TEXT_DEPTH} levels; its texts cannot all be listed`);
  for (const l of rest) if (!known.has(l.pointer)) part(l.holder, l.key, 'assistant', l.pointer, out);
  return out;
}

const OPENAI_RESPONSE_ROUTES: ReadonlySet<string> = new Set(['openai.chat.completions', 'openai.completions', 'openai.responses']);

/** The texts at the places the route's response shape names. */
function shapeTexts(route: string, body: Obj, out: TextPart[]): void {
  switch (route) {
    case 'openai.chat.completions':
      if (Array.isArray(body.choices)) {
        body.choices.forEach((c, i) => {
          if (!isObj(c) || !isObj(c.message)) return;
          content(c.message, 'assistant', `/choices/${i}/message`, out);
          part(c.message, 'refusal', 'assistant', `/choices/${i}/message/refusal`, out);
          toolCalls(c.message, `/choices/${i}/message`, out);
        });
      }
      break;
    case 'openai.completions':
      if (Array.isArray(body.choices)) body.choices.forEach((c, i) => isObj(c) && part(c, 'text', 'assistant', `/choices/${i}/text`, out));
      break;
    case 'openai.responses':
      if (Array.isArray(body.output)) {
        body.output.forEach((it, i) => {
          if (!isObj(it)) return;
          if (it.type === 'function_call' || it.type === 'custom_tool_call') {
            part(it, 'arguments', 'tool-call', `/output/${i}/arguments`, out);
            part(it, 'input', 'tool-call', `/output/${i}/input`, out);
          } else if (it.type === 'code_interpreter_call') {
            part(it, 'code', 'tool-call', `/output/${i}/code`, out);
          } else {
            content(it, 'assistant', `/output/${i}`, out);
            // Reasoning items: the summary the client is shown, besides any reasoning_text content.
            if (Array.isArray(it.summary)) {
              const list = it.summary;
              list.forEach((p, j) => (typeof p === 'string' ? part(list, j, 'assistant', `/output/${i}/summary/${j}`, out) : isObj(p) && part(p, 'text', 'assistant', `/output/${i}/summary/${j}/text`, out)));
            }
          }
        });
      }
      // Some servers add the convenience field `output_text`; the SDKs compute it client-side.
      part(body, 'output_text', 'assistant', '/output_text', out);
      break;
    default:
      break;
  }
}

/**
 * Removes token log-probabilities from an OpenAI response body or stream event, in place; true when
 * something was removed. Their `token` strings (and bytes) spell out the answer token by token and
 * are not scanned, so a redacted secret would reappear there: text guards that enforce drop them
 * (fail closed) rather than pass them unscanned. Covers chat/completions `choices[].logprobs`, the
 * Responses API's `logprobs` on output-text events and `output[].content[].logprobs`.
 */
export function stripLogprobs(body: unknown): boolean {
  if (!isObj(body)) return false;
  let changed = false;
  const drop = (o: Obj): void => {
    if (o.logprobs !== undefined && o.logprobs !== null && !(Array.isArray(o.logprobs) && o.logprobs.length === 0)) {
      o.logprobs = Array.isArray(o.logprobs) ? [] : null;
      changed = true;
    }
  };
  if (Array.isArray(body.choices)) for (const c of body.choices) if (isObj(c)) drop(c);
  drop(body);
  const outputs = (o: unknown): void => {
    if (!isObj(o) || !Array.isArray(o.output)) return;
    for (const it of o.output) if (isObj(it) && Array.isArray(it.content)) for (const c of it.content) if (isObj(c)) drop(c);
  };
  outputs(body);
  outputs(body.response);
  if (isObj(body.part)) drop(body.part);
  if (isObj(body.item) && Array.isArray(body.item.content)) for (const c of body.item.content) if (isObj(c)) drop(c);
  return changed;
}
