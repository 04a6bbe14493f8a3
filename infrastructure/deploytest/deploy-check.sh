#!/usr/bin/env bash
# make deploy-check (also run by `make test`): install what the deployment tests need, then run them.
# Debian packages, installed only when missing (idempotent): ansible-core and ansible-lint (without the
# recommended full `ansible` collection bundle, which the builtin-only roles do not need), systemd
# (systemd-analyze) and redis-server. No Docker engine or compose plugin is needed: the Docker files are
# checked with BuildKit's and compose-go's own code (infrastructure/deploytest/dockercheck).
# Run from the repository root.
set -euo pipefail
export GOTOOLCHAIN=local

missing=()
command -v ansible-playbook >/dev/null || missing+=(ansible-core)
command -v ansible-lint >/dev/null || missing+=(ansible-lint)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v redis-server >/dev/null || missing+=(redis-server)
if ((${#missing[@]})); then
  echo "== installing ${missing[*]} (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "== deployment checks (Ansible, systemd units, Dockerfile, docker-compose.yml)"
go vet -tags deploy ./infrastructure/deploytest ./infrastructure/healthcheck
(cd infrastructure/deploytest/dockercheck && go vet ./...)
# The tests mostly wait on ansible-playbook and the processes they start: run them side by side.
go test -tags deploy -count=1 -parallel 8 -timeout 20m ./infrastructure/deploytest
