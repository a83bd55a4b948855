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
# A non-loopback listener needs TLS: mount a cert and key and set ARCHIVAR_TLS_CERT / ARCHIVAR_TLS_KEY.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "dist/cli/main.js", "health", "--server", "127.0.0.1:50051", "--insecure"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
