/** Retries `fn` every `everyMs` until it succeeds or `ms` passed, then throws its last error (a listener that starts asynchronously). */
export async function eventually<T>(fn: () => Promise<T>, ms = 10_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}
