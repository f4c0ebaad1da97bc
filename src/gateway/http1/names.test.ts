import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../detect/random.js';
import { headerName } from './names.js';

const TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

describe('headerName', () => {
  it('is the lower-cased slice for seeded token names, known names in any case included', () => {
    const rnd = mulberry32(2911);
    const known = ['Host', 'content-length', 'Content-Type', 'AUTHORIZATION', 'x-Forwarded-For', 'Keep-Alive', 'TRANSFER-ENCODING', 'date', 'X-Api-Key'];
    let hits = 0;
    for (let i = 0; i < 20000; i++) {
      let name: string;
      const r = rnd();
      if (r < 0.4) {
        // A known name with random letter case and sometimes one character changed to another token character.
        name = [...known[Math.floor(rnd() * known.length)]!].map((c) => (rnd() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('');
        if (rnd() < 0.3) {
          const at = Math.floor(rnd() * name.length);
          name = name.slice(0, at) + TCHAR[Math.floor(rnd() * TCHAR.length)]! + name.slice(at + 1);
        }
      } else {
        name = Array.from({ length: 1 + Math.floor(rnd() * 18) }, () => TCHAR[Math.floor(rnd() * TCHAR.length)]!).join('');
      }
      const line = `${'x'.repeat(i % 5)}${name}: value`;
      const got = headerName(line, i % 5, i % 5 + name.length);
      expect(got).toBe(name.toLowerCase());
      if (got === name.toLowerCase() && known.some((k) => k.toLowerCase() === got)) hits++;
    }
    expect(hits).toBeGreaterThan(3000);
  });

  it('tells apart names that differ only where OR 0x20 could confuse them', () => {
    expect(headerName('hos^', 0, 4)).toBe('hos^');
    expect(headerName('date~', 0, 4)).toBe('date');
    expect(headerName('keep_alive', 0, 10)).toBe('keep_alive');
    expect(headerName('KEEP-ALIVE', 0, 10)).toBe('keep-alive');
  });
});
