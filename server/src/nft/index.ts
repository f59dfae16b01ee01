/**
 * podwired's nftables layer: the only code that talks to nftables (libnftables in-process,
 * JSON commands, one transaction per change). What the rest of podwired uses:
 *
 *   const nft = NftTables.open(ownerTag);                      // podwired's netns; or (ownerTag, enter)
 *   nft.rebuild({ masquerade, portMappings });                 // at start: the whole table, from store + config
 *   nft.addPortMappings(holder, portMappingsFor(rc.portMappings, podIPs)); // ADD: throws PortMappingConflict
 *   enableRouteLocalnet(hostIfname);                           // ADD with IPv4 mappings: 127.0.0.1 reaches them
 *   nft.checkPortMappings(holder);                             // CHECK: [] when all is programmed
 *   const gone = nft.removePortMappings(holder);               // DEL
 *   await conntrack.clearAfterUnmap(gone);                     // DEL: stale UDP flows to the old pod
 *   nft.setMasqueradeCidrs('cluster', podCidrsOfEveryNode);    // peers changed: element delta
 *   nft.resync();                                              // periodic: repairs drift whole
 *   summaryOf(nft.readBack());                                 // status / Debug
 */
export { ConntrackCleaner } from './conntrack-clear';
export type { ConntrackSelector } from './conntrack-clear';
export type { MasqueradeState } from './masquerade-rules';
export { NftContext } from './nft-context';
export type { NetnsEnter, NftContextOptions } from './nft-context';
export { NftError, isNftError } from './nft-error';
export { NftTables, PortMappingConflict } from './nft-tables';
export type { NftDesiredState, NftTablesOptions } from './nft-tables';
export { InvalidPortMapping, canonicalMapping, portKeyOf, portMappingsFor } from './port-mappings';
export type { HeldPortMapping, PodPortMapping } from './port-mappings';
export { summaryOf } from './read-back';
export type { NftProgrammed, ProgrammedSummary } from './read-back';
export { enableRouteLocalnet } from './route-localnet';
export type { TableExtension } from './table-extension';
export { tableNameOf } from './table-layout';
