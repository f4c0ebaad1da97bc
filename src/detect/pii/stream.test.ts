import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../random.js';
import { PEM_CAP, PII_TYPES, PiiScanner, type PiiMatch, type StreamReplacer } from './index.js';
import { SAMPLERS, randomInt } from './samples.js';

const label: StreamReplacer = (m) => `[REDACTED:${m.type}]`;

// Pieces that sit near pattern boundaries: prefixes, separators, digits, partial markers.
const NOISE = [
  'the ', 'a ', 'key ', 'phone: ', 'call ', 'SSN ', 'BSN ', 'api_key=', 'token: ', 'AKIA', 'sk-', 'eyJ', 'ghp_', '-----BEGIN ',
  '-----END PRIVATE KEY-----', '@', '.', ', ', '-', ' ', '\n', '12', '4111', '(', ')', '+44 ', '::', 'DE89 ', 'X', '=', '"',
  'é', '😀', 'abc.def', '192.168.', '8.8.', '2001:db8:', 'secret', 'aws_secret_access_key=', 'Bearer ',
];

function randomText(r: () => number): string {
  let s = '';
  const n = randomInt(r, 5, 40);
  for (let i = 0; i < n; i++) {
    const x = r();
    if (x < 0.2) {
      const t = PII_TYPES[randomInt(r, 0, PII_TYPES.length - 1)]!;
      s += SAMPLERS[t](r);
    } else if (x < 0.7) s += NOISE[randomInt(r, 0, NOISE.length - 1)];
    else s += String(randomInt(r, 0, 99999));
  }
  return s;
}

function streamed(scanner: PiiScanner, text: string, r: () => number, maxPiece: number) {
  const st = scanner.stream(label);
  let out = '';
  const matches: PiiMatch[] = [];
  let i = 0;
  let maxHeld = 0;
  while (i < text.length) {
    const n = randomInt(r, 1, maxPiece);
    const o = st.push(text.slice(i, i + n));
    out += o.text;
    matches.push(...o.matches);
    maxHeld = Math.max(maxHeld, st.held);
    i += n;
  }
  const e = st.end();
  return { out: out + e.text, matches: [...matches, ...e.matches], maxHeld };
}

describe('stream scanner', () => {
  it('releases exactly the whole-text redaction for random texts and random split points', () => {
    const r = mulberry32(20261128);
    const scanner = new PiiScanner({ ipPrivate: r() < 2 });
    for (let round = 0; round < 400; round++) {
      const text = randomText(r);
      const whole = scanner.redact(text, label);
      const s = streamed(scanner, text, r, round % 2 ? 3 : 40);
      expect(s.out, `round ${round}`).toBe(whole.text);
      expect(s.matches).toEqual(whole.matches);
    }
  });

  it('finds a secret split across two deltas and holds back no more than it needs', () => {
    const scanner = new PiiScanner();
    const key = `ghp_${'aB3'.repeat(12)}`;
    const st = scanner.stream(label);
    const a = st.push(`Your token is ${key.slice(0, 10)}`);
    expect(a.text).toBe('Your token is ');
    const b = st.push(`${key.slice(10)} and more text here`);
    expect(b.text).toBe('[REDACTED:github-token] and more text ');
    expect(st.end().text).toBe('here');
  });

  it('releases plain prose at once except the last word', () => {
    const st = new PiiScanner().stream(label);
    expect(st.push('Hello there, how are you today').text).toBe('Hello there, how are you ');
  });

  it('fails closed when a PEM block never ends within the cap', () => {
    const st = new PiiScanner().stream(label);
    let out = st.push('x -----BEGIN PRIVATE KEY-----\n').text;
    for (let i = 0; i < PEM_CAP / 64 + 2; i++) out += st.push(`${'A'.repeat(63)}\n`).text;
    out += st.end().text;
    expect(out.startsWith('x [REDACTED:private-key]')).toBe(true);
    expect(out).not.toContain('-----BEGIN');
    expect(out.length).toBeLessThan(200);
  });

  it('reports overflow when held text exceeds maxHoldBack', () => {
    const st = new PiiScanner().stream(label, 100);
    const o = st.push(`-----BEGIN RSA PRIVATE KEY-----\n${'Q'.repeat(200)}`);
    expect(o.overflow).toBe(true);
    expect(o.text).toBe('');
    expect(st.push('more').text).toBe('');
  });
});
