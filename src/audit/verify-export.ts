// Verifies an exported JSON Lines file (`rampart audit verify --file`) without the store it came
// from: the lines are loaded, as they are, into a temporary SQLite database (constant memory,
// removed afterwards) and checked by the same verifier. A filtered export is verified from its
// first line on, that line's link to earlier entries taken on trust.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FileNotFoundError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { openSqliteStore } from '../store/sqlite.js';
import { canonicalJson } from './canonical-json.js';
import { verifyAudit, type VerifyOptions, type VerifyResult } from './verify.js';

export interface ExportVerifyResult extends VerifyResult {
  /** seq of the first line (1 for a complete export). */
  firstSeq: number;
}

interface Line {
  seq: number;
  time: number;
  prevHash: string;
  hash: string;
  body: string;
}

function parseLine(text: string): Line | null {
  try {
    const x = JSON.parse(text) as Record<string, unknown>;
    if (!Number.isSafeInteger(x.seq) || !Number.isSafeInteger(x.time)) return null;
    if (typeof x.prevHash !== 'string' || typeof x.hash !== 'string' || typeof x.record !== 'object' || x.record === null) return null;
    return { seq: x.seq as number, time: x.time as number, prevHash: x.prevHash, hash: x.hash, body: canonicalJson(x.record) };
  } catch {
    return null;
  }
}

/** Verifies an export file; `anchors` (checkpoints from the logs) pin it like stored checkpoints. */
export async function verifyAuditExport(file: string, opts: Pick<VerifyOptions, 'anchors'> = {}): Promise<ExportVerifyResult> {
  const input = createReadStream(file, { encoding: 'utf8' });
  try {
    await new Promise<void>((resolve, reject) => {
      input.once('open', () => resolve());
      input.once('error', reject);
    });
  } catch (e) {
    throw new FileNotFoundError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  }
  const dir = await mkdtemp(join(tmpdir(), 'rampart-verify-'));
  const store = openSqliteStore({ path: join(dir, 'export.db') }, silentLogger());
  try {
    const insert = store.db.prepare('INSERT INTO audit (seq, time, prev_hash, hash, body) VALUES (?, ?, ?, ?, ?)');
    const insertMany = store.db.transaction((rows: Line[]) => {
      for (const r of rows) insert.run(r.seq, r.time, r.prevHash, r.hash, r.body);
    });
    let first: Line | null = null;
    let lastSeq = 0;
    let lineNo = 0;
    let problem: VerifyResult['firstBad'] | undefined;
    let batch: Line[] = [];
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      lineNo++;
      if (text.trim() === '') continue;
      const line = parseLine(text);
      if (!line) {
        problem = { seq: lastSeq + 1, reason: 'altered', detail: `line ${lineNo} is not an audit export record` };
        break;
      }
      if (first && line.seq <= lastSeq) {
        problem = {
          seq: line.seq,
          reason: line.seq === lastSeq ? 'inserted' : 'reordered',
          detail: `line ${lineNo} has seq ${line.seq} after seq ${lastSeq}`,
        };
        break;
      }
      first ??= line;
      lastSeq = line.seq;
      batch.push(line);
      if (batch.length >= 1000) {
        insertMany(batch);
        batch = [];
      }
    }
    insertMany(batch);
    const firstSeq = first?.seq ?? 1;
    const r = await verifyAudit(store.audit, {
      anchors: opts.anchors ?? [],
      ...(first && first.seq > 1 ? { startAt: { seq: first.seq, prevHash: first.prevHash } } : {}),
    });
    // A damaged line ends the import; report it unless the chain before it is already bad.
    if (r.ok && problem) return { ...r, ok: false, firstBad: problem, firstSeq };
    if (!r.ok && problem && problem.seq < r.firstBad!.seq) return { ...r, firstBad: problem, firstSeq };
    return { ...r, firstSeq };
  } finally {
    input.destroy();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
