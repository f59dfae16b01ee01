import pino, { type DestinationStream, type Logger } from 'pino';

/** podwired's pino logger: JSON lines with `service` and `pid` (a CNI call's lines carry its `reqId`, set by the Cni service). */
export function createServerLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'podwired', pid: process.pid },
  };
  return destination ? pino(options, destination) : pino(options);
}
