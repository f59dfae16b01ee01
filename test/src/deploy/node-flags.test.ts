/**
 * Every launcher of podwired passes node the same flags, server/src/node-flags.ts's (V8 reads
 * heap sizes only when the isolate is made: main.ts cannot set them itself).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../lib/paths';

const { PODWIRED_NODE_FLAGS } = require(path.join(REPO_ROOT, 'server/dist/node-flags.js')) as { PODWIRED_NODE_FLAGS: readonly string[] };
const read = (f: string) => fs.readFileSync(path.join(REPO_ROOT, f), 'utf8');
const flags = PODWIRED_NODE_FLAGS.join(' ');

test('node-flags.ts names a small young generation (every podwired the tests start runs with it)', () => {
  assert.deepEqual(PODWIRED_NODE_FLAGS, ['--max-semi-space-size=2']);
});

test('systemd unit, image entrypoint (Dockerfile and the registry-free build), podwired shebang and the test harness all pass them', () => {
  assert.match(read('deploy/systemd/podwired.service'), new RegExp(`^ExecStart=@NODE@ ${flags} @PODWIRE_HOME@/server/dist/main\\.js `, 'm'));
  assert.match(
    read('deploy/Dockerfile'),
    new RegExp(`^ENTRYPOINT \\["node", ${PODWIRED_NODE_FLAGS.map((f) => `"${f}"`).join(', ')}, "/opt/podwire/server/dist/main\\.js"\\]$`, 'm'),
  );
  assert.ok(
    read('scripts/build-node-image.sh').includes(
      `--entrypoint '["node",${PODWIRED_NODE_FLAGS.map((f) => `"${f}"`).join(',')},"/opt/podwire/server/dist/main.js"]'`,
    ),
  );
  assert.ok(read('server/dist/main.js').startsWith(`#!/usr/bin/env -S node ${flags}\n`), 'the podwired link runs main.js with them');
  assert.match(read('test/src/lib/podwired-process.ts'), /\.\.\.PODWIRED_NODE_FLAGS, \.\.\.nodeArgs, SERVER_MAIN/);
});
