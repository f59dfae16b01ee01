import pino, { DestinationStream, Logger } from 'pino';
import { currentRequest } from './request-context';

/**
 * podwired's pino logger: JSON lines, and inside a CNI call every line carries the call's
 * `reqId` (a pino mixin reads it from the async context), wherever it is logged from.
 */
export function createServerLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'podwired', pid: process.pid },
    mixin: (): Record<string, unknown> => {
      const req = currentRequest();
      return req ? { reqId: req.reqId } : {};
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
