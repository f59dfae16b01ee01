/**
 * The upstream netpol suite's world (test/e2e/network/netpol): namespaces x, y, z (label
 * ns=<name>) with pods a, b, c (label pod=<name>) each serving TCP 80 and 81 and UDP 80 on
 * named container ports serve-80-tcp, serve-81-tcp, serve-80-udp. Pod addresses 10.42.N.M
 * (N = 1, 2, 3 for x, y, z; M = 1, 2, 3 for a, b, c). Raw API objects, as a policy file holds them.
 */

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const PODS = ['a', 'b', 'c'] as const;
/** Every pod key in matrix order: x/a x/b x/c y/a ... z/c. */
export const KEYS = NAMESPACES.flatMap((n) => PODS.map((p) => `${n}/${p}`));

export function podIP(key: string): string {
  const [ns, name] = key.split('/') as [string, string];
  return `10.42.${NAMESPACES.indexOf(ns as 'x') + 1}.${PODS.indexOf(name as 'a') + 1}`;
}

export function namespaceObject(name: string, labels: Record<string, string> = { ns: name }): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export function podObject(key: string, labels?: Record<string, string>): Record<string, unknown> {
  const [namespace, name] = key.split('/') as [string, string];
  const ip = podIP(key);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace, name, labels: labels ?? { pod: name } },
    spec: {
      containers: [
        {
          name: 'c80',
          ports: [
            { name: 'serve-80-tcp', containerPort: 80, protocol: 'TCP' },
            { name: 'serve-80-udp', containerPort: 80, protocol: 'UDP' },
          ],
        },
        { name: 'c81', ports: [{ name: 'serve-81-tcp', containerPort: 81 }] },
      ],
    },
    status: { podIP: ip, podIPs: [{ ip }] },
  };
}

export function policyObject(namespace: string, name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name }, spec };
}

export function baseWorld(): { namespaces: Record<string, unknown>[]; pods: Record<string, unknown>[] } {
  return { namespaces: NAMESPACES.map((n) => namespaceObject(n)), pods: KEYS.map((k) => podObject(k)) };
}

/**
 * A hand-written truth table: one row per source (matrix order), one character per
 * destination: '.' allowed, 'X' denied, '-' not probed (a pod to itself stays inside its
 * netns). Whitespace between groups is ignored.
 */
export function parseGrid(rows: string[]): Map<string, boolean> {
  if (rows.length !== KEYS.length) throw new Error(`grid: ${KEYS.length} rows expected`);
  const out = new Map<string, boolean>();
  rows.forEach((row, i) => {
    const cells = row.replace(/\s+/g, '');
    if (cells.length !== KEYS.length) throw new Error(`grid row ${i}: ${KEYS.length} cells expected, got ${JSON.stringify(row)}`);
    [...cells].forEach((c, j) => {
      if (c === '-') return;
      if (c !== '.' && c !== 'X') throw new Error(`grid row ${i}: ${JSON.stringify(c)}`);
      out.set(`${KEYS[i]}>${KEYS[j]}`, c === '.');
    });
  });
  return out;
}

/** A matrix as rows in parseGrid's format (for readable assertion diffs). */
export function formatGrid(cells: Map<string, boolean>): string[] {
  return KEYS.map((from) =>
    NAMESPACES.map((n) =>
      PODS.map((p) => {
        const v = cells.get(`${from}>${n}/${p}`);
        return v === undefined ? '-' : v ? '.' : 'X';
      }).join(''),
    ).join(' '),
  );
}
