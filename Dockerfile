# Phonebase container image: a release build on Debian, run as a non-root user with its data in a
# volume. Build: `docker build -t phonebase .`; run: see README "Containers".
#
# The binary bundles SQLite, libpq and OpenSSL (Cargo.toml), so the runtime image needs only
# glibc, CA certificates (providers and the LeanCloud upstream speak HTTPS) and curl for the
# health check.

FROM rust:1.95-bookworm AS build
WORKDIR /src
# perl and make build the vendored OpenSSL; the rest of the C is built by cc.
RUN apt-get update && apt-get install -y --no-install-recommends perl make && rm -rf /var/lib/apt/lists/*
# Dependencies first, in their own layer: a change to our sources does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src examples && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && echo 'fn main() {}' > examples/sdk_captcha_server.rs \
    && cargo build --release --locked --bin phonebase || true
COPY . .
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin phonebase \
    && cp target/release/phonebase /usr/local/bin/phonebase

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin phonebase \
    && mkdir -p /data && chown phonebase:phonebase /data
COPY --from=build /usr/local/bin/phonebase /usr/local/bin/phonebase
USER phonebase
WORKDIR /data
# SQLite file, generated secret and the development sink live here unless configured elsewhere.
VOLUME ["/data"]
ENV PHONEBASE_BIND=0.0.0.0:8080 \
    PHONEBASE_DATA_DIR=/data \
    PHONEBASE_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["phonebase"]
CMD ["serve"]
