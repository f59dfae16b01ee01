import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

/**
 * The request a piece of work belongs to. Every CNI call runs inside one, so every log line
 * it causes (in the handlers, the datapath, the abandoned-ADD rollback) carries the same id
 * without a logger being threaded through the code.
 */
export interface RequestContext {
  readonly reqId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** 16 hex digits (64 random bits): unique enough to find one call in a node's logs. */
export function newRequestId(): string {
  return randomBytes(8).toString('hex');
}

/** Runs `fn` (and everything asynchronous it starts) inside the request `ctx`. */
export function runInRequest<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** The request the caller runs in, if any. */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}
