/** The one-line messages the CLI prints for gRPC errors, from the details grpc-js really produces. */
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { connectionFailure, fromGrpcError } from '../../src/cli/output.js';

const lastError = (reason: string) => `No connection established. Last error: ${reason}. Resolution note: `;

describe('connectionFailure', () => {
  it('turns grpc-js connection failures into one line with a hint for the TLS options', () => {
    expect(
      connectionFailure(
        lastError(
          '80FC425BD07F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n (2026-11-27T18:37:38.149Z)',
        ),
      ),
    ).toBe(
      'cannot connect: tlsv13 alert certificate required (the server requires a client certificate: --tls-client-cert and --tls-client-key)',
    );
    expect(connectionFailure(lastError('Failed to connect (2026-11-27T18:37:39.143Z)'))).toMatch(
      /^cannot connect: the server closed the connection before answering \(.+\)$/,
    );
    expect(
      connectionFailure(
        lastError(
          "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: other.test. is not in the cert's altnames: DNS:archivar.test, IP Address:127.0.0.1",
        ),
      ),
    ).toBe(
      "cannot connect: Hostname/IP does not match certificate's altnames: Host: other.test. is not in the cert's altnames: DNS:archivar.test, IP Address:127.0.0.1 (--tls-server-name sets the name to expect)",
    );
    expect(
      connectionFailure(
        lastError(
          '80FC425BD07F0000:error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../deps/openssl/openssl/ssl/statem/statem_clnt.c:2091: (2026-11-27T18:37:38.149Z)',
        ),
      ),
    ).toBe('cannot connect: certificate verify failed');
    expect(connectionFailure(lastError('Error: unable to verify the first certificate (2026-11-27T18:37:38.149Z)'))).toBe(
      'cannot connect: unable to verify the first certificate (--tls-ca names the CA that signed the server certificate)',
    );
    expect(connectionFailure(lastError('connect ECONNREFUSED 127.0.0.1:1 (2026-11-27T18:37:38.149Z)'))).toBe(
      'cannot connect: connect ECONNREFUSED 127.0.0.1:1',
    );
  });

  it('leaves other details alone, except that they become one line', () => {
    expect(connectionFailure('the server is shutting down; retry')).toBe('the server is shutting down; retry');
    expect(connectionFailure('two\n  lines')).toBe('two lines');
  });

  it('is what fromGrpcError prints for UNAVAILABLE only', () => {
    const details = lastError('Failed to connect (2026-11-27T18:37:39.143Z)');
    expect(fromGrpcError({ code: status.UNAVAILABLE, details }).message).toMatch(
      /^UNAVAILABLE: cannot connect: the server closed the connection before answering/,
    );
    expect(fromGrpcError({ code: status.NOT_FOUND, details: 'no such document' }).message).toBe('NOT_FOUND: no such document');
  });
});
