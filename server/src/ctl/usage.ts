import { DEFAULT_CTL_SOCKET } from './connection';
import { EXIT_CODES_HELP } from './exit-codes';

export const CTL_USAGE = `usage: podwirectl COMMAND [flags]

Read-only view of a running podwired (podwire's node server).

commands:
  status                      server version, uptime, readiness, store/netlink health, pool usage
  pods [-n NS] [--network N]  attachments in the lease store
  pod ID|NAMESPACE/NAME       one attachment: stored result, both veth ends, routes, problems
        [--network N] [--ifname IF]   (narrow the choice when a container has several)
  leases [--network N]        leased addresses
  peers                       this node's pod CIDRs, its peers and their routes
  events [--count N]          CNI calls as they complete, watched for --timeout seconds (default 5)
  events --follow [--count N] CNI calls as they complete, until Ctrl-C (or N events)
  health [--service NAME]     gRPC health check; exit 0 only when SERVING (the probes use this)
  policy why SRC DST PORT[/PROTO]
                              NetworkPolicy: is a new connection allowed, and which policies and
                              rules decide it (SRC, DST: namespace/name or an address; 80/TCP)

connection (default: the local socket):
  --socket PATH               podwired's unix socket (env PODWIRE_SOCKET, default ${DEFAULT_CTL_SOCKET})
  --remote HOST:PORT          podwired's TCP listener, mutual TLS; needs all of:
    --cert FILE --key FILE    this client's certificate and key (PEM)
    --ca FILE                 the CA the server's certificate must chain to (PEM)
    --server-name NAME        check the server certificate for NAME instead of HOST

output:
  -o table|json               table (default) or JSON; events -o json prints one JSON object per line
  --timeout SECONDS           deadline of each call (default 10)
  -h, --help                  this text

${EXIT_CODES_HELP}`;
