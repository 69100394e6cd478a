# The config server's image: a build stage makes a virtual environment in /opt/venv with the same
# install commands CI runs (the client, then the server; no test extra); the runtime stage copies
# it beside git and runs as a non-root user. Settings come only from CONFIG_SERVER_* environment
# variables and mounted files (CONFIG_SERVER_*_FILE for secrets); nothing is baked in.
#
#   docker build -t config-server .            (or: podman build / buildah bud)
#   docker build --build-arg BASE_IMAGE=registry.example.com/debian-python:bookworm -t config-server .
#
# BASE_IMAGE is any Debian-like image with python3 (and its venv module): python:3.12-slim, or
# the debootstrap bookworm that `make image-test` builds it on. Commands say python3, never
# python, so both work. It listens on 0.0.0.0:8888, so it refuses to start without an
# authentication method (README, Security) unless CONFIG_SERVER_ALLOW_ANONYMOUS=true.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY client/ client/
COPY pyproject.toml README.md LICENSE ./
COPY config_server/ config_server/
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install -q ./client . \
 && /opt/venv/bin/config-server --version

FROM ${BASE_IMAGE}
# git (and ssh for SSH remotes) are the only system programs the server runs. Installed from apt
# only when the base lacks them, so a base that has them builds without a network to Debian.
RUN missing=""; \
    command -v git > /dev/null || missing="$missing git"; \
    command -v ssh > /dev/null || missing="$missing openssh-client"; \
    [ -e /etc/ssl/certs/ca-certificates.crt ] || missing="$missing ca-certificates"; \
    if [ -n "$missing" ]; then \
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
 && useradd --uid 10001 --user-group --create-home --home-dir /home/config --shell /usr/sbin/nologin config \
 && mkdir -p /home/config/clone && chown config:config /home/config/clone
COPY --from=build /opt/venv /opt/venv

USER 10001:10001
WORKDIR /home/config
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CONFIG_SERVER_HOST=0.0.0.0 \
    CONFIG_SERVER_PORT=8888 \
    CONFIG_SERVER_BASEDIR=/home/config/clone
# The clone: mount a volume (or an emptyDir) to keep it across restarts or under a read-only root.
VOLUME ["/home/config/clone"]
EXPOSE 8888
# Liveness only (the process and its event loop work): readiness is the orchestrator's business.
# Liveness over HTTPS when CONFIG_SERVER_TLS_CERT is set (loopback, so the certificate is not
# checked; nothing secret is sent). With --tls-client-auth required, probe from outside instead.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, ssl, urllib.request; tls = bool(os.environ.get('CONFIG_SERVER_TLS_CERT')); urllib.request.urlopen(('https' if tls else 'http') + '://127.0.0.1:%s/actuator/health/liveness' % os.environ.get('CONFIG_SERVER_PORT', '8888'), timeout=2, context=ssl._create_unverified_context() if tls else None)"]
# SIGTERM: stop accepting, answer held long polls (304), finish requests, flush the audit log,
# exit within --shutdown-timeout (default 20 s; give the orchestrator's grace period more).
STOPSIGNAL SIGTERM
ENTRYPOINT ["config-server", "serve"]
