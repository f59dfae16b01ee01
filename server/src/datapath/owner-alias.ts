/** The alias marking a host end as created by the server with this owner tag (reconcile removes only its own). */
export function ownerAlias(ownerTag: string): string {
  return `podwire:${ownerTag}`;
}
