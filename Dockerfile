# syntax=docker/dockerfile:1
# Build stage: full install (buf and ts-proto generate src/gen during `npm ci`), compile, then drop dev deps.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json buf.yaml buf.gen.yaml ./
COPY proto ./proto
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: only what `archivar serve` needs, as a non-root user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    ARCHIVAR_LISTEN=0.0.0.0:50051 \
    ARCHIVAR_DATA=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/proto ./proto
RUN groupadd --system archivar && useradd --system --gid archivar --home /data archivar \
 && mkdir -p /data && chown archivar:archivar /data && chmod 700 /data
USER archivar
VOLUME ["/data"]
EXPOSE 50051
# A non-loopback listener needs TLS: mount a certificate and key and set ARCHIVAR_TLS_CERT / ARCHIVAR_TLS_KEY
# (or set ARCHIVAR_INSECURE=true behind a TLS-terminating proxy). Configure the container through ARCHIVAR_*
# variables rather than `serve` flags: the health check reads them. It asks 127.0.0.1 on ARCHIVAR_LISTEN's
# port (so listen on 0.0.0.0 or [::]), in plaintext without TLS; with TLS it verifies the server with
# ARCHIVAR_TLS_CA (default: the certificate file itself, right for a self-signed certificate or a chain that
# ends with its root) under the name HEALTHCHECK_TLS_SERVER_NAME when the certificate does not name
# 127.0.0.1; with ARCHIVAR_TLS_CLIENT_CA (mTLS) it presents HEALTHCHECK_TLS_CERT / HEALTHCHECK_TLS_KEY, a
# client certificate signed by that CA. (These names lack the ARCHIVAR_ prefix because `serve` refuses
# ARCHIVAR_* variables it does not know.) test/server/tls.test.ts runs this command against real servers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD \
  set -- --server "127.0.0.1:${ARCHIVAR_LISTEN##*:}"; \
  if [ -n "${ARCHIVAR_TLS_CERT:-}" ]; then \
    set -- "$@" --tls-ca "${ARCHIVAR_TLS_CA:-$ARCHIVAR_TLS_CERT}"; \
    if [ -n "${HEALTHCHECK_TLS_SERVER_NAME:-}" ]; then set -- "$@" --tls-server-name "$HEALTHCHECK_TLS_SERVER_NAME"; fi; \
    if [ -n "${ARCHIVAR_TLS_CLIENT_CA:-}" ]; then \
      set -- "$@" --tls-client-cert "${HEALTHCHECK_TLS_CERT:?is needed for the health check under mTLS}" \
        --tls-client-key "${HEALTHCHECK_TLS_KEY:?is needed for the health check under mTLS}"; \
    fi; \
  fi; \
  exec node dist/cli/main.js health "$@"
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
