// The error a command throws to end with a specific exit code after it printed its output. In its
// own module so that command files can use it without importing the whole command list.

/** Thrown by a command to end with a specific exit code after it has printed its output. */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
