# Config server image. Build: docker build -t config-server .
# Run:   docker run -p 8888:8888 -e CONFIG_SERVER_REPO=https://git.example.com/org/config-repo.git \
#          -e CONFIG_SERVER_AUTH_USERS=/run/secrets/users.htpasswd -e CONFIG_SERVER_ACCESS_POLICY=/run/secrets/policy.yml \
#          -v "$PWD/secrets:/run/secrets:ro" config-server
# It listens on 0.0.0.0, so it refuses to start without an authentication method (README, Security).
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 config

WORKDIR /app
COPY client/ client/
COPY pyproject.toml README.md LICENSE ./
COPY config_server/ config_server/
RUN pip install --no-cache-dir ./client . \
 && rm -rf /root/.cache

USER config
ENV CONFIG_SERVER_HOST=0.0.0.0 \
    CONFIG_SERVER_PORT=8888 \
    CONFIG_SERVER_BASEDIR=/home/config/clone
VOLUME ["/home/config/clone"]
EXPOSE 8888
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8888/actuator/health').status==200 else 1)"
ENTRYPOINT ["config-server", "serve"]
