/**
 * For ThreadedDatapath's tests: a thread serving the datapath protocol (the same runner as
 * podwired's datapath thread) with a FakeDatapath whose setUp misbehaves on request, by the
 * pod interface name: "slow-MS" finishes after MS ms (the thread stays responsive), "stuck"
 * blocks the thread in open(2) on the FIFO at netnsPath (until something opens its write end).
 */
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { serveDatapathCalls } from './datapath-thread-runner';
import { FakeDatapath } from './fake-datapath';

const fake = new FakeDatapath({
  onSetUp: async (spec) => {
    const slow = /^slow-(\d+)$/.exec(spec.podIfname);
    if (slow) await new Promise((resolve) => setTimeout(resolve, Number(slow[1])));
    if (spec.podIfname === 'stuck') fs.closeSync(fs.openSync(spec.netnsPath, 'r'));
  },
});

if (parentPort) {
  serveDatapathCalls(parentPort, {
    counters: () => ({ pendingDestructions: 0, netnsSockets: 0 }),
    calls: {
      setUp: (spec) => fake.setUp(spec),
      tearDown: (name) => fake.tearDown(name),
      detach: (name, addresses) => fake.detach(name, addresses),
      check: (spec) => fake.check(spec),
      podProblems: (spec) => fake.podProblems(spec),
      readHost: async () => ({ links: [], addresses: [], routes: [] }),
      removeStrayRoutes: (routes) => fake.removeStrayRoutes(routes),
      applyRouteChanges: async (changes) => changes.map(() => ({})),
      close: () => fake.close(),
    },
    undoLate: { setUp: ([spec]) => fake.tearDown(spec.hostIfname) },
  });
}
