#!/bin/sh
# Entry point of the node's image: migrate the database when asked to, then become the process.
set -eu

if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
    python manage.py migrate --noinput
fi

exec "$@"
