import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';

/** `proto/` at the repository (or image) root: two levels up from both src/server and dist/server. */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

/** Every .proto file of the archivar.v1 API, relative to PROTO_DIR. */
export function apiProtoFiles(): string[] {
  return fs
    .readdirSync(`${PROTO_DIR}archivar/v1`)
    .filter((f) => f.endsWith('.proto'))
    .sort()
    .map((f) => `archivar/v1/${f}`);
}

/** The API loaded at run time (for reflection, and for clients that skip code generation). */
export function loadApiDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(apiProtoFiles(), {
    includeDirs: [PROTO_DIR],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
}

/** Fully qualified names of our gRPC services, e.g. `archivar.v1.DocumentsService`. */
export function apiServiceNames(definition: protoLoader.PackageDefinition): string[] {
  return Object.entries(definition)
    .filter(
      ([, v]) =>
        'format' in v === false &&
        typeof v === 'object' &&
        Object.values(v).some((m) => typeof m === 'object' && m !== null && 'path' in m),
    )
    .map(([k]) => k)
    .sort();
}
