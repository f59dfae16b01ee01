import type { NftCommand } from './nft-json';
import type { NftProgrammed } from './read-back';

/**
 * Objects another layer keeps in podwired's table (the NetworkPolicy objects: policy/), so
 * that one whole-table transaction writes them with the masquerade and hostPort objects: a
 * start, a resync's repair of drift (an operator's `nft flush ruleset`) and the recovery from
 * a refused delta recreate them too.
 */
export interface TableExtension {
  /**
   * Every command creating the extension's objects with their elements in a table without
   * them; appended to each whole-table write. Called once per write: from then on the
   * extension's idea of the kernel is what it returned.
   */
  build(): NftCommand[];
  /** Whether a chain, set or map of the table is the extension's (left out of the base drift check). */
  owns(name: string): boolean;
  /** How the kernel's table (one read-back) differs from what the extension expects ([] when it agrees). */
  drift(actual: NftProgrammed): string[];
}
