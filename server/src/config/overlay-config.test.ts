import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NO_OVERLAY, overlayChangeNeedingRestart, parseOverlay } from './overlay-config';

test('SIGHUP: a new mode, VNI or port of a running overlay asks for a restart naming old and new; the same settings do not', () => {
  const running = parseOverlay('vxlan', { vni: 42, port: 8472 });
  assert.equal(overlayChangeNeedingRestart(running, parseOverlay('vxlan', { vni: 42, port: 8472 })), undefined);
  assert.match(
    overlayChangeNeedingRestart(running, parseOverlay('vxlan', { vni: 43, port: 8472 })) ?? '',
    /^peers\.vxlan\.vni 42 -> 43: restart podwired .*VNI 42 on port 8472/,
  );
  assert.match(overlayChangeNeedingRestart(running, parseOverlay('vxlan', { vni: 42 })) ?? '', /^peers\.vxlan\.port 8472 -> 4789: restart/);
  assert.match(overlayChangeNeedingRestart(running, parseOverlay('vxlan', { vni: 7, port: 4789 })) ?? '', /vni 42 -> 7, peers\.vxlan\.port 8472 -> 4789/);
  assert.match(
    overlayChangeNeedingRestart(running, parseOverlay('vxlan-cross-subnet', { vni: 42, port: 8472 })) ?? '',
    /encapsulation changed from vxlan to vxlan-cross-subnet/,
  );
  assert.match(overlayChangeNeedingRestart(NO_OVERLAY, running) ?? '', /from none to vxlan/);
  // Without an overlay the vxlan settings are unused: changing them needs nothing.
  assert.equal(overlayChangeNeedingRestart(NO_OVERLAY, parseOverlay('none', { vni: 9 })), undefined);
});
