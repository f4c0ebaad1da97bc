// Generators of valid (checksum-correct) and invalid sample values for every detector type, from a
// seeded random source. Used by the tests and bench/pii.mjs; never by the product.
import { cfCheckChar, cnRidCheck, cpfCheckDigits, dniLetter, luhnCheckDigit, mod97, nirKey, verhoeffCheckDigit } from './checksums.js';
import type { PiiType } from './types.js';

export type Rand = () => number;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function pick(r: Rand, s: string): string {
  return s[Math.floor(r() * s.length)]!;
}
function str(r: Rand, alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += pick(r, alphabet);
  return s;
}
function digits(r: Rand, n: number): string {
  return str(r, '0123456789', n);
}
function int(r: Rand, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}
/** Random key body that has upper, lower and digit characters. */
function keyBody(r: Rand, n: number, alphabet = ALNUM): string {
  for (;;) {
    const s = str(r, alphabet, n);
    if (/[A-Z]/.test(s) && /[a-z]/.test(s) && /\d/.test(s)) return s;
  }
}
/** Changes one digit so a check digit no longer matches. */
export function breakDigit(s: string, index: number): string {
  const c = s[index]!;
  const d = (Number(c) + 1 + (index % 8)) % 10;
  return s.slice(0, index) + String(d === Number(c) ? (d + 1) % 10 : d) + s.slice(index + 1);
}

export function card(r: Rand, kind: 'visa' | 'mc' | 'amex' = 'visa'): string {
  const body = kind === 'visa' ? '4' + digits(r, 14) : kind === 'mc' ? String(int(r, 51, 55)) + digits(r, 13) : (r() < 0.5 ? '34' : '37') + digits(r, 12);
  return body + luhnCheckDigit(body);
}

export function iban(r: Rand, country = 'DE', length = 22): string {
  const bban = digits(r, length - 4);
  const num = (bban + country + '00').replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  const check = String(98 - mod97(num)).padStart(2, '0');
  return country + check + bban;
}

export function ssn(r: Rand): string {
  let a = int(r, 1, 899);
  if (a === 666) a = 667;
  return `${String(a).padStart(3, '0')}-${String(int(r, 1, 99)).padStart(2, '0')}-${String(int(r, 1, 9999)).padStart(4, '0')}`;
}

export function nino(r: Rand): string {
  for (;;) {
    const p = pick(r, 'ABCEGHJKLMPRSTWXYZ') + pick(r, 'ABCEGHJKLMPRSTWXYZ');
    if (!['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ'].includes(p)) return `${p}${digits(r, 6)}${pick(r, 'ABCD')}`;
  }
}

export function dni(r: Rand): string {
  const n = digits(r, 8);
  return n + dniLetter(n);
}

export function nie(r: Rand): string {
  const p = int(r, 0, 2);
  const n = digits(r, 7);
  return 'XYZ'[p]! + n + dniLetter(String(p) + n);
}

export function nir(r: Rand): string {
  const first = `${int(r, 1, 2)}${digits(r, 2)}${String(int(r, 1, 12)).padStart(2, '0')}${String(int(r, 1, 95)).padStart(2, '0')}${digits(r, 6)}`;
  return first + String(nirKey(first)).padStart(2, '0');
}

export function codiceFiscale(r: Rand): string {
  const first = `${str(r, UPPER, 6)}${digits(r, 2)}${pick(r, 'ABCDEHLMPRST')}${String(int(r, 1, 71)).padStart(2, '0')}${pick(r, UPPER)}${digits(r, 3)}`;
  return first + cfCheckChar(first);
}

export function bsn(r: Rand): string {
  for (;;) {
    const d = digits(r, 8);
    let s = 0;
    for (let i = 0; i < 8; i++) s += Number(d[i]) * (9 - i);
    const last = s % 11;
    if (last <= 9) return d + String(last);
  }
}

export function personnummer(r: Rand): string {
  const yy = digits(r, 2);
  const mm = String(int(r, 1, 12)).padStart(2, '0');
  const dd = String(int(r, 1, 28)).padStart(2, '0');
  const nnn = digits(r, 3);
  const base = yy + mm + dd + nnn;
  return `${yy}${mm}${dd}-${nnn}${luhnCheckDigit(base)}`;
}

export function aadhaar(r: Rand): string {
  const base = String(int(r, 2, 9)) + digits(r, 10);
  const d = base + verhoeffCheckDigit(base);
  return `${d.slice(0, 4)} ${d.slice(4, 8)} ${d.slice(8)}`;
}

export function cnRid(r: Rand): string {
  const first = `${int(r, 1, 6)}${digits(r, 5)}${int(r, 1950, 2010)}${String(int(r, 1, 12)).padStart(2, '0')}${String(int(r, 1, 28)).padStart(2, '0')}${digits(r, 3)}`;
  return first + cnRidCheck(first);
}

export function cpf(r: Rand): string {
  const n = digits(r, 9);
  const d = n + cpfCheckDigits(n);
  return `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6, 9)}-${d.slice(9)}`;
}

export function email(r: Rand): string {
  return `${str(r, 'abcdefghijklmnopqrstuvwxyz', int(r, 3, 10))}.${str(r, 'abcdefghijklmnopqrstuvwxyz', 4)}@${str(r, 'abcdefghijklmnopqrstuvwxyz', 6)}.com`;
}

export function phone(r: Rand): string {
  return `+44 20 ${digits(r, 4)} ${digits(r, 4)}`;
}

export function ipv4(r: Rand): string {
  return `${int(r, 11, 99)}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`;
}

export function ipv6(r: Rand): string {
  return `2a01:${str(r, '0123456789abcdef', 4)}:${str(r, '0123456789abcdef', 3)}::${str(r, '0123456789abcdef', 2)}`;
}

export function jwt(r: Rand): string {
  const h = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const p = Buffer.from(JSON.stringify({ sub: str(r, ALNUM, 8), iat: 1700000000 })).toString('base64url');
  return `${h}.${p}.${str(r, ALNUM + '-_', 43)}`;
}

export function privateKey(r: Rand, label = 'PRIVATE KEY'): string {
  const lines: string[] = [];
  for (let i = 0; i < 6; i++) lines.push(str(r, ALNUM + '+/', 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----`;
}

/** A valid sample of each type (secrets with random bodies). */
export const SAMPLERS: Record<PiiType, (r: Rand) => string> = {
  'private-key': (r) => privateKey(r),
  jwt,
  'openai-key': (r) => `sk-proj-${keyBody(r, 48, ALNUM + '-_')}`,
  'anthropic-key': (r) => `sk-ant-api03-${keyBody(r, 93, ALNUM + '-_')}AA`,
  'aws-access-key-id': (r) => `AKIA${str(r, UPPER + '234567', 16)}`,
  'aws-secret-key': (r) => `aws_secret_access_key = ${keyBody(r, 40, ALNUM + '+/')}`,
  'github-token': (r) => `ghp_${keyBody(r, 36)}`,
  'gitlab-token': (r) => `glpat-${keyBody(r, 20)}`,
  'slack-token': (r) => `xoxb-${digits(r, 12)}-${digits(r, 13)}-${keyBody(r, 24)}`,
  'stripe-key': (r) => `sk_live_${keyBody(r, 24)}`,
  'google-api-key': (r) => `AIza${keyBody(r, 35, ALNUM + '-_')}`,
  'huggingface-token': (r) => `hf_${keyBody(r, 34)}`,
  'npm-token': (r) => `npm_${keyBody(r, 36)}`,
  'twilio-key': (r) => `SK${str(r, '0123456789abcdef', 32)}`,
  'sendgrid-key': (r) => `SG.${keyBody(r, 22, ALNUM + '-_')}.${keyBody(r, 43, ALNUM + '-_')}`,
  'azure-storage-key': (r) => `DefaultEndpointsProtocol=https;AccountName=acct${digits(r, 4)};AccountKey=${keyBody(r, 86, ALNUM + '+/')}==;EndpointSuffix=core.windows.net`,
  'generic-secret': (r) => `api_key="${keyBody(r, 32)}"`,
  card: (r) => card(r),
  iban: (r) => iban(r),
  'us-ssn': ssn,
  'uk-nino': nino,
  'es-dni': dni,
  'fr-nir': nir,
  'it-cf': codiceFiscale,
  'nl-bsn': (r) => `BSN ${bsn(r)}`,
  'se-pnr': personnummer,
  'in-aadhaar': aadhaar,
  'cn-rid': cnRid,
  'br-cpf': cpf,
  email,
  phone,
  ip: ipv4,
};

export { int as randomInt, str as randomString };
