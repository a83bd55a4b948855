/**
 * Authentication of every RPC: each method of the four generated service definitions (unary and streaming)
 * called without a token, and with a well-formed token no session has. Only Register and Login reach their
 * handlers; grpc.health.v1 is a separate service and needs no token either.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountsServiceService } from '../../src/gen/archivar/v1/accounts.js';
import { AdminServiceService } from '../../src/gen/archivar/v1/admin.js';
import { DocumentsServiceService } from '../../src/gen/archivar/v1/documents.js';
import { SearchServiceService } from '../../src/gen/archivar/v1/search.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

interface MethodDef {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}

const METHODS: MethodDef[] = [DocumentsServiceService, SearchServiceService, AccountsServiceService, AdminServiceService].flatMap(
  (service) => Object.values(service as Record<string, MethodDef>),
);

const PUBLIC = new Set(['/archivar.v1.AccountsService/Register', '/archivar.v1.AccountsService/Login']);

/** Calls `method` with an empty request message (every field at its default) and returns the final status. */
function callRaw(client: grpc.Client, method: MethodDef, metadata: grpc.Metadata): Promise<{ code: string; details: string }> {
  const identity = (b: Buffer) => b;
  const empty = Buffer.alloc(0);
  const options = { deadline: new Date(Date.now() + 10_000) };
  return new Promise((resolve) => {
    const done = (s: { code: grpc.status; details: string }) => resolve({ code: grpc.status[s.code], details: s.details });
    const ended = (err: grpc.ServiceError | null) => done(err ?? { code: grpc.status.OK, details: '' });
    if (!method.requestStream && !method.responseStream) {
      client.makeUnaryRequest(method.path, identity, identity, empty, metadata, options, ended);
    } else if (method.requestStream && !method.responseStream) {
      client.makeClientStreamRequest(method.path, identity, identity, metadata, options, ended).end();
    } else {
      const call = method.requestStream
        ? client.makeBidiStreamRequest(method.path, identity, identity, metadata, options)
        : client.makeServerStreamRequest(method.path, identity, identity, empty, metadata, options);
      call.on('data', () => {});
      call.on('error', () => {});
      call.on('status', done);
      if (method.requestStream) (call as grpc.ClientDuplexStream<Buffer, Buffer>).end();
    }
  });
}

describe('authentication of every RPC', () => {
  let t: TestServer;
  let client: grpc.Client;
  beforeAll(async () => {
    t = await startTestServer();
    client = new grpc.Client(t.address, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await t.stop();
  });

  it('covers unary, client-streaming and server-streaming methods of all four services', () => {
    expect(METHODS.length).toBeGreaterThan(30);
    const kinds = new Set(METHODS.map((m) => `${m.requestStream}/${m.responseStream}`));
    expect([...kinds].sort()).toEqual(['false/false', 'false/true', 'true/false']);
    for (const p of PUBLIC) expect(METHODS.map((m) => m.path)).toContain(p);
  });

  it('answers UNAUTHENTICATED without a token for every method but Register and Login', async () => {
    const codes: Record<string, string> = {};
    for (const method of METHODS) codes[method.path] = (await callRaw(client, method, new grpc.Metadata())).code;
    const expected = Object.fromEntries(
      METHODS.map((m) => [m.path, PUBLIC.has(m.path) ? 'INVALID_ARGUMENT' : 'UNAUTHENTICATED']),
    );
    expect(codes).toEqual(expected);
  });

  it('answers UNAUTHENTICATED with a well-formed token that belongs to no session', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', 'Bearer no-such-session-0123456789abcdef');
    const answers: Record<string, { code: string; details: string }> = {};
    for (const method of METHODS.filter((m) => !PUBLIC.has(m.path)))
      answers[method.path] = await callRaw(client, method, metadata);
    const expected = Object.fromEntries(
      Object.keys(answers).map((p) => [
        p,
        { code: 'UNAUTHENTICATED', details: 'the session is invalid or has expired; log in again' },
      ]),
    );
    expect(answers).toEqual(expected);
  });

  it('says a malformed token is one, and how to get another', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', 'Bearer not a token');
    const method = METHODS.find((m) => !PUBLIC.has(m.path) && !m.requestStream && !m.responseStream)!;
    expect(await callRaw(client, method, metadata)).toEqual({
      code: 'UNAUTHENTICATED',
      details: 'the session token is malformed (expected "authorization: Bearer <token>"); log in again',
    });
  });
});
