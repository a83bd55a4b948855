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
  /** PEM CA to verify the server with; when absent, `insecure` must be set or the system CAs are used. */
  tlsCa?: string | Buffer;
  /** Plaintext gRPC (loopback development only). */
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

export function channelCredentials(options: Pick<ConnectOptions, 'tlsCa' | 'insecure'>): ChannelCredentials {
  if (options.insecure) return credentials.createInsecure();
  const ca = typeof options.tlsCa === 'string' ? fs.readFileSync(options.tlsCa) : options.tlsCa;
  return credentials.createSsl(ca ?? null);
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
