import { CniCode, CniError } from '../cni/cni-error';
import { AbandonedAdd } from '../handlers/abandoned-add';
import { CallContext, HandlerDeps, VerbHandler } from '../handlers/handler-deps';
import { Readiness } from '../readiness';
import { ReadCall } from '../cni/cni-call';

/** How one call ended: what the shim prints, a CNI error, or an ADD rolled back because its caller gave up. */
export type CallOutcome =
  | { kind: 'ok'; output: string; cniVersion: string }
  | { kind: 'error'; error: CniError; cniVersion: string }
  | { kind: 'abandoned'; abandoned: AbandonedAdd; cniVersion: string };

/**
 * Runs a read call: its CNI error if it did not validate; STATUS answers 50 while podwired
 * reconciles and every other verb waits for it; then the verb's handler, with any failure
 * that is not a CniError mapped to 999 (internal) carrying the reason.
 */
export async function dispatch(deps: HandlerDeps, readiness: Readiness, handler: VerbHandler, read: ReadCall, ctx: CallContext): Promise<CallOutcome> {
  if (read.error) return { kind: 'error', error: read.error, cniVersion: read.facts.replyVersion };
  const { call } = read;
  try {
    if (!readiness.done) {
      if (call.verb === 'STATUS') throw new CniError(CniCode.NotReadyForAdd, 'podwired is reconciling its state after a start', 'ADD is served once it has finished');
      await readiness.reached;
    }
    const output = await handler(deps, call, ctx);
    return { kind: 'ok', output, cniVersion: call.conf.cniVersion };
  } catch (err) {
    if (err instanceof AbandonedAdd) return { kind: 'abandoned', abandoned: err, cniVersion: call.conf.cniVersion };
    const error = err instanceof CniError ? err : new CniError(CniCode.Internal, 'internal podwired error', err instanceof Error ? (err.stack ?? err.message) : String(err));
    return { kind: 'error', error, cniVersion: call.conf.cniVersion };
  }
}
