// `rampart scan ... --events-store PATH | --events-config FILE`: records the scan's outcome as a
// `scan.result` event in the gateway's store, so scans from CI or a workstation join the event
// history that `rampart events list` shows and the gateway's monitor reads (docs/events.md).
// Recording is best effort: a store that cannot be opened or written is a warning on standard
// error, never a change of the scan's exit code (CI gates on the scan, not on bookkeeping).
import type { Command } from 'commander';
import type { ScanReport } from '../../scan/types.js';

export interface ScanEventFlags {
  eventsStore?: string;
  eventsConfig?: string;
}

export function addScanEventFlags(cmd: Command): Command {
  return cmd
    .option('--events-store <path>', 'also record the outcome as a scan.result event in this SQLite store (the gateway\'s)')
    .option('--events-config <file>', 'also record the outcome as a scan.result event in the store of this gateway config');
}

/** Records the scan.result event when a flag asks for it; warns on failure. */
export async function recordScanResult(flags: ScanEventFlags, kind: 'model' | 'dataset', paths: string[], report: ScanReport, exitCode: number): Promise<boolean> {
  if (flags.eventsStore === undefined && flags.eventsConfig === undefined) return false;
  const { openStoreFromCli } = await import('../../store/cli.js');
  const { recordEvents, scanResultEvent } = await import('../../events/record.js');
  try {
    const store = await openStoreFromCli({ store: flags.eventsStore, config: flags.eventsConfig });
    try {
      const ok = await recordEvents(store, scanResultEvent(kind, paths, report.files.length, report.findings, exitCode, report.durationMs));
      if (!ok) process.stderr.write(`rampart: warning: the ${store.kind} store did not take the scan.result event\n`);
      return ok;
    } finally {
      await store.close();
    }
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    process.stderr.write(`rampart: warning: scan.result event not recorded: ${typeof code === 'string' ? `${code}: ` : ''}${(e as Error).message}\n`);
    return false;
  }
}
