import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../random.js';
import { cnRidCheck, cpfValid, ibanValid, luhnValid, verhoeffValid, bsnValid, cfCheckChar, dniLetter } from './checksums.js';
import { PII_TYPES, PiiScanner, type PiiType } from './index.js';
import * as S from './samples.js';

const scanner = new PiiScanner({ ipPrivate: false });
const types = (text: string, sc = scanner): string[] => sc.scan(text).matches.map((m) => m.type);
const spans = (text: string, sc = scanner): string[] => sc.scan(text).matches.map((m) => `${m.type}:${text.slice(m.start, m.end)}`);

describe('checksums against published examples', () => {
  it('validates the reference values', () => {
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('GB82WEST12345698765433')).toBe(false);
    expect(verhoeffValid('2363')).toBe(true);
    expect(verhoeffValid('2364')).toBe(false);
    expect(cnRidCheck('11010519491231002')).toBe('X');
    expect(cpfValid('52998224725')).toBe(true);
    expect(cpfValid('11111111111')).toBe(false);
    expect(bsnValid('111222333')).toBe(true);
    expect(cfCheckChar('RSSMRA85T10A562')).toBe('S');
    expect(dniLetter('12345678')).toBe('Z');
    expect(luhnValid('4111111111111111')).toBe(true);
  });
});

describe('every type: generated valid samples are found with their exact span', () => {
  const r = mulberry32(7);
  for (const t of PII_TYPES) {
    it(t, () => {
      for (let k = 0; k < 20; k++) {
        const v = S.SAMPLERS[t](r);
        const text = `Hello, here it is: ${v} — thanks!`;
        const hit = scanner.scan(text).matches.find((m) => m.type === t);
        expect(hit, `${t} ${k}`).toBeDefined();
        // The match lies inside the sample (samples with a key name report the value only).
        expect(v.includes(text.slice(hit!.start, hit!.end))).toBe(true);
      }
    });
  }
});

describe('invalid samples (bad check digits, bad ranges) are not reported', () => {
  const r = mulberry32(11);
  const bad: [PiiType, () => string][] = [
    ['card', () => { const c = S.card(r); return S.breakDigit(c, 15); }],
    ['card', () => { const b = '9' + '123456789012345'.slice(0, 14); return b + ((10 - 0) % 10); }],
    ['iban', () => S.breakDigit(S.iban(r), 10)],
    ['us-ssn', () => '000-12-3456'],
    ['us-ssn', () => '666-12-3456'],
    ['us-ssn', () => '912-12-3456'],
    ['us-ssn', () => '123-00-4567'],
    ['uk-nino', () => 'DA123456A'],
    ['uk-nino', () => 'GB123456A'],
    ['uk-nino', () => 'AB123456E'],
    ['es-dni', () => { const d = S.dni(r); return d.slice(0, 8) + (d[8] === 'A' ? 'B' : 'A'); }],
    ['fr-nir', () => { const n = S.nir(r); return n.slice(0, 13) + String((Number(n.slice(13)) % 97) + 1).padStart(2, '0'); }],
    ['it-cf', () => { const c = S.codiceFiscale(r); return c.slice(0, 15) + (c[15] === 'A' ? 'B' : 'A'); }],
    ['nl-bsn', () => `BSN ${S.breakDigit(S.bsn(r), 3)}`],
    ['nl-bsn', () => `order ${S.bsn(r)}`],
    ['se-pnr', () => S.breakDigit(S.personnummer(r), 12)],
    ['in-aadhaar', () => S.breakDigit(S.aadhaar(r), 6)],
    ['in-aadhaar', () => '1234 5678 9012'],
    ['cn-rid', () => { const c = S.cnRid(r); return c.slice(0, 17) + (c[17] === '0' ? '1' : '0'); }],
    ['br-cpf', () => S.breakDigit(S.cpf(r), 13)],
    ['br-cpf', () => '111.111.111-11'],
    ['email', () => 'user@localhost'],
    ['email', () => 'a@b.c1'],
    ['phone', () => 'order 12345678901'],
    ['ip', () => '10.0.0.1 and 192.168.1.20 and 127.0.0.1'],
    ['ip', () => 'version 1.2.3.4.5 and 256.1.1.1'],
    ['ip', () => 'std::a::b'],
    ['openai-key', () => 'sk-this-is-a-very-long-slug-name-for-docs'],
    ['openai-key', () => 'mytask-Abcdefghijk1234567890XYZ'],
    ['aws-secret-key', () => `value ${'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'}`],
    ['generic-secret', () => 'password=aaaaaaaaaaaaaaaaaaaa1'],
    ['generic-secret', () => 'api_key=your_api_key_here'],
    ['generic-secret', () => 'max_tokens: 4096'],
    ['jwt', () => 'eyJub3QganNvbg.eyJzdWIiOiIxIn0.sig'],
    ['jwt', () => 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0'],
    ['private-key', () => '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----'],
    ['github-token', () => `ghp_${'a'.repeat(35)}`],
    ['aws-access-key-id', () => 'XAKIAIOSFODNN7EXAMPLE'],
  ];
  for (const [t, gen] of bad) {
    it(`${t}: ${gen().slice(0, 40)}`, () => {
      for (let k = 0; k < 5; k++) {
        const text = `Reference: ${gen()} end`;
        expect(types(text)).not.toContain(t);
      }
    });
  }
});

describe('detector details', () => {
  it('finds cards in grouped layouts and rejects mixed separators', () => {
    expect(spans('pay 4111 1111 1111 1111 now')).toEqual(['card:4111 1111 1111 1111']);
    expect(spans('pay 4111-1111-1111-1111 now')).toEqual(['card:4111-1111-1111-1111']);
    expect(spans('amex 3782 822463 10005.')).toEqual(['card:3782 822463 10005']);
    expect(types('pay 4111 1111-1111 1111 now')).toEqual([]);
    expect(types('pi is 3.4111111111111111')).toEqual([]);
  });

  it('phones: international, North American, and national only with a keyword', () => {
    expect(spans('reach me on +44 20 7946 0958.')).toEqual(['phone:+44 20 7946 0958']);
    expect(spans('office (415) 555-0134 today')).toEqual(['phone:(415) 555-0134']);
    expect(spans('tel: 020 7946 0958')).toEqual(['phone:020 7946 0958']);
    expect(types('invoice 020 7946 0958')).toEqual([]);
  });

  it('IP: public v4 and v6; private ones only when asked', () => {
    expect(spans('from 8.8.8.8, then 2001:4860:4860::8888.')).toEqual(['ip:8.8.8.8', 'ip:2001:4860:4860::8888']);
    const all = new PiiScanner({ ipPrivate: true });
    expect(spans('hosts 10.0.0.1 and fe80::1:2:3', all)).toEqual(['ip:10.0.0.1', 'ip:fe80::1:2:3']);
    expect(types('2001:4860:4860::8888', new PiiScanner({ ipv6: false }))).toEqual([]);
  });

  it('AWS secret key needs its context', () => {
    const key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    expect(spans(`aws_secret_access_key = ${key}`)).toEqual([`aws-secret-key:${key}`]);
    expect(spans(`AKIAIOSFODNN7EXAMPLE ${key}`)).toEqual(['aws-access-key-id:AKIAIOSFODNN7EXAMPLE', `aws-secret-key:${key}`]);
  });

  it('generic assignments report the value, also after Bearer', () => {
    expect(spans('export API_KEY="Zx81kQ2mPq7LrT5vWn3"')).toEqual(['generic-secret:Zx81kQ2mPq7LrT5vWn3']);
    expect(spans('Authorization: Bearer Zx81kQ2mPq7LrT5vWn3aa')).toEqual(['generic-secret:Zx81kQ2mPq7LrT5vWn3aa']);
  });

  it('every PEM private key header variant', () => {
    for (const l of ['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'DSA PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'OPENSSH PRIVATE KEY', 'PGP PRIVATE KEY BLOCK']) {
      const k = S.privateKey(mulberry32(3), l);
      expect(spans(`key:\n${k}\nbye`)).toEqual([`private-key:${k}`]);
    }
  });

  it('resolves overlaps by priority and reports what lost', () => {
    const jwt = S.jwt(mulberry32(5));
    const rep = scanner.scan(`token=${jwt}`);
    expect(rep.matches.map((m) => m.type)).toEqual(['jwt']);
    expect(rep.suppressed.map((m) => m.type)).toContain('generic-secret');
    const r2 = scanner.scan('call 4222222222222');
    expect(r2.matches.map((m) => m.type)).toEqual(['card']);
    expect(r2.suppressed.map((m) => m.type)).toEqual(['phone']);
  });

  it('min confidence and allow-lists filter before overlap resolution', () => {
    const sc = new PiiScanner({ minConfidence: { 'in-aadhaar': 0.6 }, allow: (t, v) => t === 'email' && v.endsWith('@example.com') });
    expect(types('mail bob@example.com or eve@corp.io', sc)).toEqual(['email']);
    const a = S.aadhaar(mulberry32(9)).replace(/ /g, '');
    expect(types(`n ${a}`, sc)).not.toContain('in-aadhaar');
    expect(types(`aadhaar ${a}`, sc)).toContain('in-aadhaar');
  });

  it('types that are off are not looked for', () => {
    const sc = new PiiScanner({ types: ['email'] });
    expect(sc.detectors.map((d) => d.name)).toEqual(['email']);
    expect(types('4111111111111111 bob@corp.io', sc)).toEqual(['email']);
  });
});
