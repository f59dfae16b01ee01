import type { OutputFormat } from './ctl-args';
import type { DebugApi } from './debug-api';

export interface Writer {
  write(text: string): void;
}

/** What a command runs with: the client, where to print, and the interrupt (Ctrl-C) hook. */
export interface CommandContext {
  api: DebugApi;
  stdout: Writer;
  /** Progress notes that are not the command's output (kept off stdout so -o json stays clean). */
  stderr: Writer;
  /** How messages name the server, e.g. "podwired at unix:/run/podwire/podwire.sock". */
  server: string;
  output: OutputFormat;
  timeoutMs: number;
  /** Registers `handler` for SIGINT/SIGTERM; returns a function that unregisters it. */
  onInterrupt(handler: () => void): () => void;
}

export function printJson(out: Writer, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}
