// Deterministic content for the OpenAI-compatible stand-in: the reply text, a token count close to
// what a BPE tokenizer reports for English, and embedding vectors derived from a hash of the input.
// Pure functions; the server (server.ts) wraps them in the API's JSON shapes.
import { createHash } from 'node:crypto';

/** Splits text into pieces the size of typical BPE tokens (about four characters of a word). */
export function tokenize(text: string): string[] {
  return text.match(/\s?[A-Za-z]{1,4}|\s?\d{1,3}|\s?[^\sA-Za-z\d]|\s+/g) ?? [];
}

export function countTokens(text: string): number {
  return tokenize(text).length;
}

export interface ChatTurn {
  role: string;
  content: string;
}

/**
 * Prompt tokens of a chat request, with the per-message framing overhead OpenAI documents for its
 * chat models (about 3 tokens per message plus 3 to prime the reply).
 */
export function countChatPromptTokens(turns: ChatTurn[]): number {
  return turns.reduce((n, t) => n + 3 + countTokens(t.role) + countTokens(t.content), 3);
}

const MAX_ECHO = 240;

/** The assistant's answer to the last user text: deterministic, helpful-sounding, echoing the ask. */
export function replyText(model: string, lastUserText: string): string {
  const clean = lastUserText.replace(/\s+/g, ' ').trim();
  const echo = clean.length > MAX_ECHO ? `${clean.slice(0, MAX_ECHO)}…` : clean;
  const words = clean ? clean.split(' ').length : 0;
  if (!echo) return `Hello! I am ${model}, the Rampart demo model. Ask me anything and I will echo it back.`;
  return (
    `You asked: "${echo}". ` +
    `I am ${model}, a deterministic stand-in for a chat model in the Rampart demo, so I answer every ` +
    `question the same way: your message had ${words} word${words === 1 ? '' : 's'}, it reached me ` +
    `through the gateway after authentication, a Cedar policy check and quotas, and this reply is ` +
    `streamed back to you in several chunks when you ask for a stream.`
  );
}

/** Cuts `text` to at most `maxTokens` tokens; `truncated` tells whether anything was cut. */
export function limitTokens(text: string, maxTokens: number | undefined): { text: string; tokens: number; truncated: boolean } {
  const pieces = tokenize(text);
  if (maxTokens === undefined || pieces.length <= maxTokens) return { text, tokens: pieces.length, truncated: false };
  return { text: pieces.slice(0, maxTokens).join(''), tokens: maxTokens, truncated: true };
}

/** Groups the tokens of `text` into `parts` stream chunks (at least one token each). */
export function streamPieces(text: string, tokensPerChunk = 4): string[] {
  const toks = tokenize(text);
  const out: string[] = [];
  for (let i = 0; i < toks.length; i += tokensPerChunk) out.push(toks.slice(i, i + tokensPerChunk).join(''));
  return out;
}

/**
 * A unit-length embedding of `input` with `dimensions` components: SHA-256 in counter mode gives
 * uniform bytes, mapped to [-1, 1] and normalised. The same input always gives the same vector.
 */
export function embed(input: string, dimensions: number): number[] {
  const v: number[] = [];
  for (let block = 0; v.length < dimensions; block++) {
    const h = createHash('sha256').update(`${block}\u0000${input}`).digest();
    for (let i = 0; i + 1 < h.length && v.length < dimensions; i += 2) v.push(h.readUInt16LE(i) / 32767.5 - 1);
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => Math.fround(x / norm));
}

/** Float32 little-endian bytes in base64, as the embeddings API returns with `encoding_format: base64`. */
export function embeddingBase64(v: number[]): string {
  const buf = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => buf.writeFloatLE(x, i * 4));
  return buf.toString('base64');
}
