/** What killAtExitWhenStranded uses of the process. */
export interface ExitingProcess {
  readonly pid: number;
  on(event: 'exit', listener: (code: number) => void): unknown;
  kill(pid: number, signal: NodeJS.Signals): unknown;
  readonly stderr: { write(text: string): unknown };
}

/**
 * process.exit() waits for every worker thread to end, and a thread blocked in a system call
 * never does: with the datapath thread stuck, podwired would hang in its exit, never to be
 * restarted. So at exit, when `stranded()` says such a thread still runs, the process kills
 * itself instead (SIGKILL: its supervisor sees it killed, and restarts it). Exit listeners
 * run in the order they were added: register this once a thread is stranded, after the
 * logger's (which flushes what is still buffered).
 */
export function killAtExitWhenStranded(stranded: () => boolean, proc: ExitingProcess = process): void {
  proc.on('exit', (code) => {
    if (!stranded()) return;
    proc.stderr.write(`podwired: exiting (code ${code}) with a stuck thread that cannot end: killing the process\n`);
    proc.kill(proc.pid, 'SIGKILL');
  });
}
