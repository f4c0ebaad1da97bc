// The `pii` guard: finds personal data and secrets (src/detect/pii/) in every text an LLM reads in
// a request and every text a client reads in a response, streamed responses included, and per type
// and phase redacts, blocks or flags. On OpenAI routes it looks at the texts of the request shape
// (src/guards/text.ts); on generic routes at every string value of the JSON body. Reasons carry the
// type and where it was found, never the value.
import { z } from 'zod';
import { PII_TYPES, PiiScanner, DEFAULT_MAX_HOLD_BACK, type PiiMatch, type PiiStream, type PiiType } from '../../detect/pii/index.js';
import { GuardFailedError } from '../errors.js';
import type { TextPart } from '../text.js';
import type { Guard, GuardContext, GuardFactory, GuardReason, GuardVerdict, StreamStep, StreamTextFilter } from '../types.js';

const ACTIONS = ['redact', 'block', 'flag', 'off'] as const;
export type PiiAction = (typeof ACTIONS)[number];

const CONTACT: readonly PiiType[] = ['email', 'phone', 'ip'];

/**
 * Defaults: secrets and private keys are redacted in both directions (a key pasted into a prompt
 * must not reach a third-party model, but the conversation can go on; a key in an answer must not
 * reach the client); cards, IBANs and national identifiers are redacted; e-mail addresses, phone
 * numbers and IP addresses are flagged only, because legitimate prompts are full of them (support
 * tickets, "write to bob@…") and rewriting them would break common uses.
 */
export function defaultAction(type: PiiType): PiiAction {
  return CONTACT.includes(type) ? 'flag' : 'redact';
}

const score01 = z.number().min(0).max(1);
const perType = z
  .object({
    request: z.enum(ACTIONS).optional(),
    response: z.enum(ACTIONS).optional(),
    minConfidence: score01.optional(),
  })
  .strict();

export const piiOptions = z
  .object({
    /** Per type: action on requests and on responses (redact | block | flag | off) and a confidence floor. */
    types: z
      .object(Object.fromEntries(PII_TYPES.map((t) => [t, perType.optional()])) as Record<PiiType, z.ZodOptional<typeof perType>>)
      .strict()
      .default({}),
    /** Matches below this confidence are ignored (0.6 drops unformatted Aadhaar and CPF numbers). */
    minConfidence: score01.default(0.6),
    /** `label`: [REDACTED:<type>]; `mask`: cards keep their last four digits (**** **** **** 1234), others get the label. */
    redaction: z.enum(['label', 'mask']).default('label'),
    allow: z
      .object({
        /** E-mail domains never reported (exact or parent domain), e.g. example.com. */
        emailDomains: z.array(z.string().min(1)).default([]),
        /** Well-known test card numbers (4111 1111 1111 1111, 4242…) are not reported. */
        testCards: z.boolean().default(false),
        /** Exact values never reported (compared without spaces and dashes). */
        values: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({}),
    ip: z
      .object({
        /** Also report private, loopback, link-local, documentation and reserved addresses. */
        private: z.boolean().default(false),
        v6: z.boolean().default(true),
      })
      .strict()
      .default({}),
  })
  .strict();

export type PiiOptions = z.infer<typeof piiOptions>;

const TEST_CARDS = new Set([
  '4111111111111111', '4242424242424242', '4012888888881881', '4000056655665556', '4222222222222', '5555555555554444',
  '5105105105105100', '2223003122003222', '5200828282828210', '378282246310005', '371449635398431', '6011111111111117',
  '6011000990139424', '3056930009020004', '36227206271667', '3566002020360505', '6200000000000005',
]);

const OPENAI_ROUTES = new Set(['openai.chat.completions', 'openai.completions', 'openai.responses', 'openai.embeddings']);

const DESCRIPTION: Record<PiiType, string> = {
  'private-key': 'private key',
  jwt: 'JSON Web Token',
  'openai-key': 'OpenAI API key',
  'anthropic-key': 'Anthropic API key',
  'aws-access-key-id': 'AWS access key id',
  'aws-secret-key': 'AWS secret access key',
  'github-token': 'GitHub token',
  'gitlab-token': 'GitLab token',
  'slack-token': 'Slack token',
  'stripe-key': 'Stripe secret key',
  'google-api-key': 'Google API key',
  'huggingface-token': 'Hugging Face token',
  'npm-token': 'npm token',
  'twilio-key': 'Twilio API key',
  'sendgrid-key': 'SendGrid API key',
  'azure-storage-key': 'Azure storage account key',
  'generic-secret': 'secret in an assignment',
  card: 'payment card number',
  iban: 'IBAN',
  'us-ssn': 'US social security number',
  'uk-nino': 'UK national insurance number',
  'es-dni': 'Spanish DNI/NIE',
  'fr-nir': 'French social security number',
  'it-cf': 'Italian codice fiscale',
  'nl-bsn': 'Dutch BSN',
  'se-pnr': 'Swedish personnummer',
  'in-aadhaar': 'Aadhaar number',
  'cn-rid': 'Chinese resident identity number',
  'br-cpf': 'Brazilian CPF',
  email: 'e-mail address',
  phone: 'phone number',
  ip: 'IP address',
};

type Phase = 'request' | 'response';

interface Found {
  m: PiiMatch;
  action: Exclude<PiiAction, 'off'>;
}

const RANK = { flag: 1, redact: 2, block: 3 } as const;

/** A text with a way to replace it: request/response texts, or string values of a generic JSON body. */
interface Slot {
  text: string;
  pointer: string;
  set(v: string): void;
}

/**
 * Every string value in a JSON value, with JSON pointers (generic routes). Throws GuardFailedError
 * (the guard fails, its onError decides) past 64 levels or `max` strings: what is not listed would
 * pass unscanned.
 */
export function jsonStrings(root: unknown, max = 100_000): Slot[] {
  const out: Slot[] = [];
  const esc = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');
  const walk = (v: unknown, ptr: string, depth: number): void => {
    if (typeof v !== 'object' || v === null) return;
    if (depth > 64) throw new GuardFailedError('the body nests deeper than 64 levels; its strings cannot all be scanned');
    const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    for (const [k, x] of entries) {
      const p = `${ptr}/${esc(String(k))}`;
      if (typeof x === 'string') {
        if (x !== '') {
          if (out.length >= max) throw new GuardFailedError(`the body has more than ${max} strings; they cannot all be scanned`);
          const holder = v as Record<string | number, unknown>;
          out.push({ text: x, pointer: p, set: (s) => (holder[k] = s) });
        }
      } else walk(x, p, depth + 1);
    }
  };
  walk(root, '', 0);
  return out;
}

function maskCard(value: string): string {
  let keep = 4;
  let out = '';
  for (let i = value.length - 1; i >= 0; i--) {
    const c = value[i]!;
    if (c >= '0' && c <= '9') out = (keep-- > 0 ? c : '*') + out;
    else out = c + out;
  }
  return out;
}

class PiiGuard implements Guard {
  readonly kind = 'pii';
  private readonly scanners: Record<Phase, PiiScanner>;
  private readonly actions: Record<Phase, Record<PiiType, PiiAction>>;

  constructor(
    readonly name: string,
    private readonly o: PiiOptions,
  ) {
    const actions = (phase: Phase): Record<PiiType, PiiAction> =>
      Object.fromEntries(PII_TYPES.map((t) => [t, o.types[t]?.[phase] ?? defaultAction(t)])) as Record<PiiType, PiiAction>;
    this.actions = { request: actions('request'), response: actions('response') };
    const floors = Object.fromEntries(PII_TYPES.map((t) => [t, o.types[t]?.minConfidence ?? o.minConfidence])) as Record<PiiType, number>;
    const domains = o.allow.emailDomains.map((d) => d.toLowerCase().replace(/^\.+/, ''));
    const values = new Set(o.allow.values.map((v) => v.replace(/[\s-]/g, '')));
    const allow = (t: PiiType, v: string): boolean => {
      if (values.size > 0 && values.has(v.replace(/[\s-]/g, ''))) return true;
      if (t === 'email' && domains.length > 0) {
        const d = v.slice(v.lastIndexOf('@') + 1).toLowerCase();
        if (domains.some((x) => d === x || d.endsWith(`.${x}`))) return true;
      }
      return t === 'card' && o.allow.testCards && TEST_CARDS.has(v.replace(/\D/g, ''));
    };
    const scanner = (phase: Phase): PiiScanner =>
      new PiiScanner({
        types: PII_TYPES.filter((t) => this.actions[phase][t] !== 'off'),
        minConfidence: floors,
        ipPrivate: o.ip.private,
        ipv6: o.ip.v6,
        allow,
      });
    this.scanners = { request: scanner('request'), response: scanner('response') };
  }

  supports(route: string, protocol: GuardContext['protocol']): boolean {
    return protocol === 'generic' || OPENAI_ROUTES.has(route);
  }

  private replacement(m: PiiMatch, value: string): string {
    if (this.o.redaction === 'mask' && m.type === 'card') return maskCard(value);
    return `[REDACTED:${m.type}]`;
  }

  private evaluate(phase: Phase, slots: Slot[]): GuardVerdict {
    const scanner = this.scanners[phase];
    const acts = this.actions[phase];
    const perSlot: { slot: Slot; found: Found[] }[] = [];
    let top: Found['action'] | null = null;
    let score = 0;
    for (const slot of slots) {
      const { matches } = scanner.scan(slot.text);
      if (matches.length === 0) continue;
      const found: Found[] = [];
      for (const m of matches) {
        const action = acts[m.type];
        if (action === 'off') continue;
        found.push({ m, action });
        if (!top || RANK[action] > RANK[top]) top = action;
        score = Math.max(score, m.confidence);
      }
      if (found.length) perSlot.push({ slot, found });
    }
    if (!top) return { action: 'allow', reasons: [] };
    const reasons = this.reasons(perSlot.flatMap(({ slot, found }) => found.map((f) => ({ f, where: slot.pointer }))));
    const verdict: GuardVerdict = { action: top, score, reasons };
    if (top === 'block') verdict.status = 403;
    if (top === 'redact') {
      verdict.apply = () => {
        for (const { slot, found } of perSlot) {
          let out = '';
          let pos = 0;
          for (const { m, action } of found) {
            if (action !== 'redact') continue;
            out += slot.text.slice(pos, m.start) + this.replacement(m, slot.text.slice(m.start, m.end));
            pos = m.end;
          }
          slot.set(out + slot.text.slice(pos));
        }
      };
    }
    return verdict;
  }

  /** One reason per type and place, with a count; never the value. */
  private reasons(items: { f: Found; where: string }[]): GuardReason[] {
    const groups = new Map<string, { type: PiiType; action: string; where: string; n: number; truncated: boolean }>();
    for (const { f, where } of items) {
      const key = `${f.m.type}\u0000${where}`;
      const g = groups.get(key) ?? { type: f.m.type, action: f.action, where, n: 0, truncated: false };
      g.n++;
      if (RANK[f.action as Found['action']] > RANK[g.action as Found['action']]) g.action = f.action;
      g.truncated ||= f.m.truncated === true;
      groups.set(key, g);
    }
    return [...groups.values()].map((g) => ({
      code: `pii.${g.type}`,
      message: `${g.n === 1 ? 'a' : g.n} ${DESCRIPTION[g.type]}${g.n === 1 ? '' : 's'}${g.truncated ? ' (no END line within the cap)' : ''} (${g.action})`,
      where: g.where,
    }));
  }

  checkRequest(input: { route: string; protocol: GuardContext['protocol']; body: Record<string, unknown>; texts(): TextPart[] }): GuardVerdict {
    const slots: Slot[] = input.protocol === 'openai' ? input.texts() : jsonStrings(input.body);
    return this.evaluate('request', slots);
  }

  checkResponse(input: { route: string; protocol: GuardContext['protocol']; body: unknown; texts(): TextPart[] }): GuardVerdict {
    const slots: Slot[] = input.protocol === 'openai' ? input.texts() : jsonStrings(input.body);
    return this.evaluate('response', slots);
  }

  openStream(): StreamTextFilter {
    const scanner = this.scanners.response;
    const acts = this.actions.response;
    const streams = new Map<string, PiiStream>();
    const replace = (m: PiiMatch, v: string): string | null => (acts[m.type] === 'flag' ? null : this.replacement(m, v));
    const step = (channel: string, out: ReturnType<PiiStream['push']>): StreamStep => {
      if (out.overflow) {
        return {
          release: '',
          verdict: {
            action: 'block',
            status: 403,
            score: 1,
            reasons: [{ code: 'pii.stream-hold-back', message: `more than ${DEFAULT_MAX_HOLD_BACK} characters held back on one channel`, where: channel }],
          },
        };
      }
      if (out.matches.length === 0) return { release: out.text };
      const found: Found[] = out.matches.flatMap((m) => (acts[m.type] === 'off' ? [] : [{ m, action: acts[m.type] as Found['action'] }]));
      let top: Found['action'] = 'flag';
      for (const f of found) if (RANK[f.action] > RANK[top]) top = f.action;
      const verdict: GuardVerdict = {
        action: top,
        score: Math.max(...found.map((f) => f.m.confidence)),
        reasons: this.reasons(found.map((f) => ({ f, where: channel }))),
      };
      if (top === 'block') verdict.status = 403;
      return { release: out.text, verdict };
    };
    const get = (channel: string): PiiStream => {
      let st = streams.get(channel);
      if (!st) {
        st = scanner.stream(replace, DEFAULT_MAX_HOLD_BACK);
        streams.set(channel, st);
      }
      return st;
    };
    return {
      maxHoldBack: DEFAULT_MAX_HOLD_BACK,
      push: (channel, text) => step(channel, get(channel).push(text)),
      end: (channel) => {
        const out = step(channel, get(channel).end());
        streams.delete(channel);
        return out;
      },
    };
  }
}

export const piiGuardFactory: GuardFactory<PiiOptions> = {
  kind: 'pii',
  description: 'PII and secrets (cards, IBAN, national ids, e-mail, phone, IP, API keys, private keys, JWTs) in requests, responses and streams: redact, block or flag',
  options: piiOptions,
  create: (name, options) => new PiiGuard(name, options),
};
