import Database from 'better-sqlite3';

export interface LeaseRow {
  network: string;
  container_id: string;
  ifname: string;
  address: string;
}

export interface AttachmentRow {
  network: string;
  container_id: string;
  ifname: string;
  netns: string;
  host_ifname: string;
  state: string;
  result: string | null;
  pod_namespace: string | null;
  pod_name: string | null;
}

/** Reads the server's SQLite file directly (read-only, a separate connection). */
export function readStore(dbPath: string): { leases: LeaseRow[]; attachments: AttachmentRow[] } {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return {
      leases: db.prepare('SELECT network, container_id, ifname, address FROM leases ORDER BY address').all() as LeaseRow[],
      attachments: db
        .prepare('SELECT network, container_id, ifname, netns, host_ifname, state, result, pod_namespace, pod_name FROM attachments ORDER BY container_id')
        .all() as AttachmentRow[],
    };
  } finally {
    db.close();
  }
}
