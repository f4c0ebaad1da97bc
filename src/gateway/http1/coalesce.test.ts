import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pendingThisTurn, writeThisTurn } from './coalesce.js';

/** A TCP server that collects what each connection sends; resolves the client sockets once accepted. */
async function pairs(n: number): Promise<{ server: Server; clients: Socket[]; received: Promise<string>[] }> {
  const received: Promise<string>[] = [];
  const accepted: Promise<void>[] = [];
  const server = createServer();
  let resolveAccept: (() => void) | undefined;
  server.on('connection', (s: Socket) => {
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    received.push(new Promise((res) => s.on('close', () => res(text))));
    resolveAccept?.();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const clients: Socket[] = [];
  for (let i = 0; i < n; i++) {
    accepted.push(new Promise((res) => (resolveAccept = res)));
    const c = connect(port, '127.0.0.1');
    await once(c, 'connect');
    await accepted[i];
    clients.push(c);
  }
  return { server, clients, received };
}

const nextTurn = (): Promise<void> => new Promise((res) => setImmediate(res));

let open: Server[] = [];
afterEach(() => {
  for (const s of open) s.close();
  open = [];
});

describe('writeThisTurn', () => {
  it('holds the writes of one turn until its end, then sends each socket its bytes in order', async () => {
    const { server, clients, received } = await pairs(2);
    open.push(server);
    const [a, b] = clients as [Socket, Socket];
    const done: string[] = [];
    expect(writeThisTurn(a, 'a1-', () => done.push('a1'))).toBe(true);
    writeThisTurn(b, Buffer.from('b1-'), () => done.push('b1'));
    writeThisTurn(a, 'a2', () => done.push('a2'));
    // Nothing has left yet: both sockets are corked with their bytes buffered, one release pending.
    expect(pendingThisTurn()).toBe(2);
    expect(a.writableCorked).toBe(1);
    expect(a.writableLength).toBe(5);
    expect(b.writableLength).toBe(3);
    expect(done).toEqual([]);
    await nextTurn();
    expect(pendingThisTurn()).toBe(0);
    expect(a.writableCorked).toBe(0);
    expect(b.writableCorked).toBe(0);
    a.end();
    b.end();
    expect(await received[0]).toBe('a1-a2');
    expect(await received[1]).toBe('b1-');
    expect(done.sort()).toEqual(['a1', 'a2', 'b1']);
  });

  it('sends a write made from a released write\'s callback in the following turn', async () => {
    const { server, clients, received } = await pairs(1);
    open.push(server);
    const a = clients[0]!;
    const second = new Promise<void>((res) => {
      writeThisTurn(a, 'first,', () => {
        writeThisTurn(a, 'second', () => res());
        expect(pendingThisTurn()).toBe(1);
      });
    });
    await second;
    a.end();
    expect(await received[0]).toBe('first,second');
  });

  it('end() sends what the turn buffered at once, and the release later is harmless', async () => {
    const { server, clients, received } = await pairs(1);
    open.push(server);
    const a = clients[0]!;
    writeThisTurn(a, 'body');
    a.end('-last');
    expect(a.writableCorked).toBe(0);
    await nextTurn();
    expect(await received[0]).toBe('body-last');
  });

  it('a socket destroyed before the turn ends fails its own writes; the other sockets still get theirs', async () => {
    const { server, clients, received } = await pairs(2);
    open.push(server);
    const [a, b] = clients as [Socket, Socket];
    const errors: (Error | null | undefined)[] = [];
    writeThisTurn(a, 'lost', (err) => errors.push(err));
    writeThisTurn(b, 'kept', (err) => errors.push(err));
    a.destroy();
    await nextTurn();
    b.end();
    expect(await received[0]).toBe('');
    expect(await received[1]).toBe('kept');
    expect(errors).toHaveLength(2);
    expect(errors.filter((e) => e instanceof Error)).toHaveLength(1);
  });

  it('leaves a socket its owner corked to the owner, and reports backpressure as write() does', async () => {
    const { server, clients, received } = await pairs(1);
    open.push(server);
    const a = clients[0]!;
    a.cork();
    writeThisTurn(a, 'owner');
    expect(pendingThisTurn()).toBe(0);
    await nextTurn();
    expect(a.writableCorked).toBe(1);
    expect(a.writableLength).toBe(5);
    a.uncork();
    // More than the high-water mark in one turn: false, and 'drain' once the turn's bytes are out.
    const big = Buffer.alloc(a.writableHighWaterMark + 1, 0x41);
    expect(writeThisTurn(a, big)).toBe(false);
    await once(a, 'drain');
    a.end();
    const text = await received[0]!;
    expect(text.length).toBe(5 + big.length);
    expect(text.startsWith('ownerAAAA')).toBe(true);
  });
});
