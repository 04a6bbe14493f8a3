// Package deploytest checks the deployment files for real: the Ansible roles and playbooks
// (infrastructure/ansible), the systemd units they render, the Dockerfile and docker-compose.yml. Its
// tests carry the build tag `deploy` because they need Debian packages (ansible-core, ansible-lint,
// systemd, redis-server) that `make deploy-check` installs before it runs them:
//
//	make deploy-check    # or: go test -tags deploy -count=1 ./infrastructure/deploytest
//
// What they do: ansible-lint (production profile) and --syntax-check; a real run of site.yml with
// -i localhost, -c local into a staging root (secrets from an ansible-vault file); systemd-analyze verify
// on every rendered unit; the rendered redis.conf started with redis-server (TLS, password, AOF,
// noeviction); every unit's rendered ExecStartPre and ExecStart started with its rendered EnvironmentFile
// until gRPC health answers SERVING, then stopped with SIGTERM (exit 0); rolling-update.yml against those
// processes, and its abort before the next batch when a host stays unhealthy; the Dockerfile parsed and
// linted with BuildKit, its build command run on the .dockerignore'd context, and docker-compose.yml
// loaded with compose-go (no Docker engine runs here).
package deploytest
