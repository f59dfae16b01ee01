import assert from 'node:assert/strict';
import { runCommand } from './run-command';
import { SHIM_BINARY } from './paths';

export interface ShimCall {
  command: string;
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  path?: string;
  config: unknown;
  /** Extra environment (PODWIRE_SOCKET, PODWIRE_RETRY_TIMEOUT_MS, ...). */
  env?: Record<string, string>;
}

export interface ShimOutcome {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json: Record<string, unknown> | undefined;
  elapsedMs: number;
}

/**
 * Executes the real shim binary exactly as a CNI runtime does: CNI_* in the environment,
 * the network configuration on stdin, stdout read as one JSON document.
 */
export async function runShim(call: ShimCall): Promise<ShimOutcome> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: call.command,
    ...(call.containerId !== undefined ? { CNI_CONTAINERID: call.containerId } : {}),
    ...(call.netns !== undefined ? { CNI_NETNS: call.netns } : {}),
    ...(call.ifname !== undefined ? { CNI_IFNAME: call.ifname } : {}),
    ...(call.args !== undefined ? { CNI_ARGS: call.args } : {}),
    CNI_PATH: call.path ?? '/opt/cni/bin',
    ...call.env,
  };
  const input = typeof call.config === 'string' ? call.config : JSON.stringify(call.config);
  const started = process.hrtime.bigint();
  const r = await runCommand(SHIM_BINARY, [], { input, env, timeoutMs: 180_000 });
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  let json: Record<string, unknown> | undefined;
  try {
    json = r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as Record<string, unknown>);
  } catch {
    json = undefined;
  }
  return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr, json, elapsedMs };
}

/** A podwire network configuration for tests. */
export function netConf(name: string, subnet: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name,
    type: 'podwire',
    ipam: { ranges: [[{ subnet }]] },
    ...extra,
  };
}

/** The interfaces of the CNI result an outcome printed, asserting that it printed one that has them. */
export function resultInterfaces(o: ShimOutcome | undefined): Array<{ name: string; mac?: string; sandbox?: string }> {
  const interfaces = o?.json?.interfaces;
  assert.ok(Array.isArray(interfaces), `a CNI result with interfaces: ${o?.stdout}`);
  return interfaces as Array<{ name: string; mac?: string; sandbox?: string }>;
}

/** The ips of the CNI result an outcome printed, asserting that it printed one that has them. */
export function resultIps(o: ShimOutcome | undefined): Array<{ address: string; gateway?: string; interface?: number }> {
  const ips = o?.json?.ips;
  assert.ok(Array.isArray(ips), `a CNI result with ips: ${o?.stdout}`);
  return ips as Array<{ address: string; gateway?: string; interface?: number }>;
}

/** The host side of the pod's veth: the name of the result's first interface. */
export function hostInterfaceOf(o: ShimOutcome | undefined): string {
  const name = resultInterfaces(o)[0]?.name;
  assert.ok(name, `a CNI result whose first interface has a name: ${o?.stdout}`);
  return name;
}

/** The result's index-th address without its prefix length. */
export function resultAddress(o: ShimOutcome | undefined, index = 0): string {
  const address = resultIps(o)[index]?.address.split('/')[0];
  assert.ok(address, `a CNI result with an address at ips[${index}]: ${o?.stdout}`);
  return address;
}
