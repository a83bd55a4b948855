import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** PEM files of a test CA and what it signed (P-256 keys, valid two days). */
export interface TestPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/**
 * Makes a CA and, signed by it, a server certificate (serverAuth, the given subjectAltNames) and a client
 * certificate (clientAuth) in `dir` with the `openssl` command (as the dovecot helper does for IMAPS).
 * `name` prefixes the files, so several PKIs can share one directory.
 */
export function makePki(dir: string, options: { name?: string; serverAltNames?: string[] } = {}): TestPki {
  const name = options.name ?? 'test';
  const file = (suffix: string) => path.join(dir, `${name}-${suffix}`);
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

  const caCert = file('ca.pem');
  const caKey = file('ca.key');
  openssl([
    'req',
    '-x509',
    ...key,
    '-days',
    '2',
    '-subj',
    `/CN=Archivar ${name} CA`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    caKey,
    '-out',
    caCert,
  ]);

  const issue = (leaf: string, subject: string, extensions: string) => {
    const cert = file(`${leaf}.pem`);
    const leafKey = file(`${leaf}.key`);
    const csr = file(`${leaf}.csr`);
    const ext = file(`${leaf}.ext`);
    fs.writeFileSync(ext, extensions);
    openssl(['req', '-new', ...key, '-subj', subject, '-keyout', leafKey, '-out', csr]);
    openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      caCert,
      '-CAkey',
      caKey,
      '-set_serial',
      `0x${Date.now().toString(16)}${leaf === 'server' ? '1' : '2'}`,
      '-days',
      '2',
      '-extfile',
      ext,
      '-out',
      cert,
    ]);
    return { cert, key: leafKey };
  };

  const altNames = options.serverAltNames ?? ['DNS:localhost', 'IP:127.0.0.1'];
  const server = issue(
    'server',
    '/CN=archivar server',
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${altNames.join(',')}\n`,
  );
  const client = issue(
    'client',
    '/CN=archivar client',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  return { caCert, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key };
}
