/**
 * For ThreadedDatapath's tests: a thread serving the datapath protocol (the same runner as
 * podwired's datapath thread) with a FakeDatapath whose setUp misbehaves on request, by the
 * pod interface name: "slow-MS" finishes after MS ms (the thread stays responsive), "stuck"
 * blocks the thread in open(2) on the FIFO at netnsPath (until something opens its write end);
 * and an extra method, echo().
 */
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { serveDatapathCalls } from './datapath-thread-runner';
import { FakeDatapath } from './fake-datapath';

/** A datapath with a method no protocol list names: it crosses the thread all the same. */
class ScriptedDatapath extends FakeDatapath {
  async echo(value: string): Promise<string> {
    return `echo ${value}`;
  }
}

const fake = new ScriptedDatapath({
  onSetUp: async (spec) => {
    const slow = /^slow-(\d+)$/.exec(spec.podIfname);
    if (slow) await new Promise((resolve) => setTimeout(resolve, Number(slow[1])));
    if (spec.podIfname === 'stuck') fs.closeSync(fs.openSync(spec.netnsPath, 'r'));
  },
});

if (parentPort) {
  serveDatapathCalls(parentPort, {
    datapath: fake,
    counters: () => ({ pendingDestructions: 0, netnsSockets: 0 }),
    calls: {
      readHost: async () => ({ links: [], addresses: [], routes: [], interrupted: false }),
      applyRouteChanges: async (changes) => changes.map(() => ({})),
    },
    undoLate: { setUp: ([spec]) => fake.tearDown(spec.hostIfname) },
  });
}
