# cellfleet container image: one binary, SQLite by default, DynamoDB with CELLFLEET_STORAGE_BACKEND.
#   podman build --format docker -t cellfleet .      (docker build -t cellfleet . works the same)
#   podman run -p 8080:8080 -v cellfleet-data:/var/lib/cellfleet cellfleet
# Tested for real by scripts/container-test.sh (run in CI). See docs/self-host.md and
# docs/deploy-aws.md.

# --- build: the same Debian packages a developer installs (scripts/install-deps.sh) -------------
FROM debian:bookworm-slim AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# Only the server: no tests, no benchmarks. -j2: the project's build machines have two cores.
# Release at -O2, the optimisation level CI's RelWithDebInfo suite tests (CMake's Release default
# is -O3), without debug information.
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
      -DCELLFLEET_BUILD_TESTS=OFF -DCELLFLEET_BUILD_BENCH=OFF -DCELLFLEET_WERROR=ON \
      >/dev/null \
 && cmake --build /build --target cellfleet -j2 \
 && strip --strip-unneeded /build/cellfleet \
 && /build/cellfleet version

# --- runtime: only the shared libraries the binary links, and the time-zone database -----------
FROM debian:bookworm-slim
# libdate-tz3 (Howard Hinnant's date/tz) reads /usr/share/zoneinfo, hence tzdata; ca-certificates
# for HTTPS to DynamoDB. Boost, nlohmann-json and Catch2 are header-only or build-time only.
# zlib1g (the warehouse files sink's gzip) is part of every Debian base image (Priority: required).
# libjemalloc2: the server's allocator (docs/decisions.md, "The allocator").
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libsqlite3-0 libssl3 libsodium23 libfmt9 libdate-tz3 libjemalloc2 tzdata ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && groupadd --system --gid 10001 cellfleet \
 && useradd --system --uid 10001 --gid cellfleet --home-dir /var/lib/cellfleet \
      --shell /usr/sbin/nologin cellfleet \
 && mkdir -p /var/lib/cellfleet/data \
 && chown -R cellfleet:cellfleet /var/lib/cellfleet
COPY --from=build /build/cellfleet /usr/local/bin/cellfleet
# The documented defaults (cellfleet serve --config /etc/cellfleet/cellfleet.toml to use a file)
# and the SQLite migrations (also compiled into the binary; here for operators to read).
COPY config/ /etc/cellfleet/
COPY migrations/ /usr/share/cellfleet/migrations/

# No config file is needed: every key has an environment variable CELLFLEET_<SECTION>_<KEY>.
ENV CELLFLEET_STORAGE_DATA_DIR=/var/lib/cellfleet/data \
    CELLFLEET_SERVER_LISTEN=0.0.0.0:8080
WORKDIR /var/lib/cellfleet
USER cellfleet:cellfleet
VOLUME ["/var/lib/cellfleet/data"]
EXPOSE 8080
# `cellfleet healthcheck` GETs /healthz on the configured port over loopback: no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["cellfleet", "healthcheck"]
# SIGTERM: stop reporting ready, drain in-flight requests, exit 0 (server.drain_timeout_ms).
STOPSIGNAL SIGTERM
ENTRYPOINT ["cellfleet"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
