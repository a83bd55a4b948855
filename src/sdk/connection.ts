import fs from 'node:fs';
import {
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  credentials,
  InterceptingCall,
  type Interceptor,
  Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import { AccountsServiceClient } from '../gen/archivar/v1/accounts.js';
import { AdminServiceClient } from '../gen/archivar/v1/admin.js';
import { DocumentsServiceClient } from '../gen/archivar/v1/documents.js';
import { SearchServiceClient } from '../gen/archivar/v1/search.js';

export interface ConnectOptions {
  /** `host:port` of the server. */
  server: string;
  /** PEM CA to verify the server with (a file path or the PEM bytes); when absent, the system CAs are used. */
  tlsCa?: string | Buffer;
  /**
   * PEM client certificate chain (a file path or the PEM bytes), presented to a server that requires one
   * (mTLS, `serve --tls-client-ca`); needs `tlsClientKey`.
   */
  tlsClientCert?: string | Buffer;
  /** PEM private key of `tlsClientCert` (a file path or the PEM bytes). */
  tlsClientKey?: string | Buffer;
  /**
   * Name the server certificate must carry when it is not the host of `server` (e.g. a server dialled by
   * IP address); also sent as the `:authority` of every call.
   */
  tlsServerName?: string;
  /** Plaintext gRPC (loopback development only); `tlsCa` is then ignored, the other TLS options are refused. */
  insecure?: boolean;
  /** Session token sent as `authorization: Bearer <token>`. */
  token?: string;
  channelOptions?: ChannelOptions;
}

/** The generated clients of every archivar.v1 service, sharing one channel. */
export interface Connection {
  documents: DocumentsServiceClient;
  search: SearchServiceClient;
  accounts: AccountsServiceClient;
  admin: AdminServiceClient;
  /** Replaces the session token used by later calls (after login). */
  setToken(token: string | undefined): void;
  close(): void;
}

type TlsOptions = Pick<ConnectOptions, 'tlsCa' | 'tlsClientCert' | 'tlsClientKey' | 'tlsServerName' | 'insecure'>;

/** A file path's bytes, or the bytes themselves. */
const pem = (v: string | Buffer | undefined): Buffer | null =>
  v === undefined ? null : typeof v === 'string' ? fs.readFileSync(v) : v;

/**
 * The channel credentials for `options`: plaintext with `insecure`, else TLS verified with `tlsCa` (or the
 * system CAs), presenting `tlsClientCert`/`tlsClientKey` when given. Throws when the client certificate
 * comes without its key (or the other way round), when a TLS-only option meets `insecure`, or when a PEM
 * file cannot be read or used.
 */
export function channelCredentials(options: TlsOptions): ChannelCredentials {
  if ((options.tlsClientCert === undefined) !== (options.tlsClientKey === undefined)) {
    throw new Error('tlsClientCert and tlsClientKey must be given together');
  }
  if (options.insecure) {
    if (options.tlsClientCert !== undefined || options.tlsServerName !== undefined) {
      throw new Error('insecure (plaintext) cannot be combined with tlsClientCert, tlsClientKey or tlsServerName');
    }
    return credentials.createInsecure();
  }
  return credentials.createSsl(pem(options.tlsCa), pem(options.tlsClientKey), pem(options.tlsClientCert));
}

/** The channel options TLS needs: with `tlsServerName`, the certificate-name override and the authority. */
export function tlsChannelOptions(options: Pick<ConnectOptions, 'tlsServerName' | 'insecure'>): ChannelOptions {
  if (options.insecure || !options.tlsServerName) return {};
  return { 'grpc.ssl_target_name_override': options.tlsServerName, 'grpc.default_authority': options.tlsServerName };
}

export function connect(options: ConnectOptions): Connection {
  let token = options.token;
  // An interceptor rather than call credentials: it also works on plaintext loopback channels.
  const auth: Interceptor = (opts, next) =>
    new InterceptingCall(next(opts), {
      start(metadata, listener, nextStart) {
        if (token !== undefined && metadata.get('authorization').length === 0) metadata.set('authorization', `Bearer ${token}`);
        nextStart(metadata, listener);
      },
    });
  const creds = channelCredentials(options);
  const channelOptions: ChannelOptions = {
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc.keepalive_time_ms': 30_000,
    ...tlsChannelOptions(options),
    ...options.channelOptions,
    interceptors: [auth],
  };
  const documents = new DocumentsServiceClient(options.server, creds, channelOptions);
  // Later clients share the first one's channel.
  const shared = { ...channelOptions, channelOverride: documents.getChannel() };
  const search = new SearchServiceClient(options.server, creds, shared);
  const accounts = new AccountsServiceClient(options.server, creds, shared);
  const admin = new AdminServiceClient(options.server, creds, shared);
  return {
    documents,
    search,
    accounts,
    admin,
    setToken(t) {
      token = t;
    },
    close() {
      documents.close();
    },
  };
}

/** Call options with a deadline `ms` from now. */
export function deadline(ms: number): Partial<CallOptions> {
  return { deadline: new Date(Date.now() + ms) };
}

/** Promisifies a generated unary method: `await unary(c.accounts.login.bind(c.accounts), req)`. */
export function unary<Req, Res>(
  method: (
    req: Req,
    metadata: Metadata,
    options: Partial<CallOptions>,
    cb: (err: ServiceError | null, res: Res) => void,
  ) => unknown,
  request: Req,
  options: Partial<CallOptions> = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, new Metadata(), options, (err, res) => (err ? reject(err) : resolve(res)));
  });
}
