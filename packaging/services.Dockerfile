# The services of a larger control plane (docs/control.md), each its Debian 12 package:
# PostgreSQL 15, Redis 7.0 and RabbitMQ 3.10, in one image built on the same base as the DEC image
# (no registry is reachable here). packaging/compose.yaml runs one container per service:
#   services-entry postgres | redis | rabbitmq
# Each daemon runs as its package's own user; the entry starts as root only to prepare the data
# directory and the configuration from the environment.
ARG BASE=localhost/debian:bookworm
FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      postgresql-15 redis-server rabbitmq-server \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
COPY packaging/services-entry /usr/bin/services-entry
ENTRYPOINT ["services-entry"]
