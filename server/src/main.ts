#!/usr/bin/env -S node --max-semi-space-size=2
/**
 * podwired: the resident per-node podwire server. The `podwire` shim forwards every CNI call
 * here over gRPC on a unix socket; this process keeps the lease store open, wires pods through
 * the routed veth datapath on a thread of its own, and reconciles with the kernel at start.
 *
 * This entry loads as little as it can before it starts the datapath thread and the host
 * read that reconcile needs (early-start.ts): the thread boots and dumps the host's tables
 * while the event loop loads the rest of podwired (serve.ts: gRPC, protobuf, the store; README "Measured").
 */
import * as fs from 'node:fs';
import { USAGE, parseCliArgs } from './cli-args';
import { type ServerConfig, loadServerConfig } from './config/server-config';
import { startEarly } from './early-start';
import { nativeAddon } from './native-addon';
import { lockStateDir } from './state-dir-lock';

// `ps`, `pgrep podwired` and `pkill podwired` find the server by its own name.
process.title = 'podwired';

let opts: ServerConfig;
try {
  const cli = parseCliArgs(process.argv.slice(2));
  opts = loadServerConfig(cli, (file) => fs.readFileSync(file, 'utf8'));
} catch (err) {
  process.stderr.write(`podwired: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(2);
}
// One podwired per state directory, before anything reads or changes the host: a second one
// would reconcile away the first one's ADDs in flight.
try {
  lockStateDir(opts.stateDir, opts.socket, nativeAddon.flockExclusive);
} catch (err) {
  process.stderr.write(`podwired: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
const early = startEarly(opts.stateDir);
// Loaded now, not at the top: the datapath thread boots and reads the host meanwhile.
const { serve } = require('./serve.js') as typeof import('./serve.js');
early.timeline.mark('serveLoaded');
serve(opts, early).catch(async (err: unknown) => {
  process.stderr.write(`podwired: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  // The datapath thread may still be booting (its netlink sockets, the host read): exiting
  // under it tears its native handles down mid-call, which can abort the process (SIGABRT
  // instead of exit 1). End it the orderly way first, for at most 5 s.
  await Promise.race([early.datapath.then((d) => d.close()), new Promise((resolve) => setTimeout(resolve, 5_000))]).catch(() => undefined);
  process.exit(1);
});
