import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEBUG_METHODS, lazyDebugDefinition } from './lazy-debug-definition';
import { loadDebugProto } from './load-proto';

test("the lazy definition has debug.proto's methods, paths and stream kinds, and loads the proto only at the first coder call", () => {
  const real = loadDebugProto().podwire.v1.Debug.service;
  let loads = 0;
  const lazy = lazyDebugDefinition(() => {
    loads++;
    return real;
  });
  assert.deepEqual(Object.keys(lazy).sort(), Object.keys(real).sort());
  assert.deepEqual(Object.keys(DEBUG_METHODS).sort(), Object.keys(real).sort());
  for (const [name, method] of Object.entries(real)) {
    const l = lazy[name];
    assert.ok(l, name);
    assert.equal(l.path, method.path, name);
    assert.equal(l.requestStream, method.requestStream, name);
    assert.equal(l.responseStream, method.responseStream, name);
  }
  assert.equal(loads, 0, 'nothing loaded to build the definition');
  const request = { containerId: 'c1', network: 'n', ifname: 'eth0' };
  const bytes = lazy.GetAttachment?.requestSerialize(request);
  assert.ok(bytes);
  assert.deepEqual(bytes, real.GetAttachment?.requestSerialize(request));
  assert.deepEqual(lazy.GetAttachment?.requestDeserialize(bytes), real.GetAttachment?.requestDeserialize(bytes));
  assert.ok(loads > 0);
});
