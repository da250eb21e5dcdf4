# syntax=docker/dockerfile:1
# e27bridge container image.
#
#   docker build -t e27bridge .
#   docker run -d --name e27bridge --network host \
#     -v /srv/e27bridge/config:/config:ro -v e27bridge-data:/data e27bridge
#
# Networking: panels are found (and found again after they move) by UDP broadcast
# discovery on port 2362. Broadcasts do not cross Docker's default bridge network, so run
# with --network host (compose: network_mode: host). Without it, give every panel a fixed
# `host` in config.toml; rediscovery after an address change will then not work.
#
# Secrets: mount them as Docker secrets and point the *_file options at them, e.g.
#   password_file = "/run/secrets/mqtt_password"

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# Build our wheel and a wheel for every runtime dependency; the runtime stage installs
# from these only, without a compiler or network access.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="e27bridge" \
      org.opencontainers.image.description="Bridge Elk E27 alarm panels to MQTT" \
      org.opencontainers.image.licenses="MIT"
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    E27BRIDGE_CONFIG=/config/config.toml \
    E27BRIDGE_BRIDGE__STATE_DIR=/data
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/e27bridge-*.whl \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin e27bridge \
    && mkdir -p /config /data \
    && chown e27bridge:e27bridge /data \
    && chmod 0700 /data
USER 10001:10001
WORKDIR /data
# /config: config.toml (read-only is fine). /data: client identity, link keys, host hints.
VOLUME ["/config", "/data"]
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["e27bridge", "health"]
ENTRYPOINT ["e27bridge"]
CMD ["run", "--config", "/config/config.toml"]
