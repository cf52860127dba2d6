# syntax=docker/dockerfile:1
# The operator image: one static binary on distroless/static, run as a non-root user.
#
#   docker build -t zookeeper-operator:0.1.0 \
#     --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
#
# Stage 1 compiles against musl, which links statically (no libc needed at run time).
# Stage 2 has no shell, no package manager and no libc: only the binary, CA certificates,
# /etc/passwd with the `nonroot` user (65532) and tzdata from distroless.
# tests/dockerfile.rs checks this file statically (hadolint and the rules above).

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-alpine AS build
# musl-dev: the C runtime and headers that ring's C and assembly parts build against.
# Unpinned on purpose: Alpine drops old package versions, a pin would break the build.
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev
WORKDIR /src
# Only what the build reads: the workspace manifests and sources (testkit is a workspace
# member, so Cargo needs its manifest and sources to load the workspace; it is not built).
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY testkit ./testkit
# crt-static is musl's default; spelled out because the image depends on it. With an
# explicit --target, Cargo gives RUSTFLAGS to the target's crates only: without it they
# also reach proc-macro crates, which rustc cannot build static (rust-lang/cargo#5266).
ENV RUSTFLAGS="-C target-feature=+crt-static"
# BuildKit caches for the registry and target dir: rebuilds recompile only what changed.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    target="$(rustc --print host-tuple)" \
 && cargo build --release --locked --target "$target" --bin zookeeper-operator \
 && install -D -m 0755 "target/$target/release/zookeeper-operator" /out/zookeeper-operator

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="zookeeper-operator" \
      org.opencontainers.image.description="Kubernetes operator for Apache ZooKeeper: quorum health, safe recovery, notifications" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
COPY --from=build /out/zookeeper-operator /zookeeper-operator
# The same numeric user the Helm chart's securityContext sets (runAsNonRoot needs a number).
USER 65532:65532
# Proves the binary is static: this image has no libc, so a dynamic binary would not start.
RUN ["/zookeeper-operator", "--version"]
# /healthz, /readyz and /metrics.
EXPOSE 8080
ENTRYPOINT ["/zookeeper-operator"]
CMD ["run"]
