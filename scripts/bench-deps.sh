#!/usr/bin/env bash
# What `make bench` needs besides Go: redis-server (the throwaway Redis of a run) and Celery with redis-py
# (the Celery anchor), from Debian. Idempotent: installs only what is missing, and runs apt-get update once.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
/usr/bin/python3 -c "import celery" 2>/dev/null || need+=(python3-celery)
/usr/bin/python3 -c "import redis" 2>/dev/null || need+=(python3-redis)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]} (Debian)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
