/**
 * The routes a stored ADD result says were installed, as IpamRoute entries, for the checks
 * that run without the network config (start-up verification, Debug's GetAttachment): the
 * result's `routes` are exactly what the datapath installed on the pod interface.
 */
import { IpamRoute, parseIpamRoutes } from './ipam-routes';

/** The result's routes; undefined (the default routes) when the result is missing or unreadable. */
export function routesOfStoredResult(resultJson: string | undefined): IpamRoute[] | undefined {
  if (resultJson === undefined || resultJson === '') return undefined;
  try {
    const routes = (JSON.parse(resultJson) as { routes?: unknown }).routes;
    if (!Array.isArray(routes)) return undefined;
    // A stored result carries only dst and gw (routed-veth-layout's resultRoutes()).
    return parseIpamRoutes(routes);
  } catch {
    return undefined;
  }
}

/** `{ routes }` to spread into a PodNetworkSpec, or nothing when the defaults apply. */
export function withStoredRoutes(resultJson: string | undefined): { routes?: IpamRoute[] } {
  const routes = routesOfStoredResult(resultJson);
  return routes ? { routes } : {};
}
