// Write coalescing per event-loop turn, for the HTTP/1.1 front and the upstream client.
//
// Under load one turn of the event loop handles many sockets: libuv's poll phase runs the callbacks
// of every socket that became readable, and each proxied request writes to two sockets (the request
// to its upstream, the response to its client). Written at once, each of those writes wakes its
// reader (the upstream server, the client) on the other CPU, which goes back to sleep before the
// next write arrives; in a VM every such wake-up is an inter-processor interrupt, and the gateway
// spent about 7 % of its request thread waking its peers one write at a time (bench/README.md,
// "Fifth round"). Corking the socket and releasing it when the turn's I/O callbacks are done
// (setImmediate runs after the poll phase, before the loop waits again) sends the turn's writes back
// to back, so a peer woken by the first finds the rest already there.
//
// Nothing waits longer than the rest of the current turn: with no other work in the turn the write
// goes out as soon as its own callback returns, and the loop never blocks while an immediate is
// pending. Order is kept, since a corked socket buffers every write in order; `end()` uncorks at
// once; a socket destroyed before the turn ends drops what was buffered (as it would drop unsent
// bytes) and its release is a no-op.
import type { Socket } from 'node:net';

let corked: Socket[] = [];
let scheduled = false;

function release(): void {
  scheduled = false;
  const list = corked;
  corked = [];
  // Writes made from the callbacks of these writes land in the next turn's list.
  for (let i = 0; i < list.length; i++) list[i]!.uncork();
}

/**
 * Writes `bytes` to `socket` at the end of the current event-loop turn, together with the turn's
 * other writes. Returns what `socket.write` returns (false: wait for 'drain').
 */
export function writeThisTurn(socket: Socket, bytes: Uint8Array | string, cb?: (err?: Error | null) => void): boolean {
  if (socket.writableCorked === 0) {
    socket.cork();
    corked.push(socket);
    if (!scheduled) {
      scheduled = true;
      setImmediate(release);
    }
  }
  return socket.write(bytes, cb);
}

/** Sockets corked and waiting for the end of the turn (for tests). */
export function pendingThisTurn(): number {
  return corked.length;
}
