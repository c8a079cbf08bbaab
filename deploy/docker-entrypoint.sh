#!/bin/sh
# What the spokeswatch image runs (ENTRYPOINT).
#
#   no arguments, $SPOKESWATCH_CONFIG present  -> spokeswatch run -c $SPOKESWATCH_CONFIG (the service)
#   no arguments, no config                    -> how to mount one, then the demo: reports written to
#                                                 $SPOKESWATCH_DEMO_OUT and the demo forum served on 8089
#   a spokeswatch command (status, init -, …)  -> spokeswatch ARGS…
#   any other program (sh, python, …)          -> that program
#
# SPOKESWATCH_CONFIG (default /config/config.yaml) is read by this script only.
set -eu

config="${SPOKESWATCH_CONFIG:-/config/config.yaml}"
demo_out="${SPOKESWATCH_DEMO_OUT:-/data/demo-out}"
demo_port=8089   # the Dockerfile's HEALTHCHECK asks this port when there is no config

if [ "$#" -gt 0 ]; then
    # `docker run spokeswatch status -c /config/config.yaml` or `docker run spokeswatch sh`
    case "$1" in
        -*|init) exec spokeswatch "$@" ;;   # init: a spokeswatch command, whatever /sbin holds
    esac
    if command -v "$1" >/dev/null 2>&1; then
        exec "$@"
    fi
    exec spokeswatch "$@"
fi

if [ -d "$config" ]; then
    # docker run -v ./config.yaml:/config/config.yaml with no such file on the host makes a folder
    echo "spokeswatch: $config is a folder, not a file: the file you mounted does not exist on the host." >&2
    echo "  Mount a folder holding config.yaml instead: -v \"\$PWD/config:/config:ro\"" >&2
    exit 2
fi

if [ -f "$config" ]; then
    exec spokeswatch run -c "$config"
fi

cat >&2 <<MESSAGE
spokeswatch: no configuration at $config, so this container runs the demo instead.

To run the service, put your config.yaml in a folder and mount it read-only (below, spokeswatch
is the image, as built by `docker build -t spokeswatch .`; with compose, see compose.yaml):

    mkdir config
    docker run --rm spokeswatch spokeswatch init - > config/config.yaml   # a commented config to start from
    # edit config/config.yaml (forums, units; secrets as \${ENV_VAR}), then
    docker run -d --name spokeswatch -v "\$PWD/config:/config:ro" -v spokeswatch-data:/data \\
        -e SMTP_PASSWORD=... -p 127.0.0.1:9108:9108 spokeswatch

Relative paths in the config (the SQLite database, digest.out_dir, state_dir) land in the /data
volume; SPOKESWATCH_DATABASE may name a PostgreSQL server instead. Now: the demo, the 2011Q1 bulletin of the bundled demo
forum, written to $demo_out; then the demo forum stays up on port $demo_port
(docker run -p 127.0.0.1:$demo_port:$demo_port spokeswatch to browse it).

MESSAGE

spokeswatch demo --out "$demo_out"
exec spokeswatch demo --serve --host 0.0.0.0 --port "$demo_port"
