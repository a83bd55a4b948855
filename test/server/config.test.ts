import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/server/config.js';

describe('config', () => {
  it('has defaults, is frozen, and flags beat the environment', () => {
    const c = loadConfig({ 'pool-threads': '3' }, { ARCHIVAR_POOL_THREADS: '1', ARCHIVAR_LISTEN: '127.0.0.1:6000' });
    expect(c.pool.threads).toBe(3);
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 6000 });
    expect(c.metricsListen).toBeNull();
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.grpc)).toBe(true);
    expect(() => {
      (c as { dataDir: string }).dataDir = '/';
    }).toThrow(TypeError);
  });

  it('reads BM25F field weights and b over their defaults, and names a bad field or value', () => {
    const d = loadConfig({}, {});
    expect(d.search.fieldWeights).toEqual({ body: 1, title: 3, subject: 2, filename: 1.5, sender: 1.5 });
    expect(d.search.fieldB.body).toBe(0.75);
    const c = loadConfig({ 'field-weights': 'title=5, sender=0' }, { ARCHIVAR_FIELD_B: 'body=0.9' });
    expect(c.search.fieldWeights).toEqual({ body: 1, title: 5, subject: 2, filename: 1.5, sender: 0 });
    expect(c.search.fieldB.body).toBe(0.9);
    expect(() => loadConfig({ 'field-weights': 'titel=3' }, {})).toThrow(/--field-weights: "titel=3" is not FIELD=NUMBER/);
    expect(() => loadConfig({ 'field-b': 'title=1.5' }, {})).toThrow(/--field-b: title must be between 0 and 1/);
    expect(() => loadConfig({ 'field-weights': 'title=-1' }, {})).toThrow(ConfigError);
  });

  it('reads the compound part weight over its default, and refuses one outside (0, 1]', () => {
    expect(loadConfig({}, {}).search.compoundPartWeight).toBe(0.5);
    expect(loadConfig({}, { ARCHIVAR_COMPOUND_PART_WEIGHT: '0.25' }).search.compoundPartWeight).toBe(0.25);
    expect(loadConfig({ 'compound-part-weight': '1' }, {}).search.compoundPartWeight).toBe(1);
    for (const bad of ['0', '1.5', 'x', ''])
      expect(() => loadConfig({ 'compound-part-weight': bad }, {}), bad).toThrow(/--compound-part-weight/);
  });

  it('reads the end-user licence agreement in force from its file or its SHA-256, or none', () => {
    expect(loadConfig({}, {}).accounts.terms).toBeNull();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archivar-config-'));
    try {
      const file = path.join(dir, 'eula.txt');
      fs.writeFileSync(file, 'Fassung 3');
      const sha = createHash('sha256').update('Fassung 3').digest('hex');
      expect(loadConfig({ 'terms-version': '3', 'terms-file': file }, {}).accounts.terms).toEqual({
        textVersion: '3',
        textSha256: sha,
      });
      expect(loadConfig({}, { ARCHIVAR_TERMS_VERSION: '3', ARCHIVAR_TERMS_SHA256: sha.toUpperCase() }).accounts.terms).toEqual({
        textVersion: '3',
        textSha256: sha,
      });
      expect(() => loadConfig({ 'terms-version': '3' }, {})).toThrow(/exactly one of --terms-file and --terms-sha256/);
      expect(() => loadConfig({ 'terms-version': '3', 'terms-file': file, 'terms-sha256': sha }, {})).toThrow(/exactly one/);
      expect(() => loadConfig({ 'terms-file': file }, {})).toThrow(/need --terms-version/);
      expect(() => loadConfig({ 'terms-version': 'drei Fassung', 'terms-sha256': sha }, {})).toThrow(/--terms-version must be/);
      expect(() => loadConfig({ 'terms-version': '3', 'terms-sha256': 'abc' }, {})).toThrow(/--terms-sha256 must be 64 hex/);
      expect(() => loadConfig({ 'terms-version': '3', 'terms-file': path.join(dir, 'missing') }, {})).toThrow(
        /--terms-file .*missing cannot be read/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('accepts ARCHIVAR_DATA_DIR and TLS with optional mTLS', () => {
    const c = loadConfig({ listen: '0.0.0.0:443', 'tls-cert': 'c.pem', 'tls-key': 'k.pem' }, { ARCHIVAR_DATA_DIR: '/tmp/x' });
    expect(c.dataDir).toBe('/tmp/x');
    expect(c.tls).toEqual({ certFile: 'c.pem', keyFile: 'k.pem', clientCaFile: null });
    expect(c.masterKeyFile).toBe('/tmp/x/master.key');
  });

  it('ignores the CLI client variables (a shell that talks to a server can also start one)', () => {
    const env = {
      ARCHIVAR_SERVER: 'h:1',
      ARCHIVAR_TOKEN: 't',
      ARCHIVAR_TLS_CA: 'ca.pem',
      ARCHIVAR_TLS_CLIENT_CERT: 'c.pem',
      ARCHIVAR_TLS_CLIENT_KEY: 'k.pem',
      ARCHIVAR_TLS_SERVER_NAME: 'archivar.example',
    };
    expect(loadConfig({}, env).tls).toBeNull();
    expect(() => loadConfig({}, { ARCHIVAR_TLS_CLIENT_CERTS: 'c.pem' })).toThrow(/ARCHIVAR_TLS_CLIENT_CERTS/);
  });

  it('allows plaintext on a public address only with --insecure, and IPv6 loopback without', () => {
    expect(loadConfig({ listen: '0.0.0.0:1', insecure: 'true' }, {}).insecure).toBe(true);
    expect(loadConfig({ listen: '[::1]:1' }, {}).listen).toEqual({ host: '::1', port: 1 });
  });

  it.each([
    [{ listen: '127.0.0.1:70000' }, 'port 70000 is out of range'],
    [{ 'metrics-listen': '0.0.0.0:9100' }, '--metrics-listen must be a loopback address'],
    [{ 'pool-max-queue': 'many' }, '--pool-max-queue must be a whole number'],
    [{ 'tls-client-ca': 'ca.pem' }, '--tls-client-ca needs --tls-cert and --tls-key'],
    [{ 'master-key': 'x' }, 'never from a flag'],
    [{ colour: 'blue' }, 'unknown setting --colour'],
  ])('rejects %j', (flags, message) => {
    expect(() => loadConfig(flags as Record<string, string>, {})).toThrow(ConfigError);
    expect(() => loadConfig(flags as Record<string, string>, {})).toThrow(message);
  });

  it('checks the master key from the environment', () => {
    expect(() => loadConfig({}, { ARCHIVAR_MASTER_KEY: Buffer.alloc(16).toString('base64') })).toThrow('exactly 32 bytes');
    expect(loadConfig({}, { ARCHIVAR_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }).masterKey).not.toBeNull();
  });
});
