/**
 * IpamStore on SQLite (better-sqlite3, synchronous).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Transaction } from 'better-sqlite3';
import { IpamError } from './ipam-error';
import { type IpFamily, type IpValue, addressKey, formatIp, parseAddressKey, parseIp } from './ip-address';
import { type RangeSet, describeRangeSet, findRange } from './ip-range';
import { findNextFree } from './allocator';
import { migrate } from './schema';
import type {
  Allocation,
  Attachment,
  AttachmentFilter,
  AttachmentKey,
  AttachmentState,
  AttachmentWithLeases,
  IpamStore,
  Lease,
  NewAttachment,
  RangeSetUsage,
  AllocateOptions,
} from './ipam-store';

export interface OpenOptions {
  /**
   * SQLite `synchronous` level (journal_mode is always WAL).
   * - 'full' (default): every commit is fsync'ed to the WAL before commit()
   *   / remove() return, so a lease the caller went on to program into the
   *   kernel survives power loss too.
   * - 'normal': commits survive a crash of the process but the last ones may
   *   be lost on power loss or a kernel crash (fsync only at checkpoints).
   */
  readonly synchronous?: 'full' | 'normal';
  /** How long to wait for another connection's write lock, ms (default 5000). */
  readonly busyTimeoutMs?: number;
}

interface AttachmentRow {
  network: string;
  container_id: string;
  ifname: string;
  netns: string;
  host_ifname: string;
  state: string;
  result: string | null;
  pod_namespace: string | null;
  pod_name: string | null;
  pod_uid: string | null;
  infra_container_id: string | null;
  created_at: number;
}

interface LeaseRow {
  network: string;
  container_id: string;
  ifname: string;
  set_index: number;
  family: number;
  addr_key: string;
  address: string;
  prefix_length: number;
  gateway: string | null;
}

type KeyParams = [network: string, containerId: string, ifname: string];

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

function toAttachment(row: AttachmentRow): Attachment {
  const state: AttachmentState = row.state === 'ready' ? 'ready' : 'pending';
  return {
    network: row.network,
    containerId: row.container_id,
    ifname: row.ifname,
    netns: row.netns,
    hostIfname: row.host_ifname,
    state,
    createdAt: row.created_at,
    ...(row.result !== null && { result: row.result }),
    ...(row.pod_namespace !== null && { podNamespace: row.pod_namespace }),
    ...(row.pod_name !== null && { podName: row.pod_name }),
    ...(row.pod_uid !== null && { podUid: row.pod_uid }),
    ...(row.infra_container_id !== null && { infraContainerId: row.infra_container_id }),
  };
}

function toLease(row: LeaseRow): Lease {
  const family: IpFamily = row.family === 6 ? 6 : 4;
  return {
    network: row.network,
    containerId: row.container_id,
    ifname: row.ifname,
    address: row.address,
    family,
    prefixLength: row.prefix_length,
    setIndex: row.set_index,
    ...(row.gateway !== null && { gateway: row.gateway }),
  };
}

function keyParams(key: AttachmentKey): KeyParams {
  for (const field of ['network', 'containerId', 'ifname'] as const) {
    const v: unknown = key[field];
    if (typeof v !== 'string' || v === '') {
      throw new IpamError('invalid-argument', `attachment ${field} must be a non-empty string, got ${JSON.stringify(v)}`);
    }
  }
  return [key.network, key.containerId, key.ifname];
}

function describeKey(key: AttachmentKey): string {
  return `${key.network}/${key.containerId}/${key.ifname}`;
}

/** Create the file (mode 0600) if missing and force 0600 on it and its -wal/-shm. */
function secureFiles(dbPath: string): void {
  fs.closeSync(fs.openSync(dbPath, fs.constants.O_RDWR | fs.constants.O_CREAT, FILE_MODE));
  for (const p of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) {
    try {
      fs.chmodSync(p, FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

export class SqliteIpamStore implements IpamStore {
  private readonly db: Db;
  private readonly stmt: ReturnType<typeof prepareStatements>;
  private readonly removeTx: Transaction<(key: KeyParams) => AttachmentWithLeases | undefined>;
  private readonly getTx: Transaction<(key: KeyParams) => AttachmentWithLeases | undefined>;
  private readonly usageTx: Transaction<(sets: readonly RangeSet[]) => RangeSetUsage[]>;
  private readonly chooseTx: Transaction<(att: NewAttachment, sets: readonly RangeSet[], requested: readonly IpValue[]) => Choice>;
  private readonly commitTx: Transaction<(att: NewAttachment, choice: Choice, resultJson: string | undefined) => void>;
  /**
   * Addresses held by allocations not yet committed or released, node-wide (every network):
   * addr key -> the attachment being added.
   */
  private readonly held = new Map<string, AttachmentKey>();
  /** Attachments being allocated (describeKey). */
  private readonly heldKeys = new Set<string>();
  /**
   * Round-robin cursors moved by allocate() before their commit (`network\0setId` ->
   * addr key), so concurrent allocations continue from each other, not from the last commit.
   */
  private readonly cursors = new Map<string, string>();

  /**
   * Open (creating if needed) the store at `dbPath`. The parent directory is
   * created with mode 0700 if missing; the database and its -wal/-shm files
   * get mode 0600 (SQLite creates -wal/-shm with the main file's mode).
   */
  constructor(
    readonly dbPath: string,
    options: OpenOptions = {},
  ) {
    const inMemory = dbPath === ':memory:';
    if (!inMemory) {
      if (dbPath === '') throw new IpamError('invalid-argument', 'database path must not be empty');
      fs.mkdirSync(path.dirname(dbPath), { recursive: true, mode: DIR_MODE });
      secureFiles(dbPath);
    }
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    const db = new Database(dbPath, { timeout: busyTimeoutMs });
    try {
      db.pragma('foreign_keys = ON');
      db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
      // WAL: readers never block the writer.
      // synchronous=FULL by default: WAL+NORMAL survives a process crash but
      // may lose the last commits on power loss, which matters to a caller
      // whose leases outlive a power loss. FULL fsyncs the WAL per commit, on
      // the caller's thread (its cost: README "Measured"). podwired opens
      // with NORMAL: its leases are backed by pod netns and veths, which a
      // power loss destroys too (docs/architecture.md, "Durability").
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      migrate(db, dbPath);
      if (!inMemory) secureFiles(dbPath);
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
    this.stmt = prepareStatements(db);
    this.removeTx = db.transaction((key: KeyParams) => this.removeInTx(key));
    this.getTx = db.transaction((key: KeyParams) => this.getInTx(key));
    this.usageTx = db.transaction((sets: readonly RangeSet[]) => this.usageInTx(sets));
    this.chooseTx = db.transaction((att: NewAttachment, sets: readonly RangeSet[], requested: readonly IpValue[]) => this.choose(att, sets, requested));
    this.commitTx = db.transaction((att: NewAttachment, choice: Choice, resultJson: string | undefined) => this.write(att, choice, resultJson));
  }

  allocate(att: NewAttachment, sets: readonly RangeSet[], opts: AllocateOptions = {}): Allocation {
    this.assertOpen();
    const requested = validRequest(att, opts);
    // A read transaction: the choice sees one consistent state of the file (no write lock).
    const choice = this.chooseTx.deferred(att, sets, requested);
    const name = describeKey(att);
    this.heldKeys.add(name);
    const holder: AttachmentKey = { network: att.network, containerId: att.containerId, ifname: att.ifname };
    for (const k of choice.addrKeys) this.held.set(k, holder);
    for (const [setId, k] of choice.cursors) this.cursors.set(cursorName(att.network, setId), k);
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      this.heldKeys.delete(name);
      for (const k of choice.addrKeys) if (this.held.get(k) === holder) this.held.delete(k);
    };
    // The hold ends once written; a write that fails keeps it, for the caller to release it
    // or to keep the addresses another way (keepPending() after a failed commit()).
    const write = (resultJson: string | undefined): void => {
      if (!held) throw new IpamError('invalid-argument', `allocation of ${name} was already committed or released`);
      this.assertOpen();
      // The cursors as they stand now: a later allocate() may have moved them past ours.
      const cursors = choice.cursors.map(([setId, k]): [string, string] => [setId, this.cursors.get(cursorName(att.network, setId)) ?? k]);
      this.commitTx.immediate(att, { ...choice, cursors }, resultJson);
      release();
    };
    return {
      leases: choice.leases,
      commit: (resultJson: string) => write(resultJson),
      keepPending: () => write(undefined),
      release,
    };
  }

  remove(key: AttachmentKey): AttachmentWithLeases | undefined {
    this.assertOpen();
    return this.removeTx.immediate(keyParams(key));
  }

  get(key: AttachmentKey): AttachmentWithLeases | undefined {
    this.assertOpen();
    // One read transaction so the attachment and its leases are consistent.
    return this.getTx.deferred(keyParams(key));
  }

  listAttachments(filter: AttachmentFilter = {}): Attachment[] {
    this.assertOpen();
    return this.stmt.listAttachments.all({ network: filter.network ?? null, state: filter.state ?? null }).map(toAttachment);
  }

  listLeases(network?: string): Lease[] {
    this.assertOpen();
    const rows = network === undefined ? this.stmt.listAllLeases.all() : this.stmt.listLeases.all(network);
    return rows.map(toLease);
  }

  usage(_network: string, sets: readonly RangeSet[]): RangeSetUsage[] {
    this.assertOpen();
    return this.usageTx.deferred(sets);
  }

  /**
   * Run `fn` in one IMMEDIATE transaction (the transactions of allocate(),
   * commit() and remove() inside it become savepoints; a throwing commit still
   * leaves nothing of its own behind).
   * Used for bulk work such as garbage collection or filling test databases.
   */
  batch<T>(fn: () => T): T {
    this.assertOpen();
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private assertOpen(): void {
    if (!this.db.open) throw new IpamError('closed', `ipam store ${this.dbPath} is closed`);
  }

  private getInTx(params: KeyParams): AttachmentWithLeases | undefined {
    const row = this.stmt.getAttachment.get(...params);
    if (row === undefined) return undefined;
    return { attachment: toAttachment(row), leases: this.stmt.leasesOf.all(...params).map(toLease) };
  }

  /** Node-wide: every network's leases count (see RangeSetUsage.used). */
  private usageInTx(sets: readonly RangeSet[]): RangeSetUsage[] {
    const cap = BigInt(Number.MAX_SAFE_INTEGER);
    return sets.map((set) => {
      let used = 0;
      for (const r of set.ranges) {
        used += this.stmt.countIn.get(addressKey(r.family, r.first), addressKey(r.family, r.last)) ?? 0;
      }
      return { set: set.id, used, size: Number(set.size < cap ? set.size : cap) };
    });
  }

  private removeInTx(params: KeyParams): AttachmentWithLeases | undefined {
    const found = this.getInTx(params);
    if (found !== undefined) this.stmt.deleteAttachment.run(...params); // leases go by ON DELETE CASCADE
    return found;
  }

  private cursorOf(network: string, setId: string): string | undefined {
    return this.cursors.get(cursorName(network, setId)) ?? this.stmt.getCursor.get(network, setId);
  }

  /**
   * Addresses in [lo, hi] leased in any network or held by an allocation of this store,
   * ascending and distinct (an address a version-1 database leased twice counts once), at
   * most `limit`.
   */
  private usedIn(family: IpFamily, lo: bigint, hi: bigint, limit: number): string[] {
    const loKey = addressKey(family, lo);
    const hiKey = addressKey(family, hi);
    const keys = this.stmt.usedIn.all(loKey, hiKey, limit);
    if (this.held.size === 0) return keys;
    const extra = [...this.held.keys()].filter((k) => k >= loKey && k <= hiKey);
    if (extra.length === 0) return keys;
    return [...new Set([...keys, ...extra])].sort().slice(0, limit);
  }

  /** Who has the address: a lease in any network, else an allocation not committed yet. */
  private holderOf(addrKey: string): { key: AttachmentKey; committed: boolean } | undefined {
    const row = this.stmt.holderAt.get(addrKey);
    if (row !== undefined) return { key: { network: row.network, containerId: row.container_id, ifname: row.ifname }, committed: true };
    const held = this.held.get(addrKey);
    return held === undefined ? undefined : { key: held, committed: false };
  }

  /** The leases allocate() hands out, chosen without writing anything. Call inside a transaction. */
  private choose(att: NewAttachment, sets: readonly RangeSet[], requested: readonly IpValue[]): Choice {
    const key = keyParams(att);
    if (this.stmt.getAttachment.get(...key) !== undefined || this.heldKeys.has(describeKey(att))) {
      throw new IpamError('exists', `attachment ${describeKey(att)} already exists`);
    }
    // Assign each requested address to the set containing it.
    const wanted = new Map<number, IpValue>();
    for (const ip of requested) {
      const text = formatIp(ip.family, ip.value);
      const setIndex = sets.findIndex((s) => findRange(s, ip.family, ip.value) !== undefined);
      const set = sets[setIndex];
      const range = set === undefined ? undefined : findRange(set, ip.family, ip.value);
      if (set === undefined || range === undefined) {
        throw new IpamError('requested-not-in-range', `requested address ${text} is in none of the ranges of network ${att.network}`);
      }
      if (range.reserved.includes(ip.value)) {
        throw new IpamError('requested-not-in-range', `requested address ${text} is a reserved (network, broadcast or gateway) address of ${range.subnet}`);
      }
      if (wanted.has(setIndex)) {
        throw new IpamError('invalid-argument', `more than one requested address in range set ${setIndex} (${describeRangeSet(set)})`);
      }
      const holder = this.holderOf(addressKey(ip.family, ip.value));
      if (holder !== undefined) {
        throw new IpamError(
          'requested-in-use',
          `requested address ${text} ${holder.committed ? 'is leased to' : 'is being added for'} ${describeHolder(holder.key)} ` +
            '(an address is unique on the node, across networks)',
        );
      }
      wanted.set(setIndex, ip);
    }

    const choice: Choice = { leases: [], addrKeys: [], requestedKeys: new Set(), cursors: [] };
    sets.forEach((set, setIndex) => {
      let value = wanted.get(setIndex)?.value;
      let range = value === undefined ? undefined : findRange(set, set.family, value);
      if (value === undefined) {
        const cursorKey = this.cursorOf(att.network, set.id);
        const cursor = cursorKey === undefined ? undefined : parseAddressKey(cursorKey);
        const found = findNextFree(set, cursor !== undefined && cursor.family === set.family ? cursor.value : undefined, (lo, hi, limit) => {
          const keys = this.usedIn(set.family, lo, hi, limit);
          return { length: keys.length, valueAt: (i) => parseAddressKey(keys[i] ?? '').value };
        });
        if (found === undefined) {
          throw new IpamError('exhausted', `no free address in network ${att.network} range set ${setIndex}: ${describeRangeSet(set)}`);
        }
        value = found.value;
        range = found.range;
        // Requested addresses do not move the cursor: round-robin order is unaffected.
        choice.cursors.push([set.id, addressKey(set.family, value)]);
      } else {
        choice.requestedKeys.add(addressKey(set.family, value));
      }
      if (range === undefined) throw new Error('unreachable: leased address outside its set');
      choice.addrKeys.push(addressKey(set.family, value));
      choice.leases.push({
        network: att.network,
        containerId: att.containerId,
        ifname: att.ifname,
        address: formatIp(set.family, value),
        family: set.family,
        prefixLength: range.prefixLength,
        setIndex,
        ...(range.gateway !== undefined && { gateway: range.gateway }),
      });
    });
    return choice;
  }

  /**
   * The attachment (`ready` with its result, or `pending` without one), its leases and the
   * moved cursors. Call inside a write transaction.
   */
  private write(att: NewAttachment, choice: Choice, result: string | undefined): void {
    // Node-wide uniqueness, checked here because the schema cannot enforce it (schema.ts,
    // version 2): within this store the holds already keep chosen addresses apart, so a
    // lease found now was written by another connection since the choice.
    choice.leases.forEach((lease, i) => {
      const row = this.stmt.holderAt.get(choice.addrKeys[i] ?? '');
      if (row === undefined) return;
      const holder = describeHolder({ network: row.network, containerId: row.container_id, ifname: row.ifname });
      const requested = choice.requestedKeys.has(choice.addrKeys[i] ?? '');
      throw new IpamError(
        requested ? 'requested-in-use' : 'conflict',
        `${requested ? 'requested address' : 'address'} ${lease.address} of ${describeKey(att)} was leased to ${holder} by another writer meanwhile` +
          (requested ? '' : '; allocating again chooses another'),
      );
    });
    try {
      this.stmt.insertAttachment.run({
        network: att.network,
        container_id: att.containerId,
        ifname: att.ifname,
        netns: att.netns,
        host_ifname: att.hostIfname,
        state: result === undefined ? 'pending' : 'ready',
        result: result ?? null,
        pod_namespace: att.podNamespace ?? null,
        pod_name: att.podName ?? null,
        pod_uid: att.podUid ?? null,
        infra_container_id: att.infraContainerId ?? null,
        created_at: att.createdAt ?? Date.now(),
      });
      choice.leases.forEach((lease, i) => {
        this.stmt.insertLease.run({
          network: lease.network,
          container_id: lease.containerId,
          ifname: lease.ifname,
          set_index: lease.setIndex,
          family: lease.family,
          addr_key: choice.addrKeys[i] ?? '',
          address: lease.address,
          prefix_length: lease.prefixLength,
          gateway: lease.gateway ?? null,
        });
      });
    } catch (err) {
      throw constraintToIpamError(err, att);
    }
    for (const [setId, k] of choice.cursors) this.stmt.setCursor.run(att.network, setId, k);
  }
}

/** What allocate() decides before writing. */
interface Choice {
  readonly leases: Lease[];
  /** addressKey of each lease, in lease order. */
  readonly addrKeys: string[];
  /** addressKey of the leases that were requested (not chosen by the store). */
  readonly requestedKeys: Set<string>;
  /** [set id, addr key] of each set whose cursor moved. */
  readonly cursors: Array<[string, string]>;
}

function describeHolder(key: AttachmentKey): string {
  return `network ${key.network}, container ${key.containerId}, interface ${key.ifname}`;
}

function cursorName(network: string, setId: string): string {
  return `${network}\0${setId}`;
}

/** The requested addresses of an allocate(), parsed; the attachment's fields checked. */
function validRequest(att: NewAttachment, opts: AllocateOptions): IpValue[] {
  keyParams(att);
  for (const field of ['netns', 'hostIfname'] as const) {
    if (typeof att[field] !== 'string') {
      throw new IpamError('invalid-argument', `attachment ${field} must be a string`);
    }
  }
  return (opts.requested ?? []).map((text) => {
    const ip = typeof text === 'string' ? parseIp(text.trim()) : undefined;
    if (ip === undefined) {
      throw new IpamError('invalid-argument', `requested address ${JSON.stringify(text)} is not an IP address`);
    }
    return ip;
  });
}

/**
 * A constraint violation at commit: another connection wrote the key meanwhile (an address
 * it wrote is found by write()'s own check before the insert, naming the holder).
 */
function constraintToIpamError(err: unknown, att: NewAttachment): unknown {
  const code = (err as { code?: unknown }).code;
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return new IpamError('exists', `attachment ${describeKey(att)} already exists`);
  if (code === 'SQLITE_CONSTRAINT_UNIQUE') return new IpamError('conflict', `an address of ${describeKey(att)} was leased by another writer meanwhile`);
  return err;
}

function prepareStatements(db: Db) {
  const keyWhere = 'network = ? AND container_id = ? AND ifname = ?';
  return {
    getAttachment: db.prepare<KeyParams, AttachmentRow>(`SELECT * FROM attachments WHERE ${keyWhere}`),
    insertAttachment: db.prepare<[AttachmentRow], void>(
      `INSERT INTO attachments (network, container_id, ifname, netns, host_ifname, state, result,
                                pod_namespace, pod_name, pod_uid, infra_container_id, created_at)
       VALUES (@network, @container_id, @ifname, @netns, @host_ifname, @state, @result,
               @pod_namespace, @pod_name, @pod_uid, @infra_container_id, @created_at)`,
    ),
    deleteAttachment: db.prepare<KeyParams, void>(`DELETE FROM attachments WHERE ${keyWhere}`),
    listAttachments: db.prepare<[{ network: string | null; state: string | null }], AttachmentRow>(
      `SELECT * FROM attachments
       WHERE (@network IS NULL OR network = @network) AND (@state IS NULL OR state = @state)
       ORDER BY network, container_id, ifname`,
    ),
    leasesOf: db.prepare<KeyParams, LeaseRow>(`SELECT * FROM leases WHERE ${keyWhere} ORDER BY set_index`),
    listLeases: db.prepare<[string], LeaseRow>('SELECT * FROM leases WHERE network = ? ORDER BY container_id, ifname, set_index'),
    listAllLeases: db.prepare<[], LeaseRow>('SELECT * FROM leases ORDER BY network, container_id, ifname, set_index'),
    insertLease: db.prepare<[LeaseRow], void>(
      `INSERT INTO leases (network, container_id, ifname, set_index, family, addr_key, address, prefix_length, gateway)
       VALUES (@network, @container_id, @ifname, @set_index, @family, @addr_key, @address, @prefix_length, @gateway)`,
    ),
    // Addresses are unique per node, across networks: these three look at every network's
    // leases (index leases_by_addr). DISTINCT, because a version-1 database may hold an
    // address twice (schema.ts, version 2).
    holderAt: db.prepare<[string], Pick<LeaseRow, 'network' | 'container_id' | 'ifname'>>(
      'SELECT network, container_id, ifname FROM leases WHERE addr_key = ? ORDER BY network, container_id, ifname LIMIT 1',
    ),
    usedIn: db
      .prepare<[string, string, number], string>('SELECT DISTINCT addr_key FROM leases WHERE addr_key >= ? AND addr_key <= ? ORDER BY addr_key LIMIT ?')
      .pluck(),
    countIn: db.prepare<[string, string], number>('SELECT count(DISTINCT addr_key) FROM leases WHERE addr_key >= ? AND addr_key <= ?').pluck(),
    getCursor: db.prepare<[string, string], string>('SELECT addr_key FROM cursors WHERE network = ? AND set_id = ?').pluck(),
    setCursor: db.prepare<[string, string, string], void>(
      `INSERT INTO cursors (network, set_id, addr_key) VALUES (?, ?, ?)
       ON CONFLICT (network, set_id) DO UPDATE SET addr_key = excluded.addr_key`,
    ),
  };
}

/** Open (creating if needed) the SQLite-backed store at `dbPath`. */
export function openIpamStore(dbPath: string, options?: OpenOptions): IpamStore {
  return new SqliteIpamStore(dbPath, options);
}
