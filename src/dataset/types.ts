// The in-memory shape every dataset reader produces: numeric features as one row-major matrix,
// the label/id/source columns as strings, and for text formats where each row came from (line and
// byte span), so findings can point at a line and clean/quarantine files can copy rows verbatim.

export type DatasetFormat = 'csv' | 'jsonl' | 'npy' | 'npz' | 'parquet';

export type ColumnKind = 'numeric' | 'string' | 'empty';

export interface ColumnInfo {
  name: string;
  kind: ColumnKind;
  /** Empty or absent values. */
  missing: number;
  /** Values that are not numbers (in any column). */
  nonNumeric: number;
  /** Up to 64 distinct string values (string columns: categories; numeric columns: offending values). */
  samples: string[];
}

/** A value of the wrong type in a column the data says is numeric. Capped per dataset. */
export interface TypeError {
  row: number;
  column: string;
  value: string;
}

export interface Dataset {
  /** Display path. */
  file: string;
  format: DatasetFormat;
  /** Every column of the file, in file order. */
  columns: ColumnInfo[];
  /** Numeric feature columns (every numeric column except label, id and source). */
  featureNames: string[];
  n: number;
  d: number;
  /** n × d, row-major; NaN for a missing or non-numeric value. */
  X: Float64Array;
  labels?: string[];
  ids?: string[];
  sources?: string[];
  /** 1-based line where each row starts (text formats; header line counted). */
  lines?: Uint32Array;
  /** Byte start and end (exclusive, without the line break) of each row in the (decompressed) file. */
  spans?: Float64Array;
  /** Whether the file was gzip-compressed (spans refer to the decompressed bytes). */
  gzip: boolean;
  hasHeader: boolean;
  /** Header line bytes (text formats with a header), copied to clean/quarantine files. */
  headerBytes?: Uint8Array;
  /** SHA-256 (first 16 bytes, hex) of each row's raw bytes: the manifest used by diff. */
  rowHashes: string[];
  /** Rows whose number of fields differs from the header (text formats). */
  malformedRows: { row: number; fields: number; expected: number }[];
  typeErrors: TypeError[];
}

export interface ReadOptions {
  label?: string;
  id?: string;
  source?: string;
  /** Force header detection on or off (CSV). */
  header?: boolean;
  /** Largest record (bytes) a text reader accepts. Default 16 MiB. */
  maxRecordBytes?: number;
  /** Largest uncompressed array in an .npz, bytes. Default 4 GiB. */
  maxArrayBytes?: number;
  /** Time limit for parsing a Parquet file, ms. Default 60,000. */
  parquetTimeoutMs?: number;
  /** Most type errors kept (the rest are counted). Default 10,000. */
  maxTypeErrors?: number;
  /**
   * Chunked reading (CSV and JSON Lines only): every `chunkRows` rows go to `onChunk` as a Dataset of
   * those rows (row numbers 0-based within the chunk; lines and spans absolute), and are then
   * dropped. Column kinds and features are fixed by the first chunk. The last chunk is passed too.
   */
  chunkRows?: number;
  onChunk?: (chunk: Dataset) => void;
}
