/**
 * The routes a stored ADD result says were installed, as IpamRoute entries, for the checks
 * that run without the network config (start-up verification, Debug's GetAttachment): the
 * result's `routes` are exactly what the datapath installed on the pod interface.
 */
import { type IpamRoute, parseIpamRoutes } from './ipam-routes';

/** The result's routes; undefined (the default routes) when the result is missing or unreadable. */
export function routesOfStoredResult(resultJson: string | undefined): IpamRoute[] | undefined {
  return storedRoutesReader()(resultJson);
}

/** `{ routes }` to spread into a PodNetworkSpec, or nothing when the defaults apply. */
export function withStoredRoutes(resultJson: string | undefined): { routes?: IpamRoute[] } {
  const routes = routesOfStoredResult(resultJson);
  return routes ? { routes } : {};
}

/**
 * routesOfStoredResult for many results at once (reconcile reads every ready attachment's):
 * the pods of a network share their routes, so each distinct list is parsed once and its
 * IpamRoute[] shared by every result that has it (read-only, as a PodNetworkSpec's routes are).
 */
export function storedRoutesReader(): (resultJson: string | undefined) => IpamRoute[] | undefined {
  const parsed = new Map<string, IpamRoute[] | undefined>();
  return (resultJson) => {
    if (resultJson === undefined || resultJson === '') return undefined;
    let routes: unknown;
    try {
      routes = (JSON.parse(resultJson) as { routes?: unknown }).routes;
    } catch {
      return undefined;
    }
    if (!Array.isArray(routes)) return undefined;
    const key = JSON.stringify(routes);
    if (parsed.has(key)) return parsed.get(key);
    let list: IpamRoute[] | undefined;
    try {
      // A stored result carries only dst and gw (routed-veth-layout's resultRoutes()).
      list = parseIpamRoutes(routes);
    } catch {
      list = undefined;
    }
    parsed.set(key, list);
    return list;
  };
}
