# syntax=docker/dockerfile:1
# CNS: one image, one binary for the API (`cns serve`) and the workers (`cns worker`).
#   docker build -t cns:dev --build-arg VERSION=$(git describe --always --dirty) .
# The build stage is pinned to the Go release the project is built and tested with (go.mod: go 1.26; CI:
# Go 1.26.8); the runtime is distroless static (no shell, no package manager) running as an unprivileged
# user. Pin the bases by digest (image@sha256:…) in your registry mirror for reproducible builds.

FROM golang:1.26.8-bookworm AS build
ENV GOTOOLCHAIN=local CGO_ENABLED=0
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# The FAISS backend needs cgo and -tags faiss: this image has the pure-Go backends (vector.backend exact).
RUN go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/cns ./cmd/cns \
 && go build -trimpath -ldflags "-s -w" -o /out/cns-healthcheck ./infrastructure/healthcheck \
 && mkdir -p /out/data /out/models

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cns /out/cns-healthcheck /usr/local/bin/
# Model assets (`make models`) are mounted here read-only; without them nlp.backend builtin falls back to
# the hashed embedder and the lexical NLI with a warning.
COPY --from=build --chown=65532:65532 /out/models /usr/local/share/cns/models
COPY --from=build --chown=65532:65532 /out/data /var/lib/cns
ENV CNS_NLP_MODELS_DIR=/usr/local/share/cns/models \
    CNS_DATA_DIR=/var/lib/cns \
    CNS_ADDR=0.0.0.0:8080 \
    CNS_WORKER_ADDR=0.0.0.0:9090 \
    CNS_HEALTHCHECK_URL=http://127.0.0.1:8080
WORKDIR /var/lib/cns
USER 65532:65532
EXPOSE 8080 9090
# gRPC health SERVING (cns-healthcheck has no shell to need); workers set CNS_HEALTHCHECK_URL to :9090.
HEALTHCHECK --interval=10s --timeout=4s --start-period=30s --retries=3 CMD ["/usr/local/bin/cns-healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/cns"]
CMD ["serve"]
