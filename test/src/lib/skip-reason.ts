import type { TestContext } from 'node:test';

/**
 * Why a test file's tests cannot run on this machine (a runtime missing, a build that could
 * not be made), set once by the file's `before`; every test starts with `if (skip.skipped(t)) return;`.
 */
export class SkipReason {
  reason: string | undefined;

  /** Skips `t`, saying why, when there is a reason; true then. */
  skipped(t: TestContext): boolean {
    if (this.reason === undefined) return false;
    t.skip(this.reason);
    return true;
  }
}
