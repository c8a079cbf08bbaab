# spokeswatch: the daemon in a container.
#
#   docker build -t spokeswatch .
#   docker run --rm -p 127.0.0.1:8089:8089 spokeswatch     # no config mounted: explains how, runs the demo
#   mkdir config && docker run --rm spokeswatch spokeswatch init - > config/config.yaml
#   docker run -d --name spokeswatch -v "$PWD/config:/config:ro" -v spokeswatch-data:/data \
#       -p 127.0.0.1:9108:9108 spokeswatch                  # the service: spokeswatch run -c /config/config.yaml
#   docker kill -s HUP spokeswatch                          # reload config.yaml
#
# Mount the folder holding config.yaml rather than the file alone: an editor that saves by
# replacing the file would leave a single-file bind mount on the old version.
# compose.yaml runs it with PostgreSQL.
FROM python:3.11-slim

# TZ is the container's zone (for tools run in it): spokeswatch itself logs, schedules and
# counts days in the config's `timezone`, whatever TZ is.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TZ=Asia/Shanghai

# tzdata for the office zone; a CJK font, for the bulletin charts' Chinese labels
RUN apt-get update \
 && apt-get install -y --no-install-recommends tzdata fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# The dependencies first, in a layer of their own: rebuilt when pyproject.toml changes,
# not on every change of the code.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# Then the code, installed without touching the dependencies.
COPY README.md ./
COPY models ./models
COPY scrapers ./scrapers
COPY monitor ./monitor
RUN pip install --no-deps . \
 && rm -rf build ./*.egg-info

COPY deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

# A user of its own (numeric, for runAsNonRoot); /data holds the SQLite database, the
# reports (digest.out_dir), state_dir (login sessions, heartbeat) and the demo's output.
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin spokeswatch \
 && mkdir -p /data /config \
 && chown 10001:10001 /data

# SPOKESWATCH_CONFIG: where the entrypoint looks for config.yaml (mount it read-only).
# SPOKESWATCH_DATABASE: the default the configs from `spokeswatch init` and the sample read
#   (database: ${SPOKESWATCH_DATABASE:-...}); compose.yaml points it at PostgreSQL.
# SPOKESWATCH_HEALTH_LISTEN: what `health.listen: ${SPOKESWATCH_HEALTH_LISTEN:-127.0.0.1:9108}`
#   (the `spokeswatch init` config) reads: all interfaces, so a published port reaches /healthz
#   and /metrics. A config that writes its own address must keep port 9108 (or set
#   SPOKESWATCH_HEALTHCHECK_URL to match); 127.0.0.1:9108 still passes the HEALTHCHECK, which
#   runs inside the container, but cannot be published.
ENV SPOKESWATCH_CONFIG=/config/config.yaml \
    SPOKESWATCH_DATABASE=sqlite:////data/spokeswatch.sqlite3 \
    SPOKESWATCH_HEALTH_LISTEN=0.0.0.0:9108 \
    SPOKESWATCH_WEB_LISTEN=0.0.0.0:8080 \
    SPOKESWATCH_HEALTHCHECK_URL=http://127.0.0.1:9108/healthz

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# SPOKESWATCH_WEB_LISTEN: what `web.listen: ${SPOKESWATCH_WEB_LISTEN:-}` (the `spokeswatch init`
#   config) reads: the web view on every interface of the container, once web.users lists someone.
# 9108: /healthz and /metrics of the daemon (health.listen); 8080: the web view (web.listen);
# 8089: the demo forum, without a config
EXPOSE 9108 8080 8089

# Python's urllib (no curl in the slim image): any answer but 2xx, or none, fails. Without a
# config the container runs the demo, and the demo forum's front page is what is checked.
HEALTHCHECK --interval=30s --timeout=10s --start-period=2m --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['SPOKESWATCH_HEALTHCHECK_URL'] if os.path.isfile(os.environ['SPOKESWATCH_CONFIG']) else 'http://127.0.0.1:8089/', timeout=8)"]

ENTRYPOINT ["docker-entrypoint.sh"]
CMD []
