# juki-gw appliance image: multi-stage, non-root, read-only root filesystem at run time
# (docker run --read-only --tmpfs /tmp -v juki-data:/var/lib/juki-gw ...).
# The build stage's RUN steps are executed as a script in CI (scripts/dockerfile-steps.sh).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# Compile (dist/), drop the development packages (tsx, esbuild, typescript, vitest), then assemble the
# image's tree in image/: compiled code, entry point, the deploy files it runs, runtime packages only.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund
RUN mkdir -p image/deploy && cp -r dist bin package.json package-lock.json node_modules image/ && cp -r deploy/docker deploy/config.example.yaml image/deploy/
RUN cd image && sh deploy/docker/verify-build.sh

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends softhsm2 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system juki-gw && useradd --system --gid juki-gw --groups softhsm --home-dir /var/lib/juki-gw juki-gw \
 && install -d -m 0700 -o juki-gw -g juki-gw /var/lib/juki-gw
COPY --from=build --chown=root:root /src/image /opt/juki-gw
# MALLOC_ARENA_MAX: see deploy/systemd/juki-gw.service (flat RSS in the soak).
ENV NODE_ENV=production JUKIGW_dataDir=/var/lib/juki-gw MALLOC_ARENA_MAX=2
# A PKCS#11 module other than SoftHSM may be mounted and named in the config (hsm.module).
VOLUME ["/var/lib/juki-gw"]
USER juki-gw
WORKDIR /opt/juki-gw
EXPOSE 8883 8443
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["node", "/opt/juki-gw/deploy/docker/healthcheck.mjs"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/juki-gw/bin/juki-gw.js"]
CMD ["start"]
