# scopegate container image: a release build on Debian bookworm, run as an
# unprivileged user. See "Deploy with Docker" in README.md.

FROM rust:1.95-bookworm AS build
WORKDIR /build

# Dependencies first. With stub sources, this layer is rebuilt only when a
# manifest or the lock file changes. Every workspace member's manifest must
# be present for cargo to load the workspace.
COPY Cargo.toml Cargo.lock ./
COPY examples/backend-proxy/Cargo.toml examples/backend-proxy/
RUN mkdir -p src examples/backend-proxy/src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && echo 'fn main() {}' > examples/backend-proxy/src/main.rs \
 && cargo build --release --locked \
 && rm -rf src examples/backend-proxy/src

COPY . .
# The stub build left artifacts newer than the copied sources; touching the
# crate roots makes cargo rebuild scopegate itself.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked

FROM debian:bookworm-slim
# sqlx's rustls feature compiles in the Mozilla root certificates
# (webpki-roots), so the image carries no CA bundle.
RUN groupadd --system --gid 10001 scopegate \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/scopegate \
      --shell /usr/sbin/nologin scopegate \
 && mkdir -p /var/lib/scopegate/data \
 && chown -R 10001:10001 /var/lib/scopegate
COPY --from=build /build/target/release/scopegate /usr/local/bin/scopegate

ENV SCOPEGATE_LISTEN=0.0.0.0:8080 \
    SCOPEGATE_LOG_FORMAT=json \
    SCOPEGATE_DATA_DIR=/var/lib/scopegate/data
VOLUME ["/var/lib/scopegate/data"]
WORKDIR /var/lib/scopegate
USER 10001:10001
EXPOSE 8080

# `scopegate healthcheck` GETs /healthz on the port of SCOPEGATE_LISTEN over
# loopback; `scopegate healthcheck --ready` checks /readyz instead.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["scopegate", "healthcheck"]

ENTRYPOINT ["scopegate"]
CMD ["serve"]
