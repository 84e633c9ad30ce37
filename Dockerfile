# syntax=docker/dockerfile:1
#
# Fust container image: `fust serve` (HTTP API, cron scheduler, worker pool) as a non-root
# user. Needs BuildKit (the default builder since Docker 23) for the cache mounts.
#
#   docker build -t fust .
#   docker run --rm -p 8080:8080 -v "$PWD/data:/data" -v fust-meta:/var/lib/fust fust
#
# Checked by scripts/check_deploy (hadolint, no warnings allowed).

# ---------- console ----------
# The web console (web/, TypeScript + React) built by Vite into web/dist, which the release
# build below embeds. Built here, not committed (docs/decisions.md): the same
# `npm ci && npm run build` as scripts/test, from the exact versions in package-lock.json.
FROM node:20.20-bookworm-slim AS console
WORKDIR /src/web
# Dependencies first: this layer is reused until package.json or the lock file changes.
# The npm cache is a BuildKit cache mount, so a changed lock file downloads only what changed.
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,id=fust-npm,target=/root/.npm,sharing=locked \
    npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ---------- build ----------
FROM rust:1.95-bookworm AS build
WORKDIR /src

# The whole workspace (root package `fust` plus the config, engine, sql, connectors and
# service members); .dockerignore keeps target/, .git, data files and web/dist and
# node_modules out of the context. Then the console built above, for rust-embed.
COPY . .
COPY --from=console /src/web/dist web/dist

# scripts/build-release (`cargo build --release --locked -p fust`): the same release build
# the benchmarks use; scripts/check_deploy checks the Dockerfile calls it.
# The cargo registry, git checkouts and target dir are BuildKit cache mounts, so a rebuild
# after a source change recompiles only the workspace crates, not the dependencies. The
# target dir is a cache mount, hence not in the image: the binary is copied out of it in
# the same step.
RUN --mount=type=cache,id=fust-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=fust-cargo-git,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,id=fust-target,target=/src/target,sharing=locked \
    bash scripts/build-release \
    && install -D -m 0755 target/release/fust /out/fust

# ---------- runtime ----------
FROM debian:bookworm-slim AS runtime

LABEL org.opencontainers.image.title="fust" \
      org.opencontainers.image.description="Arrow-native data integration engine: fust serve" \
      org.opencontainers.image.licenses="Apache-2.0"

# ca-certificates: TLS to object stores and HTTP APIs (rustls reads the system roots).
# curl: only for the HEALTHCHECK below (fust has no health subcommand).
# DL3008 (pin apt versions) is ignored on purpose: Debian's archive serves only the current
# version of a package in bookworm and bookworm-security, so a pinned curl or
# ca-certificates breaks the build at the next security update. The base image tag fixes
# the release; a rebuild picks up the fixes.
# libssl3: the kafka connector's librdkafka links OpenSSL (docs/decisions.md).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 fust \
    && useradd --system --uid 10001 --gid fust --home-dir /var/lib/fust --no-create-home \
       --shell /usr/sbin/nologin fust \
    && install -d -o fust -g fust -m 0750 /data /var/lib/fust

COPY --from=build /out/fust /usr/local/bin/fust

# /data: the job data root. With no `data_roots` in a server config, jobs submitted over
# HTTP may only touch files under the working directory, and relative paths in jobs resolve
# against it. /var/lib/fust: the SQLite metadata store (unused with PostgreSQL/MySQL).
# Both are created above owned by uid 10001, so new named volumes start writable.
WORKDIR /data
VOLUME ["/data", "/var/lib/fust"]

USER 10001:10001
EXPOSE 8080

# /health needs no token even when auth_tokens/FUST_API_TOKENS are set. Any non-zero exit
# of curl counts as a failed check. Override it (or drop it) if you change --listen's port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["curl", "--fail", "--silent", "--show-error", "--max-time", "4", "--output", "/dev/null", "http://127.0.0.1:8080/health"]

# fust handles SIGTERM (docker stop) itself: it stops serving, cancels the active runs and
# waits up to 10 s for them to roll back, so give `docker stop` more than Docker's default
# 10 s (`docker stop -t 30`; compose sets stop_grace_period).
ENTRYPOINT ["fust"]
CMD ["serve", "--listen", "0.0.0.0:8080", "--metadata", "sqlite:///var/lib/fust/fust.db"]
