// `--write-clean` / `--quarantine` of a Parquet dataset as Parquet: the file is read again as stored
// (in the reader's worker, same limits; timestamps, dates and plain byte arrays kept raw) and the
// selected rows are written with the input's own schema (every column, nested ones included, same
// physical and logical types) by hyparquet-writer, Snappy-compressed, one file per target. Values
// the reader converts (DECIMAL to a number, JSON text to a value) are converted back by the writer.
import type { SchemaElement } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { isRampartError } from '../core/errors.js';
import { DatasetOutputUnsupportedError } from './errors.js';
import { readParquetRaw } from './parquet.js';

/** Top-level column names of a flat schema list (element 0 is the root). */
function topLevelColumns(schema: SchemaElement[]): string[] {
  const names: string[] = [];
  // Walk the depth-first list: each element with num_children owns that many following subtrees.
  let i = 1;
  const skip = (): void => {
    const el = schema[i++]!;
    for (let c = 0; c < (el.num_children ?? 0); c++) skip();
  };
  while (i < schema.length) {
    names.push(schema[i]!.name);
    skip();
  }
  return names;
}

/**
 * The Parquet bytes of the rows `pick` selects, with the schema of `file`.
 * @throws RAMPART_ERR_DATASET_OUTPUT_UNSUPPORTED when the writer cannot encode a value back.
 */
export async function parquetOfRows(file: string, picks: ((i: number) => boolean)[]): Promise<Uint8Array[]> {
  const { rows, schema } = await readParquetRaw(file);
  const names = topLevelColumns(schema);
  return picks.map((pick) => {
    const chosen = rows.filter((_, i) => pick(i));
    try {
      const buf = parquetWriteBuffer({
        // hyparquet-writer types its schema with its own copy of hyparquet (a release older than
        // the reader's): same shape, minus logical types it cannot write, which then throw below.
        schema: schema as NonNullable<Parameters<typeof parquetWriteBuffer>[0]['schema']>,
        columnData: names.map((name) => ({ name, data: chosen.map((r) => r[name] ?? null) })),
        createdBy: 'rampart',
      });
      return new Uint8Array(buf);
    } catch (err) {
      if (isRampartError(err)) throw err;
      throw new DatasetOutputUnsupportedError(`cannot write the rows of ${file} back as Parquet (${err instanceof Error ? err.message : String(err)}); name the output *.npz instead`, {
        cause: err,
      });
    }
  });
}
