import { status as GrpcStatus } from '@grpc/grpc-js';
import { type Connection, describeConnection } from './connection';
import { CtlError } from './ctl-error';
import { EXIT } from './exit-codes';

/** The part of a grpc-js ServiceError podwirectl reads. */
export interface GrpcFailure {
  code: number;
  details: string;
}

export function isGrpcFailure(err: unknown): err is GrpcFailure {
  return typeof err === 'object' && err !== null && typeof (err as GrpcFailure).code === 'number' && typeof (err as GrpcFailure).details === 'string';
}

/** "No connection established. Last error: Error: connect ENOENT /x. Resolution note: " -> "connect ENOENT /x". */
export function lastConnectionError(details: string): string {
  const m = /Last error: (?:\w*Error(?: \[[A-Z_0-9]+\])?: )?(.*?)\.?(?: Resolution note:.*)?$/s.exec(details);
  return (m?.[1] ?? details).trim();
}

const TLS_WORDS = /certificate|altnames|SSL|TLS|handshake|alert|self-signed|unable to (get|verify)/i;

function grpcCodeName(code: number): string {
  return (GrpcStatus as unknown as Record<number, string>)[code] ?? `code ${code}`;
}

/**
 * Turns a failed call into a one-line CtlError with the right exit code. `method` names the
 * RPC for messages; `tlsDiagnosis` (remote only) is what a plain TLS handshake with the same
 * credentials reported, when the channel could not connect.
 */
export function ctlErrorFromGrpc(err: GrpcFailure, method: string, conn: Connection, timeoutMs: number, tlsDiagnosis?: string): CtlError {
  const where = describeConnection(conn);
  switch (err.code) {
    case GrpcStatus.UNAVAILABLE: {
      const cause = lastConnectionError(err.details);
      if (conn.kind === 'remote' && (tlsDiagnosis !== undefined || TLS_WORDS.test(cause))) {
        return new CtlError(`TLS with ${where} failed: ${tlsDiagnosis ?? cause}`, EXIT.TLS);
      }
      const hint = /ENOENT|ECONNREFUSED/.test(cause) ? ' (is podwired running?)' : /EACCES|EPERM/.test(cause) ? ' (podwirectl must run as root)' : '';
      return new CtlError(`cannot reach ${where}: ${cause}${hint}`, EXIT.UNREACHABLE);
    }
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new CtlError(`${where} did not answer ${method} within ${timeoutMs / 1000} s`, EXIT.UNREACHABLE);
    case GrpcStatus.NOT_FOUND:
      return new CtlError(err.details || `${method}: not found`, EXIT.NOT_FOUND);
    case GrpcStatus.FAILED_PRECONDITION:
      return new CtlError(err.details || `${method}: the selector matches more than one attachment`, EXIT.NOT_FOUND);
    case GrpcStatus.INVALID_ARGUMENT:
      return new CtlError(`${method}: ${err.details}`, EXIT.USAGE);
    case GrpcStatus.UNIMPLEMENTED:
      return new CtlError(`${where} does not serve ${method} (is it an older podwired?)`, EXIT.FAILED);
    case GrpcStatus.UNAUTHENTICATED:
      return new CtlError(`${where} refused this client: ${err.details}`, EXIT.TLS);
    default:
      return new CtlError(`${method} on ${where} failed: ${grpcCodeName(err.code)}: ${err.details}`, EXIT.FAILED);
  }
}
