# e27bridge container image. Builds with the classic builder and with BuildKit alike
# (no BuildKit-only syntax, no syntax directive that would pull a frontend image).
#
#   docker build -t e27bridge .
#   docker build --build-arg BASE=localbase -t e27bridge .   # any Debian-like image with
#                                                            # python3 (3.11+) and its venv module
#
# Runs as uid:gid 10001:10001. That uid must be able to read /config/config.toml and own a
# bind-mounted /data (a named volume gets the right owner by itself).
#
# Networking: panels are found (and found again after they move) by UDP broadcast
# discovery on port 2362. Broadcasts do not cross Docker's default bridge network, so run
# with --network host (compose: network_mode: host). Without it, give every panel a fixed
# `host` in config.toml; rediscovery after an address change will then not work.
#
# Secrets: mount them as Docker secrets and point the *_file options at them, e.g.
#   password_file = "/run/secrets/mqtt_password"

ARG BASE=python:3.11-slim

FROM ${BASE} AS builder
# The dependencies first, from pyproject.toml alone, so that a change to the code rebuilds
# only the last layers. The runtime stage copies the virtual environment without pip,
# setuptools or a compiler.
COPY pyproject.toml /src/
RUN python3 -m venv /opt/e27bridge \
    && python3 -c 'import tomllib; print("\n".join(tomllib.load(open("/src/pyproject.toml", "rb"))["project"]["dependencies"]))' >/src/requirements.txt \
    && /opt/e27bridge/bin/pip install --no-cache-dir --disable-pip-version-check -r /src/requirements.txt
COPY README.md /src/
COPY src /src/src
RUN /opt/e27bridge/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps /src \
    && /opt/e27bridge/bin/pip uninstall --yes pip setuptools

FROM ${BASE}
LABEL org.opencontainers.image.title="e27bridge" \
      org.opencontainers.image.description="Bridge Elk E27 alarm panels to MQTT" \
      org.opencontainers.image.licenses="MIT"
# The group first, then the user in it: one uid and one gid, both 10001.
RUN groupadd --system --gid 10001 e27bridge \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin e27bridge \
    && mkdir -p /config /data \
    && chown 10001:10001 /data \
    && chmod 0700 /data
ENV PATH=/opt/e27bridge/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    E27BRIDGE_CONFIG=/config/config.toml \
    E27BRIDGE_BRIDGE__STATE_DIR=/data
USER 10001:10001
WORKDIR /data
# /config: config.toml (read-only is fine). /data: client identity, link keys, host hints.
VOLUME ["/config", "/data"]
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["e27bridge", "health"]
ENTRYPOINT ["e27bridge"]
CMD ["run", "--config", "/config/config.toml"]
# Last, so that a change to the code rebuilds this one layer only.
COPY --from=builder /opt/e27bridge /opt/e27bridge
