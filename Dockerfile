# syntax=docker/dockerfile:1
#
# The jetpool image: one static binary, every role (`jetpool gateway`,
# `jetpool fn NAME…`, `jetpool web`, `jetpool check-config`). Built by
# docker-compose.yml; checked by `go test ./deploy/`.

# --- build ------------------------------------------------------------------
FROM golang:1.26 AS build
WORKDIR /src
# Static binary; the toolchain in the image is the one go.mod asks for.
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-trimpath
# Dependencies first, so a source change reuses the module layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags='-s -w' -o /out/jetpool ./cmd/jetpool

# --- runtime ----------------------------------------------------------------
# Alpine rather than distroless: busybox `wget` runs the compose healthchecks
# against the ops endpoint (/readyz) without adding a probe binary.
FROM alpine:3.22
RUN apk add --no-cache ca-certificates tzdata \
 && addgroup -S -g 10001 jetpool \
 && adduser -S -D -H -u 10001 -G jetpool -s /sbin/nologin jetpool \
 && mkdir -p /etc/jetpool /var/lib/jetpool \
 && chown jetpool:jetpool /var/lib/jetpool
COPY --from=build /out/jetpool /usr/local/bin/jetpool
USER 10001:10001
WORKDIR /var/lib/jetpool
# 3333/3334: Stratum TCP/TLS (gateway); 8080: web API and dashboard;
# 9090: ops endpoint (/healthz /readyz /metrics) of every role.
EXPOSE 3333 3334 8080 9090
ENTRYPOINT ["/usr/local/bin/jetpool"]
CMD ["functions"]
