# syntax=docker/dockerfile:1
# Multi-stage build: dependencies and the compiled JavaScript in a build stage, then a slim runtime
# stage that runs as an unprivileged user.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The dashboard: bundled, with gzip and brotli variants, into web/dist (no CDN at run time).
COPY web ./web
COPY scripts/build-web.mjs ./scripts/build-web.mjs
RUN npx tsc -p tsconfig.build.json && node scripts/build-web.mjs && npm prune --omit=dev

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    TICKLINE_HOST=0.0.0.0 \
    TICKLINE_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
COPY package.json ./
COPY bin ./bin
COPY suites ./suites
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.TICKLINE_PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "bin/tickline.js"]
CMD ["start"]
