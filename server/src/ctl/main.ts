#!/usr/bin/env node
/**
 * podwirectl: a read-only command-line view of a running podwired, over its unix socket or,
 * with --remote, its mutual-TLS TCP listener. `podwirectl --help` lists the commands.
 */
import { GrpcDebugClient } from './grpc-debug-client';
import { runCtl } from './run-ctl';

// grpc-js names an IP address as the TLS server name, which Node flags as deprecated
// (DEP0123); that warning would only clutter a command-line tool's output.
process.noDeprecation = true;

function onInterrupt(handler: () => void): () => void {
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

void runCtl(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  connect: (conn, timeoutMs) => new GrpcDebugClient(conn, timeoutMs),
  onInterrupt,
}).then((code) => {
  process.exitCode = code;
});
