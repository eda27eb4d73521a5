# firstspan in a container: the CLI (receive, run, analyze, demo) and the demo shop.
#   docker build -t firstspan .
#   docker run --rm firstspan --help
# Two stages: better-sqlite3 may compile from source, so the build tools stay in the first one.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Runtime dependencies only: tsx (runs the TypeScript sources), the OTel SDK, fastify, better-sqlite3.
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY cli ./cli
COPY model ./model
COPY generator ./generator
COPY receiver ./receiver
COPY analyzer ./analyzer
COPY demo ./demo
COPY examples ./examples
COPY collector-config ./collector-config
# Databases and reports go to a volume; run as the image's unprivileged user.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
ENTRYPOINT ["node", "bin/firstspan.js"]
CMD ["--help"]
