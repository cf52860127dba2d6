# syntax=docker/dockerfile:1
# Build a static binary (musl), then ship it alone on a distroless, non-root base.
FROM rust:1.95-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY testkit ./testkit
RUN cargo build --release --locked --bin zookeeper-operator \
 && cp target/release/zookeeper-operator /zookeeper-operator

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="zookeeper-operator" \
      org.opencontainers.image.description="Kubernetes operator for Apache ZooKeeper: quorum health, safe recovery, notifications" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /zookeeper-operator /zookeeper-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/zookeeper-operator"]
CMD ["run"]
