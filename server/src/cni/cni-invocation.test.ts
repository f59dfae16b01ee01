import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CniError } from './cni-error';
import { type RawInvocation, validateInvocation, validateIfname, validateNetworkName } from './cni-invocation';

const full: RawInvocation = { containerId: 'abc', netns: '/var/run/netns/x', ifname: 'eth0', args: '', path: '/opt/cni/bin' };

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return err.code;
    throw err;
  }
  return undefined;
}

test('every missing required variable is named in one error (code 4)', () => {
  const err = (() => {
    try {
      validateInvocation('ADD', { ...full, containerId: '', netns: '', ifname: '' });
    } catch (e) {
      return e as CniError;
    }
    return undefined;
  })();
  assert.ok(err instanceof CniError);
  assert.equal(err.code, 4);
  assert.match(err.message, /CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME/);
});

test('required variables per verb follow the spec', () => {
  assert.equal(
    codeOf(() => validateInvocation('DEL', { ...full, netns: '' })),
    undefined,
    'DEL needs no netns',
  );
  assert.equal(
    codeOf(() => validateInvocation('DEL', { ...full, ifname: '' })),
    4,
  );
  assert.equal(
    codeOf(() => validateInvocation('CHECK', { ...full, netns: '' })),
    4,
  );
  assert.equal(
    codeOf(() => validateInvocation('STATUS', { ...full, containerId: '', netns: '', ifname: '', path: '' })),
    undefined,
  );
  assert.equal(
    codeOf(() => validateInvocation('GC', { ...full, path: '' })),
    4,
  );
  assert.equal(
    codeOf(() => validateInvocation('GC', { ...full, containerId: '', ifname: '', netns: '' })),
    undefined,
  );
});

test('container id charset', () => {
  for (const ok of ['a', '0abc', 'a_b.c-d', 'A'.repeat(64)])
    assert.equal(
      codeOf(() => validateInvocation('ADD', { ...full, containerId: ok })),
      undefined,
      ok,
    );
  for (const bad of ['-a', '.a', '_a', 'a b', 'a;b', 'a/b', 'ä'])
    assert.equal(
      codeOf(() => validateInvocation('ADD', { ...full, containerId: bad })),
      4,
      bad,
    );
});

test('interface name rules', () => {
  for (const ok of ['eth0', 'a', 'x'.repeat(15), 'net1@x'])
    assert.equal(
      codeOf(() => validateIfname(ok)),
      undefined,
      ok,
    );
  for (const bad of ['.', '..', 'x'.repeat(16), 'a/b', 'a:b', 'a b', 'a\tb', 'a\nb', 'a\u0001'])
    assert.equal(
      codeOf(() => validateIfname(bad)),
      4,
      bad,
    );
});

test('network name rules (code 7)', () => {
  assert.equal(validateNetworkName('pod-net_1.x'), 'pod-net_1.x');
  for (const bad of ['', '-x', 'a b', 3, undefined])
    assert.equal(
      codeOf(() => validateNetworkName(bad)),
      7,
      String(bad),
    );
});
