import { nativeAddon, type NftNative, type NftNativeContext } from '../native-addon';
import { SetTypes, encodeElementBatch } from './element-batch';
import { NftError } from './nft-error';
import type { NftCommand, NftObject } from './nft-json';

/** Runs `fn` with the calling thread inside the network namespace to program, then returns. */
export type NetnsEnter = <T>(fn: () => T) => T;

const inPlace: NetnsEnter = (fn) => fn();

export interface NftContextOptions {
  /**
   * Where the context's netlink socket lives: omitted, the calling thread's own netns
   * (podwired's); otherwise e.g. `(fn) => rtnlSockets.enter(nsFd, fn)`. The context is made
   * and every transaction run inside it (libnftables may reopen its socket on a retry).
   */
  enter?: NetnsEnter;
  /** The libnftables binding (tests inject a fake). */
  native?: NftNative;
}

/**
 * podwired's one door to nftables: a libnftables context called in-process (no `nft`
 * process). run() sends a list of JSON commands as one transaction, which the kernel applies
 * whole or not at all, and throws an NftError with the kernel's reason when refused. Use a
 * context only on the thread that opened it.
 */
export class NftContext {
  private ctx: NftNativeContext | undefined;
  /** Transactions run (tests and metrics count them). */
  transactions = 0;
  /** Of them, element-only ones sent as an nfnetlink batch of its own, without libnftables (element-batch.ts). */
  batches = 0;
  /** The plain sets this context declared, for the element batches. */
  private readonly setTypes = new SetTypes();
  /** The next batch's first sequence number. */
  private seq = 1;

  private constructor(
    private readonly native: NftNative,
    private readonly enter: NetnsEnter,
  ) {
    this.ctx = this.enter(() => {
      try {
        return native.nftCreate();
      } catch (err) {
        throw new NftError('create libnftables context', err instanceof Error ? err.message : String(err));
      }
    });
  }

  static open(options: NftContextOptions = {}): NftContext {
    return new NftContext(options.native ?? nativeAddon, options.enter ?? inPlace);
  }

  /**
   * Runs `commands` as one transaction. `operation` names it in errors. Element adds and
   * deletes on plain sets declared through this context skip libnftables (and the listing
   * of the whole ruleset it does first): the kernel gets the same batch, applied whole or not.
   */
  run(operation: string, commands: NftCommand[]): void {
    if (commands.length === 0) return;
    const ctx = this.ctx;
    const batchFn = this.native.nftBatch;
    if (ctx && batchFn) {
      if (this.seq > 0x7fff0000) this.seq = 1;
      const batch = encodeElementBatch(commands, this.setTypes, this.seq + 1);
      if (batch) {
        this.seq += batch.count + 2;
        let sent: boolean;
        try {
          sent = batchFn(ctx, batch.bytes, this.seq - batch.count - 1, batch.count);
        } catch (err) {
          this.transactions++;
          this.batches++;
          const e = err as { nftError?: unknown; message?: unknown };
          throw new NftError(operation, typeof e.nftError === 'string' ? e.nftError : String(e.message ?? err));
        }
        if (sent) {
          this.transactions++;
          this.batches++;
          return;
        }
      }
    }
    this.exec(operation, commands);
    this.setTypes.learn(commands);
  }

  /**
   * Runs one read command ({"list": {"table": {...}}}) and returns the objects it printed,
   * libnftables' metainfo left out.
   */
  list(operation: string, command: NftCommand): NftObject[] {
    const out = this.exec(operation, [command]);
    if (!out.trim()) return [];
    const parsed = JSON.parse(out) as { nftables?: NftObject[] };
    return (parsed.nftables ?? []).filter((o) => !('metainfo' in o));
  }

  /** Frees the libnftables context. Idempotent; run() afterwards throws. */
  close(): void {
    if (this.ctx) this.native.nftFree(this.ctx);
    this.ctx = undefined;
  }

  private exec(operation: string, commands: NftCommand[]): string {
    const ctx = this.ctx;
    if (!ctx) throw new NftError(operation, 'the nftables context is closed');
    const text = JSON.stringify({ nftables: commands });
    this.transactions++;
    return this.enter(() => {
      try {
        return this.native.nftRun(ctx, text);
      } catch (err) {
        const e = err as { nftError?: unknown; message?: unknown };
        throw new NftError(operation, typeof e.nftError === 'string' ? e.nftError : String(e.message ?? err));
      }
    });
  }
}
