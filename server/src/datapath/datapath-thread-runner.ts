/**
 * The thread side of ThreadedDatapath, whatever datapath the thread runs: it answers each
 * call (CallMessage) once, by its deadline at the latest, with the datapath's method of that
 * name (or the thread's own implementation, ThreadService.calls), sends the event loop its
 * notes (the counters it mirrors, the batches sent) with the replies, and ends the thread
 * after close. datapath-thread.ts runs it with the routed veth datapath.
 */
import type { MessagePort } from 'node:worker_threads';
import { CniCode, CniError } from '../cni/cni-error';
import type {
  BatchNote,
  CallImplementations,
  CallMessage,
  CallName,
  DatapathCalls,
  ForwardedCallName,
  NoticeFields,
  ThreadCounters,
  ThreadMessage,
  ThreadNotes,
  ThreadOwnCalls,
  WireError,
} from './datapath-thread-protocol';
import { toWire } from './datapath-thread-protocol';

/** How often notes no reply carried (counters changed, batches sent) go alone while no call is unanswered. */
const NOTES_INTERVAL_MS = 50;

/**
 * What to do with a call that succeeded after its deadline, when its caller has been told it
 * failed: undo what it made (a pod wired by a late setUp would hold addresses whose leases
 * the ADD released). Calls without an entry need nothing undone (reads; tear-downs, which
 * are what the caller wanted anyway).
 */
export type LateSuccessUndo = { [N in CallName]?: (args: DatapathCalls[N]['args'], value: DatapathCalls[N]['value']) => Promise<void> };

/** What one datapath thread serves. */
export interface ThreadService {
  /**
   * Answers every Datapath call by its method of the same name (called on it). A Datapath
   * (a class whose methods are these calls) fits as it is.
   */
  datapath: CallImplementations<ForwardedCallName>;
  /** The thread's own calls (ThreadOwnCalls), and any Datapath call the thread answers itself (close). */
  calls: CallImplementations<keyof ThreadOwnCalls> & Partial<CallImplementations>;
  undoLate: LateSuccessUndo;
  counters(): ThreadCounters;
  /** The batches sent since the last take, handed over once (none: a datapath without batches). */
  takeBatches?(): BatchNote[];
}

/**
 * The methods of `obj`: functions along its prototype chain up to Object's, not the
 * constructor, read without running getters. (TypeScript's `private` does not exist at run
 * time: a datapath's private methods are among them, though no caller's type names them.)
 */
function methodNames(obj: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = obj; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(o))) {
      if (name !== 'constructor' && typeof d.value === 'function') names.add(name);
    }
  }
  return [...names];
}

/**
 * The function answering each call the thread serves, by name: its own implementations
 * first, then its datapath's methods. Only these names are ever called (never anything else
 * a message might name).
 */
function implementations(service: ThreadService): Map<string, (...args: unknown[]) => Promise<unknown>> {
  const byName = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  const datapath = service.datapath as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of methodNames(datapath)) byName.set(name, (...args) => (datapath[name] as (...a: unknown[]) => Promise<unknown>).apply(datapath, args));
  for (const [name, fn] of Object.entries(service.calls)) byName.set(name, fn as (...args: unknown[]) => Promise<unknown>);
  return byName;
}

export function deadlineError(call: CallName, ms: number): CniError {
  return new CniError(
    CniCode.TryAgainLater,
    `podwired's datapath did not finish ${call} within ${Math.round(ms)} ms`,
    'the datapath thread is busy or stuck; what the call still completes is undone, try again later',
  );
}

/**
 * Serves `service` on `port` until close: every call is answered by its deadline (a CniError
 * with code 11 when it has not finished by then); a call that finishes later is logged
 * (a notice), and its success undone where `undoLate` says how.
 */
export function serveDatapathCalls(port: MessagePort, service: ThreadService): void {
  const post = (msg: ThreadMessage): void => port.postMessage(msg);
  const notice = (message: string, fields: NoticeFields): void => post({ kind: 'notice', message, fields });

  let sent: ThreadCounters = { pendingDestructions: 0, netnsSockets: 0 };
  /** The notes since the last message: the counters when they changed, the batches sent. */
  const takeNotes = (): ThreadNotes | undefined => {
    const now = service.counters();
    const changed = now.pendingDestructions !== sent.pendingDestructions || now.netnsSockets !== sent.netnsSockets;
    const batches = service.takeBatches?.() ?? [];
    if (!changed && batches.length === 0) return undefined;
    sent = now;
    return { ...(changed ? { counters: now } : {}), ...(batches.length > 0 ? { batches } : {}) };
  };
  /** Calls not answered yet: each one's reply carries the notes, by its deadline at the latest. */
  let unanswered = 0;
  const sendNotes = (): void => {
    if (unanswered > 0) return;
    const notes = takeNotes();
    if (notes) post({ kind: 'notes', notes });
  };
  const counters = setInterval(sendNotes, NOTES_INTERVAL_MS);

  const lateOutcome = (msg: CallMessage, value: unknown, startedAt: number): void => {
    const undo = service.undoLate[msg.call] as ((args: unknown, value: unknown) => Promise<void>) | undefined;
    const fields = { call: msg.call, id: msg.id, tookMs: Math.round(Date.now() - startedAt) };
    if (!undo) {
      notice('datapath call finished after its deadline (its caller was told it failed)', fields);
      return;
    }
    undo(msg.args, value).then(
      () => notice('datapath call succeeded after its deadline; undone', fields),
      (err: unknown) =>
        notice('datapath call succeeded after its deadline; undoing it failed (reconcile at the next start removes it)', {
          ...fields,
          err: err instanceof Error ? err.message : String(err),
        }),
    );
  };

  const impls = implementations(service);
  port.on('message', (msg: CallMessage) => {
    const startedAt = Date.now();
    const impl =
      impls.get(msg.call) ?? ((): Promise<never> => Promise.reject(new Error(`the datapath thread answers no call named ${JSON.stringify(msg.call)}`)));
    let answered = false;
    unanswered++;
    const answer = (reply: { value: unknown } | { error: WireError }): void => {
      answered = true;
      unanswered--;
      clearTimeout(timer);
      const notes = takeNotes();
      post({ kind: 'reply', id: msg.id, ...reply, ...(notes ? { notes } : {}) });
    };
    const timer = setTimeout(() => answer({ error: toWire(deadlineError(msg.call, msg.deadline - startedAt)) }), Math.max(0, msg.deadline - startedAt));
    const run = (async () => impl(...msg.args))();
    run.then(
      (value) => {
        if (answered) lateOutcome(msg, value, startedAt);
        else answer({ value });
        // After close, with every socket of this thread closed: end the thread by itself
        // (terminating a thread with a native socket open aborts the process).
        if (msg.call === 'close') {
          clearInterval(counters);
          port.close();
        }
      },
      (err: unknown) => {
        if (answered)
          notice('datapath call failed after its deadline', {
            call: msg.call,
            id: msg.id,
            tookMs: Math.round(Date.now() - startedAt),
            err: err instanceof Error ? err.message : String(err),
          });
        else answer({ error: toWire(err) });
        if (msg.call === 'close') clearInterval(counters);
      },
    );
  });
  post({ kind: 'ready', calls: [...impls.keys()] as CallName[] });
}
