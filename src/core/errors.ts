// Errors with stable codes. Every error Rampart raises on purpose is a RampartError whose `code`
// is documented in docs/errors.md (a test keeps the two in step). Codes are never reused for a
// different meaning. Mapping to HTTP status or exit codes happens at the edge, never here.

export interface RampartErrorOptions {
  cause?: unknown;
  /** Structured, non-secret details for logs and JSON output. Never put keys or bodies here. */
  details?: Record<string, unknown>;
}

const registry = new Map<string, string>();

/** Base class of every coded Rampart error. */
export class RampartError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: RampartErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RampartError';
    this.code = code;
    this.details = options.details;
  }
}

/**
 * Declares an error code and returns a subclass of RampartError bound to it.
 *
 * @example
 * export const ConfigInvalidError = defineError('RAMPART_ERR_CONFIG_INVALID', 'the configuration file is invalid');
 * throw new ConfigInvalidError('listen: expected host:port');
 */
export function defineError(code: string, summary: string) {
  if (!/^RAMPART_ERR_[A-Z0-9_]+$/.test(code)) throw new Error(`bad error code ${code}`);
  if (registry.has(code)) throw new Error(`duplicate error code ${code}`);
  registry.set(code, summary);
  return class extends RampartError {
    static readonly code = code;
    static readonly summary = summary;
    constructor(message: string = summary, options: RampartErrorOptions = {}) {
      super(code, message, options);
    }
  };
}

/** All codes declared so far (for the docs consistency test and `rampart errors`). */
export function declaredErrorCodes(): ReadonlyMap<string, string> {
  return registry;
}

export function isRampartError(err: unknown): err is RampartError {
  return err instanceof RampartError;
}

/** A message that is safe to show to a user: the message of a RampartError, else a generic one. */
export function publicMessage(err: unknown): string {
  return isRampartError(err) ? err.message : 'internal error';
}

// Errors shared by every layer. Layer-specific errors live next to their layer (e.g. src/scan/errors.ts).
export const InternalError = defineError('RAMPART_ERR_INTERNAL', 'an unexpected internal error');
export const ConfigInvalidError = defineError('RAMPART_ERR_CONFIG_INVALID', 'the configuration is invalid');
export const ConfigNotFoundError = defineError('RAMPART_ERR_CONFIG_NOT_FOUND', 'the configuration file does not exist or cannot be read');
export const UsageError = defineError('RAMPART_ERR_USAGE', 'a command was called with invalid arguments');
export const FileNotFoundError = defineError('RAMPART_ERR_FILE_NOT_FOUND', 'an input file or directory does not exist');
export const OutputNotRegularError = defineError('RAMPART_ERR_OUTPUT_NOT_REGULAR', 'an output that is written only whole (secrets, decrypted data, files rewritten in place) names a device, FIFO or other non-regular file');
