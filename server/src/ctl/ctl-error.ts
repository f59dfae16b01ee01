import { EXIT, type ExitCode } from './exit-codes';

/**
 * The one error type of podwirectl: a one-line message for stderr and the exit code that
 * goes with it. Everything else that is thrown is a bug and exits FAILED with its message.
 */
export class CtlError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CtlError';
  }
}

export function usageError(message: string): CtlError {
  return new CtlError(message, EXIT.USAGE);
}
