# The worker host and the REST gateway, in one image (the edge Worker is deployed with wrangler).
# Guide: docs/deploy.md. test/deploy/config-files.test.ts checks what this file relies on.
#
#   docker build -t forklift .
#   docker run --env-file forklift.env --stop-timeout 50 forklift          # a worker host
#   docker run --env-file forklift.env --env-file gateway.env -p 127.0.0.1:8079:8079 forklift \
#     node dist/node/worker-host/cli/main.js gateway --host 0.0.0.0        # the REST gateway

# Node 24 (LTS until April 2028). The test suite runs on Node 20; see docs/deploy.md for what
# has been run on 22 and 24.
ARG NODE_IMAGE=node:24-bookworm-slim

# Stage 1: every dependency, then tsc (worker-host/ and shared/ into dist/node).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Stage 2: the production dependencies and the build output, nothing else.
FROM ${NODE_IMAGE}
# tini as PID 1 passes SIGTERM and SIGINT on to the host (which stops its own children) and
# reaps orphans. Without -g: the children ignore those signals and must not get them.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/node ./dist/node
USER node
# Metrics (/metrics) and health (/healthz, /readyz) of the worker host below.
EXPOSE 9464
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/node/worker-host/cli/main.js", "worker", "--metrics-port", "9464", "--metrics-host", "0.0.0.0"]
