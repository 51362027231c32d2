# lakewatch-exporter (and lakewatch-rulegen) as a container image, the way the Prometheus
# projects build theirs: the release binaries are built outside (scripts/image.sh, or any
# CI), copied in, and run as a non-root user on a small base that has what they link
# against (glibc, libgcc_s) and a CA bundle for the collectors' TLS clients.
#
#   scripts/image.sh                  # builds the binaries and this image here
#   docker build --build-arg BASE=gcr.io/distroless/cc-debian12:nonroot -t lakewatch .
#
# The binaries must be built against a glibc no newer than the base's (Debian 12: 2.36).
ARG BASE=gcr.io/distroless/cc-debian12:nonroot
FROM ${BASE}

ARG OS=linux
ARG ARCH=amd64
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown

LABEL org.opencontainers.image.title="lakewatch-exporter" \
      org.opencontainers.image.description="One Prometheus exporter for a data platform: disks, containers, Postgres, S3, Trino." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://example.invalid/lakewatch" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"

COPY .build/${OS}-${ARCH}/lakewatch-exporter /bin/lakewatch-exporter
COPY .build/${OS}-${ARCH}/lakewatch-rulegen /bin/lakewatch-rulegen

EXPOSE 9717
# distroless' `nonroot` (65532). Reading the Docker socket needs its group as well:
# `--group-add <gid of /var/run/docker.sock>` (see README, Deploy).
USER 65532:65532
ENTRYPOINT ["/bin/lakewatch-exporter"]
