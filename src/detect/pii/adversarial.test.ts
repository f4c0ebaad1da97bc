import { cpuUsage } from 'node:process';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../random.js';
import { PiiScanner } from './index.js';

// Inputs built to hurt pattern matchers: long runs of the characters patterns are made of, repeated
// prefixes and anchors, near-misses that force maximal reads.
const ATOMS = [
  '1 ', '1-', '1.', '9', 'a@', '@a.', 'a.', '-----BEGIN ', '-----BEGIN PRIVATE KEY-----', 'eyJ', 'eyJ.', 'sk-', 'sk-a1B', 'AKIA',
  'api_key=', 'token:', 'x', 'A', '/', '+', '::', 'a:', '1.1.1.1.', '+1 (', '(1', 'DE89 ', 'AB 12 ', 'ghp_', 'SG.', 'AccountKey=',
  'glpat-x.', '=', ':',
];

function cpuMs(f: () => void): number {
  const t = cpuUsage();
  f();
  const d = cpuUsage(t);
  return (d.user + d.system) / 1000;
}

describe('scanning cost stays linear on hostile input', () => {
  const scanner = new PiiScanner({ ipPrivate: true });
  for (const atom of ATOMS) {
    it(`repeated ${JSON.stringify(atom)}`, () => {
      const small = atom.repeat(Math.ceil(5_000 / atom.length));
      const big = atom.repeat(Math.ceil(50_000 / atom.length));
      scanner.scan(small);
      // CPU time, best of two, so a busy machine does not decide the outcome; quadratic behaviour
      // would make the 10x input cost ~100x.
      const ts = Math.min(cpuMs(() => scanner.scan(small)), cpuMs(() => scanner.scan(small)));
      const tb = Math.min(cpuMs(() => scanner.scan(big)), cpuMs(() => scanner.scan(big)));
      expect(tb / Math.max(ts, 1)).toBeLessThan(35);
    });
  }

  it('a megabyte of mixed hostile atoms scans without throwing, also as a stream', () => {
    const r = mulberry32(99);
    let s = '';
    while (s.length < 1_000_000) s += ATOMS[Math.floor(r() * ATOMS.length)];
    const rep = scanner.scan(s);
    expect(Array.isArray(rep.matches)).toBe(true);
    const st = scanner.stream((m) => `[${m.type}]`);
    for (let i = 0; i < 50_000; i += 20) st.push(s.slice(i, i + 20));
    st.end();
  });
});

describe('fuzz: random text never throws and streams like the whole text', () => {
  it('random bytes-as-text', () => {
    const r = mulberry32(4242);
    const scanner = new PiiScanner();
    for (let n = 0; n < 300; n++) {
      const len = Math.floor(r() * 400);
      let s = '';
      for (let i = 0; i < len; i++) s += String.fromCharCode(r() < 0.8 ? 32 + Math.floor(r() * 95) : Math.floor(r() * 0xffff));
      const whole = scanner.redact(s, (m) => `<${m.type}>`).text;
      const st = scanner.stream((m) => `<${m.type}>`);
      let out = '';
      for (let i = 0; i < s.length; ) {
        const k = 1 + Math.floor(r() * 25);
        out += st.push(s.slice(i, i + k)).text;
        i += k;
      }
      expect(out + st.end().text).toBe(whole);
    }
  });
});
