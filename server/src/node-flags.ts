/**
 * The Node/V8 flags podwired runs with, on every launcher (the systemd unit, the image's
 * entrypoint, the `podwired` link's shebang, the tests' and the bench's PodwiredProcess;
 * test/src/deploy/node-flags.test.ts checks they agree). V8 reads heap sizes only when the
 * isolate is made, so they cannot be set from inside main.ts.
 *
 * --max-semi-space-size=2: podwired's event-loop objects live for one call; V8's default
 * young generation (16 MB semi-spaces) let the heap hold tens of MB of garbage under churn,
 * at no measurable CPU per call (README "Measured").
 */
export const PODWIRED_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
