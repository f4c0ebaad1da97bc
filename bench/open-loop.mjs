// The open-loop schedule shared by the load generators (bench/gateway-load.mjs,
// bench/guards-load.mjs): `send(due)` is started for request i at t0 + i/rate, whatever the
// target's state, and each request is timed by its sender from `due` (no coordinated omission).

/** Starts `rate × seconds` requests at `rate`/s; resolves when every one has finished. */
export async function openLoop(rate, seconds, send) {
  const t0 = performance.now();
  const total = Math.round(rate * seconds);
  let sent = 0;
  let inflight = 0;
  const start = (due) => {
    inflight++;
    void Promise.resolve(send(due)).finally(() => inflight--);
  };
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - t0) / 1000) * rate));
      while (sent < due) start(t0 + (sent++ / rate) * 1000);
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  while (inflight > 0) await new Promise((r) => setTimeout(r, 5));
  return { sent, elapsed: (performance.now() - t0) / 1000 };
}
