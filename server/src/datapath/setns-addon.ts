import * as path from 'node:path';

interface SetnsAddon {
  /** Moves the calling thread into the network namespace `fd` refers to. Throws on failure. */
  setns(fd: number): void;
}

// Built by server/build.sh into server/native/build/Release; this file runs from server/dist/datapath.
const addonPath = path.join(__dirname, '..', '..', 'native', 'build', 'Release', 'setns.node');

// eslint-disable-next-line @typescript-eslint/no-var-requires
export const setnsAddon: SetnsAddon = require(addonPath) as SetnsAddon;
