/**
 * containerd 1.6's debug log (logrus text lines) → how long the CRI plugin's CNI step took
 * per sandbox: from `msg="begin cni setup"` to `msg="cni result: ..."`, both carrying
 * `podsandboxid=`. That span is libcni running loopback and the conflist's plugins.
 */

/** Milliseconds since the epoch of a logrus `time="2026-12-01T22:49:51.479287180Z"`, to the microsecond. */
export function logTimeMs(line: string): number | undefined {
  const m = /time="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z"/.exec(line);
  if (!m?.[1]) return undefined;
  const whole = Date.parse(`${m[1]}Z`);
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return whole + frac;
}

function sandboxId(line: string): string | undefined {
  return /podsandboxid=([0-9a-f]{64})/.exec(line)?.[1];
}

/** CNI setup duration (ms) per sandbox id, for sandboxes whose begin and result lines are both in `lines`. */
export function cniSetupDurations(lines: string[]): Map<string, number> {
  const begin = new Map<string, number>();
  const out = new Map<string, number>();
  for (const line of lines) {
    const isBegin = line.includes('msg="begin cni setup"');
    const isResult = !isBegin && line.includes('msg="cni result: ');
    if (!isBegin && !isResult) continue;
    const id = sandboxId(line);
    const t = logTimeMs(line);
    if (id === undefined || t === undefined) continue;
    if (isBegin) begin.set(id, t);
    else {
      const b = begin.get(id);
      if (b !== undefined) out.set(id, t - b);
    }
  }
  return out;
}
