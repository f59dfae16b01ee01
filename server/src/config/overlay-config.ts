/**
 * How pod traffic crosses to other nodes (`peers.encapsulation`, `peers.vxlan`): plain routes
 * via each peer's node address (host-gw), or a VXLAN overlay for every peer, or for the peers
 * whose address is not on-link only.
 */
import { ConfigError, isObject, rejectUnknownKeys } from './config-errors';

export type Encapsulation = 'none' | 'vxlan' | 'vxlan-cross-subnet';

export interface VxlanConfig {
  /** The VXLAN network identifier (1..16777215). */
  vni: number;
  /** The UDP port VXLAN is sent to and received on. */
  port: number;
}

export interface OverlayConfig {
  encapsulation: Encapsulation;
  vxlan: VxlanConfig;
}

export const DEFAULT_VXLAN: Readonly<VxlanConfig> = { vni: 1, port: 4789 };

export const NO_OVERLAY: Readonly<OverlayConfig> = { encapsulation: 'none', vxlan: { ...DEFAULT_VXLAN } };

/** The VXLAN device's name: fixed per VNI (at most "pwvx16777215", 12 characters; IFNAMSIZ allows 15). */
export function vxlanDeviceName(vni: number): string {
  return `pwvx${vni}`;
}

function integerIn(v: unknown, field: string, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new ConfigError(`"${field}" must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

/** `encapsulation` and `vxlan` of the "peers" object (absent: no encapsulation). */
export function parseOverlay(encapsulation: unknown, vxlan: unknown): OverlayConfig {
  let mode: Encapsulation = 'none';
  if (encapsulation !== undefined) {
    if (encapsulation !== 'none' && encapsulation !== 'vxlan' && encapsulation !== 'vxlan-cross-subnet') {
      throw new ConfigError(`"peers.encapsulation" must be "none", "vxlan" or "vxlan-cross-subnet", got ${JSON.stringify(encapsulation)}`);
    }
    mode = encapsulation;
  }
  if (vxlan === undefined) return { encapsulation: mode, vxlan: { ...DEFAULT_VXLAN } };
  if (!isObject(vxlan)) throw new ConfigError(`"peers.vxlan" must be an object, got ${JSON.stringify(vxlan)}`);
  rejectUnknownKeys(vxlan, ['vni', 'port'], '"peers.vxlan"');
  return {
    encapsulation: mode,
    vxlan: {
      vni: integerIn(vxlan.vni, 'peers.vxlan.vni', 1, 0xffffff, DEFAULT_VXLAN.vni),
      port: integerIn(vxlan.port, 'peers.vxlan.port', 1, 65535, DEFAULT_VXLAN.port),
    },
  };
}

/**
 * What a SIGHUP cannot apply to a running overlay: another mode, VNI or port (the device, its
 * FDB and the port filter are made for them at start). A note asking for a restart, or
 * undefined when the overlay settings are unchanged. `vni` and `port` count only with VXLAN on.
 */
export function overlayChangeNeedingRestart(running: OverlayConfig, next: OverlayConfig): string | undefined {
  if (next.encapsulation !== running.encapsulation)
    return `peers.encapsulation changed from ${running.encapsulation} to ${next.encapsulation}: restart podwired to apply it`;
  if (running.encapsulation === 'none') return undefined;
  const changed = (['vni', 'port'] as const).filter((k) => running.vxlan[k] !== next.vxlan[k]);
  if (changed.length === 0) return undefined;
  const what = changed.map((k) => `peers.vxlan.${k} ${running.vxlan[k]} -> ${next.vxlan[k]}`).join(', ');
  return `${what}: restart podwired to apply it (the running overlay keeps VNI ${running.vxlan.vni} on port ${running.vxlan.port})`;
}
