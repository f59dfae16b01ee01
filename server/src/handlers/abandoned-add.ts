/**
 * An ADD that completed after its caller gave up, and was rolled back (or failed to be: then
 * `rollbackError` says why, and DEL or GC clears what is left). Not a CNI error: nobody reads
 * the answer; the service logs it as outcome "abandoned".
 */
export class AbandonedAdd extends Error {
  constructor(readonly rollbackError?: string) {
    super(rollbackError === undefined ? 'the caller gave up; the ADD was rolled back' : `the caller gave up; rolling the ADD back failed: ${rollbackError}`);
    this.name = 'AbandonedAdd';
  }
}
