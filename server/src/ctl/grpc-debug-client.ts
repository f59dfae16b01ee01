import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import type { DebugClient } from '../generated/podwire/v1/Debug';
import type { GetAttachmentReply__Output } from '../generated/podwire/v1/GetAttachmentReply';
import type { GetAttachmentRequest } from '../generated/podwire/v1/GetAttachmentRequest';
import type { ListAttachmentsReply__Output } from '../generated/podwire/v1/ListAttachmentsReply';
import type { ListAttachmentsRequest } from '../generated/podwire/v1/ListAttachmentsRequest';
import type { ListLeasesReply__Output } from '../generated/podwire/v1/ListLeasesReply';
import type { ListPeersReply__Output } from '../generated/podwire/v1/ListPeersReply';
import type { PolicyWhyReply__Output } from '../generated/podwire/v1/PolicyWhyReply';
import type { PolicyWhyRequest } from '../generated/podwire/v1/PolicyWhyRequest';
import type { ServerInfoReply__Output } from '../generated/podwire/v1/ServerInfoReply';
import { loadDebugProto } from '../grpc/load-proto';
import { type Connection, grpcTarget } from './connection';
import { CtlError } from './ctl-error';
import type { DebugApi, EventWatch } from './debug-api';
import { EXIT } from './exit-codes';
import { ctlErrorFromGrpc, isGrpcFailure } from './grpc-errors';
import { type TlsMaterial, diagnoseTls } from './tls-diagnosis';

interface HealthClient extends grpc.Client {
  Check(req: { service: string }, options: grpc.CallOptions, cb: grpc.requestCallback<{ status: string }>): grpc.ClientUnaryCall;
}

function readPem(file: string, flag: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new CtlError(`cannot read ${flag} ${file}: ${err instanceof Error ? err.message : String(err)}`, EXIT.TLS);
  }
}

function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

/** podwirectl's gRPC client: Debug and grpc.health.v1 over one channel. */
export class GrpcDebugClient implements DebugApi {
  private readonly debug: DebugClient;
  private readonly healthClient: HealthClient;
  private readonly tls: TlsMaterial | undefined;

  constructor(
    private readonly conn: Connection,
    private readonly timeoutMs: number,
  ) {
    let creds: grpc.ChannelCredentials;
    const options: grpc.ChannelOptions = {};
    if (conn.kind === 'unix') {
      creds = grpc.credentials.createInsecure();
    } else {
      this.tls = {
        ca: readPem(conn.caFile, '--ca'),
        key: readPem(conn.keyFile, '--key'),
        cert: readPem(conn.certFile, '--cert'),
        ...(conn.serverName !== undefined ? { serverName: conn.serverName } : {}),
      };
      try {
        creds = grpc.credentials.createSsl(this.tls.ca, this.tls.key, this.tls.cert);
      } catch (err) {
        throw new CtlError(`unusable TLS material (--ca/--key/--cert): ${err instanceof Error ? err.message : String(err)}`, EXIT.TLS);
      }
      if (conn.serverName !== undefined) options['grpc.ssl_target_name_override'] = conn.serverName;
    }
    const Debug = loadDebugProto().podwire.v1.Debug;
    this.debug = new Debug(grpcTarget(conn), creds, options);
    const Health = grpc.makeClientConstructor(healthService as unknown as grpc.ServiceDefinition, 'Health');
    this.healthClient = new Health(grpcTarget(conn), creds, { channelOverride: this.debug.getChannel() }) as unknown as HealthClient;
  }

  private callOptions(): grpc.CallOptions {
    return { deadline: Date.now() + this.timeoutMs };
  }

  private async failure(err: unknown, method: string): Promise<Error> {
    if (!isGrpcFailure(err)) return err instanceof Error ? err : new Error(String(err));
    let diagnosis: string | undefined;
    if (this.tls && this.conn.kind === 'remote' && err.code === grpc.status.UNAVAILABLE) {
      const { host, port } = splitHostPort(this.conn.address);
      diagnosis = await diagnoseTls(host, port, this.tls, Math.min(this.timeoutMs, 5_000));
    }
    return ctlErrorFromGrpc(err, method, this.conn, this.timeoutMs, diagnosis);
  }

  private unary<Rep>(method: string, invoke: (opts: grpc.CallOptions, cb: grpc.requestCallback<Rep>) => unknown): Promise<Rep> {
    return new Promise<Rep>((resolve, reject) => {
      invoke(this.callOptions(), (err, reply) => {
        if (err) void this.failure(err, method).then(reject);
        else if (reply === undefined) reject(new CtlError(`${method}: empty reply`, EXIT.FAILED));
        else resolve(reply);
      });
    });
  }

  serverInfo(): Promise<ServerInfoReply__Output> {
    return this.unary('ServerInfo', (o, cb) => this.debug.ServerInfo({}, o, cb));
  }

  listAttachments(req: ListAttachmentsRequest): Promise<ListAttachmentsReply__Output> {
    return this.unary('ListAttachments', (o, cb) => this.debug.ListAttachments(req, o, cb));
  }

  getAttachment(req: GetAttachmentRequest): Promise<GetAttachmentReply__Output> {
    return this.unary('GetAttachment', (o, cb) => this.debug.GetAttachment(req, o, cb));
  }

  listLeases(network: string): Promise<ListLeasesReply__Output> {
    return this.unary('ListLeases', (o, cb) => this.debug.ListLeases({ network }, o, cb));
  }

  listPeers(): Promise<ListPeersReply__Output> {
    return this.unary('ListPeers', (o, cb) => this.debug.ListPeers({}, o, cb));
  }

  policyWhy(req: PolicyWhyRequest): Promise<PolicyWhyReply__Output> {
    return this.unary('PolicyWhy', (o, cb) => this.debug.PolicyWhy(req, o, cb));
  }

  async health(service: string): Promise<string> {
    try {
      const reply = await this.unary<{ status: string }>('Health/Check', (o, cb) => this.healthClient.Check({ service }, o, cb));
      return reply.status;
    } catch (err) {
      // The health service answers NOT_FOUND for a service it has no status for.
      if (err instanceof CtlError && err.exitCode === EXIT.NOT_FOUND) return 'SERVICE_UNKNOWN';
      throw err;
    }
  }

  watchEvents(onEvent: Parameters<DebugApi['watchEvents']>[0], onSubscribed?: () => void): EventWatch {
    const call = this.debug.WatchEvents({});
    let cancelled = false;
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', onEvent);
      if (onSubscribed) call.once('metadata', () => onSubscribed());
      // 'status' comes last, after 'end' or 'error', and says how the stream ended.
      call.on('error', () => undefined);
      call.on('status', (st: grpc.StatusObject) => {
        if (st.code === grpc.status.OK || (cancelled && st.code === grpc.status.CANCELLED)) resolve();
        else void this.failure({ code: st.code, details: st.details }, 'WatchEvents').then(reject);
      });
    });
    return {
      done,
      cancel: () => {
        cancelled = true;
        call.cancel();
      },
    };
  }

  close(): void {
    this.debug.close();
  }
}
