// A real JWKS endpoint for tests: generated signing keys served over HTTP or HTTPS on loopback,
// with the served key set swappable to simulate an issuer rotating its keys.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';

export interface TestSigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeSigningKey(kid: string, alg = 'RS256'): Promise<TestSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export function signToken(key: TestSigningKey, payload: JWTPayload, opts: { expiresIn?: string | number; notBefore?: string | number } = {}): Promise<string> {
  const jwt = new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid }).setIssuedAt();
  if (opts.expiresIn !== undefined) jwt.setExpirationTime(opts.expiresIn);
  if (opts.notBefore !== undefined) jwt.setNotBefore(opts.notBefore);
  return jwt.sign(key.privateKey);
}

export interface JwksServer {
  url: string;
  /** Number of JWKS requests served. */
  fetches(): number;
  setKeys(keys: TestSigningKey[]): void;
  close(): Promise<void>;
}

export async function startJwksServer(keys: TestSigningKey[], tls?: { cert: string; key: string }): Promise<JwksServer> {
  let current = keys;
  let count = 0;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    count++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: current.map((k) => k.publicJwk) }));
  };
  const server: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/jwks.json`,
    fetches: () => count,
    setKeys: (k) => {
      current = k;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
