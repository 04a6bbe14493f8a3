//go:build deploy

package deploytest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"

	"github.com/cns-dev/cns/configs"
	"github.com/cns-dev/cns/internal/testcert"
)

// secrets of one staging deployment; none of them may appear in a log, a unit file or ansible's output.
type secrets struct {
	redisPassword, projectSecret, sessionKey, encryptionKey, llmKey, bcryptHash string
}

func (s secrets) all() map[string]string {
	return map[string]string{"redis password": s.redisPassword, "project secret": s.projectSecret,
		"session key": s.sessionKey, "encryption key": s.encryptionKey, "LLM API key": s.llmKey,
		"bcrypt hash": s.bcryptHash}
}

// noSecrets fails when text contains a secret.
func (s secrets) noSecrets(t testing.TB, where, text string) {
	t.Helper()
	for name, v := range s.all() {
		if strings.Contains(text, v) {
			t.Errorf("%s contains the %s", where, name)
		}
	}
}

func randB64(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func sha256File(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// deployment is a staging deployment's inputs: ports, certificates, secrets and the variable files.
type deployment struct {
	dir                     string // scratch: vars, vault, inventories
	root                    string // cns_root of the site.yml run
	caFile                  string
	redisPort, apiPort      int
	workerBase, workerCount int
	sec                     secrets
	weird                   string // a setting value with quotes, backslashes, $ and a backtick
	varsFile, vaultFile     string
	vaultPass               string
}

// ansiblePlaybook runs a playbook with the deployment's variables and vault; extra are more arguments.
func (d *deployment) ansiblePlaybook(t testing.TB, playbook string, extra ...string) (string, error) {
	t.Helper()
	args := append([]string{playbook, "-e", "@" + d.varsFile, "-e", "@" + d.vaultFile, "--vault-password-file", d.vaultPass}, extra...)
	out, err := runErr(ansibleDir(t), ansibleEnv(t), "ansible-playbook", args...)
	d.sec.noSecrets(t, "ansible-playbook output", out)
	return out, err
}

func newDeployment(t *testing.T, b built) *deployment {
	t.Helper()
	root := repoRoot(t)
	d := &deployment{dir: t.TempDir(), root: t.TempDir(), workerCount: 2}
	d.redisPort, d.apiPort = freePort(t), freePort(t)
	d.workerBase = freePortRange(t, d.workerCount)

	ca := testcert.NewCA(t, "cns-deploytest-ca")
	d.caFile = ca.CertPEM
	apiCert, apiKey, _ := ca.Issue(t, "api")
	redisCert, redisKey, _ := ca.Issue(t, "redis")

	pw := make([]byte, 24)
	if _, err := rand.Read(pw); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse battery staple"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	d.sec = secrets{redisPassword: hex.EncodeToString(pw), projectSecret: randB64(t, 32), sessionKey: randB64(t, 32),
		encryptionKey: randB64(t, 32), llmKey: "sk-" + hex.EncodeToString(pw[:12]), bcryptHash: string(hash)}
	d.weird = `model "q" \back\slash $HOME ` + "`tick`"

	// The vault: what an operator keeps in group_vars/all/vault.yml, encrypted with ansible-vault.
	vault := map[string]any{
		"vault_redis_password":              d.sec.redisPassword,
		"vault_cns_project_secrets":         map[string]string{"demo": d.sec.projectSecret},
		"vault_cns_dashboard_session_key":   d.sec.sessionKey,
		"vault_cns_dashboard_users":         map[string]any{"alice": map[string]string{"password_hash": d.sec.bcryptHash, "role": "operator", "project": "demo"}},
		"vault_cns_redis_encryption_keys":   map[string]string{"k1": d.sec.encryptionKey},
		"vault_cns_synthesis_llm_api_key":   d.sec.llmKey,
		"vault_cns_redis_encryption_key_id": "k1",
	}
	d.vaultFile = filepath.Join(d.dir, "vault.yml")
	d.vaultPass = filepath.Join(d.dir, "vault-pass")
	writeFile(t, d.vaultPass, randB64(t, 24)+"\n", 0o600)
	writeYAML(t, d.vaultFile, vault)
	run(t, d.dir, ansibleEnv(t), "ansible-vault", "encrypt", "--vault-password-file", d.vaultPass, d.vaultFile)
	enc, _ := os.ReadFile(d.vaultFile)
	if !strings.HasPrefix(string(enc), "$ANSIBLE_VAULT;") {
		t.Fatalf("vault file is not encrypted: %.40q", enc)
	}
	d.sec.noSecrets(t, "the encrypted vault", string(enc))

	// Every key of the binary that the role does not set itself goes through cns_settings (its default
	// value, so the configuration stays valid), to show the EnvironmentFile can set each of them.
	settings := map[string]string{}
	roleKeys := roleSettings(t)
	for k, v := range configs.Defaults() {
		if !contains(roleKeys, k) {
			settings[k] = fmt.Sprint(v)
		}
	}
	settings["nlp.backend"] = "glove" // refuses to start without the model assets the role installs
	settings["synthesis.llm.model"] = d.weird
	settings["instance"] = "deploytest-api"
	group := map[string]string{"worker.concurrency": "3"}
	host := map[string]string{"critics.novelty_k": "7"}

	vars := map[string]any{
		"cns_become":                  false,
		"cns_binary_src":              b.cns,
		"cns_binary_sha256":           sha256File(t, b.cns),
		"cns_models_src":              filepath.Join(root, "models"),
		"cns_profile":                 "production",
		"cns_api_listen":              "127.0.0.1:" + strconv.Itoa(d.apiPort),
		"cns_worker_instances":        d.workerCount,
		"cns_worker_base_port":        d.workerBase,
		"cns_worker_listen_host":      "127.0.0.1",
		"cns_server_shutdown_timeout": 5,
		"cns_worker_drain_timeout":    5,
		"cns_redis_host":              "127.0.0.1",
		"cns_redis_port":              d.redisPort,
		"cns_redis_tls":               true,
		"cns_redis_ca_src":            d.caFile,
		"cns_redis_password":          "{{ vault_redis_password }}",
		"cns_tls_cert_src":            apiCert,
		"cns_tls_key_src":             apiKey,
		"cns_ca_src":                  d.caFile,
		"cns_project_secrets":         "{{ vault_cns_project_secrets }}",
		"cns_dashboard_session_key":   "{{ vault_cns_dashboard_session_key }}",
		"cns_dashboard_users":         "{{ vault_cns_dashboard_users }}",
		"cns_redis_encryption_keys":   "{{ vault_cns_redis_encryption_keys }}",
		"cns_redis_encryption_key_id": "{{ vault_cns_redis_encryption_key_id }}",
		"cns_synthesis_llm_api_key":   "{{ vault_cns_synthesis_llm_api_key }}",
		"cns_settings":                settings,
		"cns_group_settings":          group,
		"cns_host_settings":           host,
		"cns_extra_env":               map[string]string{"GOMAXPROCS": "2"},
		"cns_health_retries":          30,
		"cns_health_delay":            1,
		"redis_password":              "{{ vault_redis_password }}",
		"redis_bind":                  "127.0.0.1",
		"redis_port":                  d.redisPort,
		"redis_tls":                   true,
		"redis_tls_cert_src":          redisCert,
		"redis_tls_key_src":           redisKey,
		"redis_tls_ca_src":            d.caFile,
	}
	d.varsFile = filepath.Join(d.dir, "vars.yml")
	writeYAML(t, d.varsFile, vars)
	return d
}

func writeYAML(t testing.TB, path string, v any) {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(b), 0o600)
}

func roleSettings(t testing.TB) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(ansibleDir(t), "roles", "cns_service", "vars", "main.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var vars struct {
		Role []string `yaml:"cns_role_settings"`
	}
	if err := yaml.Unmarshal(raw, &vars); err != nil {
		t.Fatal(err)
	}
	return vars.Role
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestStagingDeployment runs site.yml for real with -i localhost, -c local into a staging root, checks
// what it rendered, verifies the units with systemd-analyze, starts the rendered Redis and every unit's
// rendered command line with its rendered EnvironmentFile, waits for gRPC health SERVING, runs
// rolling-update.yml against them, and stops them with SIGTERM.
func TestStagingDeployment(t *testing.T) {
	t.Parallel()
	need(t, "ansible-playbook", "ansible-vault", "systemd-analyze", "redis-server")
	if _, err := os.Stat(filepath.Join(repoRoot(t), "models", "MANIFEST.json")); err != nil {
		t.Fatal("models/MANIFEST.json is missing: run make models (make deploy-check does)")
	}
	b := artifacts(t)
	d := newDeployment(t, b)

	out, err := d.ansiblePlaybook(t, "site.yml", "-i", "localhost,", "-c", "local",
		"-e", "cns_root="+d.root, "-e", "cns_redis_hosts=localhost", "-e", "cns_service_hosts=localhost",
		"-e", `{"cns_api_enabled": true, "cns_worker_enabled": true}`)
	if err != nil {
		t.Fatalf("site.yml: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`localhost\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0`).MatchString(out) {
		t.Fatalf("site.yml recap is not clean:\n%s", out)
	}

	r := func(p string) string { return filepath.Join(d.root, p) }
	envFile, apiUnit, workerUnit := r("etc/cns/cns.env"), r("etc/systemd/system/cns-api.service"), r("etc/systemd/system/cns-worker@.service")
	redisConf := r("etc/redis/redis.conf")

	t.Run("files", func(t *testing.T) {
		for path, mode := range map[string]os.FileMode{envFile: 0o600, redisConf: 0o640, apiUnit: 0o644, workerUnit: 0o644,
			r("etc/cns/tls/api.key"): 0o640, r("etc/redis/tls/redis.key"): 0o640} {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != mode {
				t.Errorf("%s: mode %o, want %o", path, st.Mode().Perm(), mode)
			}
		}
		bin, err := filepath.EvalSymlinks(r("usr/local/bin/cns"))
		if err != nil {
			t.Fatal(err)
		}
		if want := r("usr/local/lib/cns/cns-" + sha256File(t, b.cns)); bin != want {
			t.Errorf("cns links to %s, want the release %s", bin, want)
		}
		if sha256File(t, bin) != sha256File(t, b.cns) {
			t.Error("installed binary differs from the built one")
		}
		if sha256File(t, r("usr/local/share/cns/models/MANIFEST.json")) != sha256File(t, filepath.Join(repoRoot(t), "models", "MANIFEST.json")) {
			t.Error("models were not installed")
		}
		for _, u := range []string{apiUnit, workerUnit} {
			raw, _ := os.ReadFile(u)
			d.sec.noSecrets(t, u, string(raw))
		}
		conf, _ := os.ReadFile(redisConf)
		for _, want := range []string{"appendonly yes", "maxmemory-policy noeviction", "port 0", "tls-port " + strconv.Itoa(d.redisPort),
			"bind 127.0.0.1", `requirepass "` + d.sec.redisPassword + `"`} {
			if !strings.Contains(string(conf), want+"\n") {
				t.Errorf("redis.conf lacks %q", want)
			}
		}
	})

	t.Run("systemd-analyze verify", func(t *testing.T) {
		// A template is verified as the instance "i" and as a real instance (the unit copied under its
		// instance name); any output is a failure, since verify exits 0 on warnings.
		inst := filepath.Join(t.TempDir(), "cns-worker@"+strconv.Itoa(d.workerBase)+".service")
		raw, err := os.ReadFile(workerUnit)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, inst, string(raw), 0o644)
		for _, u := range []string{apiUnit, workerUnit, inst} {
			out, err := runErr("", nil, "systemd-analyze", "verify", u)
			if err != nil || strings.TrimSpace(out) != "" {
				t.Errorf("systemd-analyze verify %s: %v\n%s", filepath.Base(u), err, out)
			}
		}
		// A broken unit must fail the same check, or the check proves nothing.
		bad := filepath.Join(t.TempDir(), "cns-bad.service")
		writeFile(t, bad, strings.Replace(string(raw), "ExecStart=", "ExecStrat=", 1), 0o644)
		if out, _ := runErr("", nil, "systemd-analyze", "verify", bad); strings.TrimSpace(out) == "" {
			t.Error("systemd-analyze verify printed nothing for a unit with a misspelt directive")
		}
	})

	api, worker := parseUnit(t, apiUnit), parseUnit(t, workerUnit)
	t.Run("hardening", func(t *testing.T) {
		env := parseEnvFile(t, envFile)
		for name, u := range map[string]unit{"cns-api": api, "cns-worker@": worker} {
			want := map[string]string{
				"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
				"CapabilityBoundingSet": "", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
				"SystemCallFilter": "@system-service", "Restart": "on-failure", "ReadWritePaths": r("var/lib/cns"),
				"EnvironmentFile": envFile, "User": "cns",
			}
			for k, v := range want {
				if got, ok := u["Service"][k]; !ok || got[len(got)-1] != v {
					t.Errorf("%s: %s=%q, want %q", name, k, u.get("Service", k), v)
				}
			}
			if pre := u.get("Service", "ExecStartPre"); pre != r("usr/local/bin/cns")+" config check" {
				t.Errorf("%s: ExecStartPre=%q", name, pre)
			}
		}
		// systemd must wait longer than the process drains.
		for _, c := range []struct {
			u     unit
			drain string
		}{{api, env["CNS_SERVER_SHUTDOWN_TIMEOUT"]}, {worker, env["CNS_WORKER_DRAIN_TIMEOUT"]}} {
			stop, err1 := time.ParseDuration(c.u.get("Service", "TimeoutStopSec"))
			drain, err2 := time.ParseDuration(c.drain)
			if err1 != nil || err2 != nil || stop <= drain {
				t.Errorf("TimeoutStopSec=%s must exceed the drain timeout %s", c.u.get("Service", "TimeoutStopSec"), c.drain)
			}
		}
		if !strings.Contains(worker.get("Service", "ExecStart"), "--instance %H-%i") {
			t.Errorf("worker ExecStart lacks a stable --instance: %s", worker.get("Service", "ExecStart"))
		}
	})

	env := parseEnvFile(t, envFile)
	t.Run("environment file sets every key", func(t *testing.T) {
		if env["CNS_SYNTHESIS_LLM_MODEL"] != d.weird {
			t.Errorf("CNS_SYNTHESIS_LLM_MODEL=%q after systemd's unquoting, want %q", env["CNS_SYNTHESIS_LLM_MODEL"], d.weird)
		}
		if env["CNS_DASHBOARD__USERS__ALICE__PASSWORD_HASH"] != d.sec.bcryptHash {
			t.Error("the bcrypt hash ($ signs) did not survive the EnvironmentFile")
		}
		if env["GOMAXPROCS"] != "2" {
			t.Errorf("cns_extra_env: GOMAXPROCS=%q", env["GOMAXPROCS"])
		}
		// cns config check with exactly the EnvironmentFile: valid, and every key comes from it.
		out := run(t, d.root, serviceEnv(env, t.TempDir()), r("usr/local/bin/cns"), "config", "check")
		d.sec.noSecrets(t, "cns config check output", out)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if !strings.HasPrefix(lines[0], "configuration is valid (profile production)") {
			t.Fatalf("config check: %s", out)
		}
		source, value := map[string]string{}, map[string]string{}
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			if len(f) < 2 {
				t.Fatalf("config check line %q", l)
			}
			source[f[0]] = f[len(f)-1]
			value[f[0]] = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(l, f[0]), f[len(f)-1]))
		}
		var keys []string
		for k := range configs.Defaults() {
			keys = append(keys, k)
		}
		keys = append(keys, "auth.projects.demo.secret", "dashboard.users.alice.password_hash", "dashboard.users.alice.role",
			"dashboard.users.alice.project", "redis.encryption_keys.k1")
		sort.Strings(keys)
		for _, k := range keys {
			if source[k] != "env" {
				t.Errorf("%s: source %q, want env (set by the EnvironmentFile)", k, source[k])
			}
		}
		for k, want := range map[string]string{"worker.concurrency": "3", "critics.novelty_k": "7", "nlp.backend": "glove",
			"synthesis.llm.model": d.weird, "profile": "production", "server.tls.cert_file": r("etc/cns/tls/api.crt"),
			"redis.ca_file": r("etc/cns/tls/redis-ca.crt"), "nlp.models_dir": r("usr/local/share/cns/models"),
			"auth.projects.demo.secret": "[redacted]"} {
			if value[k] != want {
				t.Errorf("%s = %q, want %q", k, value[k], want)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	// Redis from the rendered redis.conf (Debian's unit adds --supervised systemd; nothing supervises here).
	redisProc := startProcess(t, "redis-server", d.root, serviceEnv(nil, t.TempDir()), []string{"redis-server", redisConf, "--daemonize", "no"})
	t.Run("redis", func(t *testing.T) { checkRedis(t, d, redisProc) })
	if t.Failed() {
		t.FailNow()
	}

	// Every unit's rendered ExecStartPre and ExecStart, with its rendered EnvironmentFile.
	host, _ := os.Hostname()
	client := healthClient(t, d.caFile)
	type started struct {
		p     *process
		url   string
		drain time.Duration
	}
	var procs []started
	startUnit := func(name string, u unit, instance string, url string) {
		vars := parseEnvFile(t, expandSpecifiers(t, u.get("Service", "EnvironmentFile"), instance, host))
		dir := expandSpecifiers(t, u.get("Service", "WorkingDirectory"), instance, host)
		senv := serviceEnv(vars, t.TempDir())
		pre := commandLine(t, expandSpecifiers(t, u.get("Service", "ExecStartPre"), instance, host))
		if out, err := runErr(dir, senv, pre[0], pre[1:]...); err != nil {
			t.Fatalf("%s ExecStartPre %v: %v\n%s", name, pre, err, out)
		}
		argv := commandLine(t, expandSpecifiers(t, u.get("Service", "ExecStart"), instance, host))
		p := startProcess(t, name, dir, senv, argv)
		stop, err := time.ParseDuration(u.get("Service", "TimeoutStopSec"))
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, started{p, url, stop})
	}
	startUnit("cns-api", api, "", fmt.Sprintf("https://127.0.0.1:%d", d.apiPort))
	for i := range d.workerCount {
		port := strconv.Itoa(d.workerBase + i)
		startUnit("cns-worker@"+port, worker, port, "https://127.0.0.1:"+port)
	}
	for _, s := range procs {
		st := waitServing(t, s.p, client, s.url, 90*time.Second)
		resp, err := client.Get(s.url + "/healthz")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s /healthz: %v %v", s.p.name, err, resp)
		}
		resp.Body.Close()
		t.Logf("%s: gRPC health %s at %s", s.p.name, st, s.url)
	}
	t.Run("registry", func(t *testing.T) { checkRegistry(t, d, host) })

	t.Run("image healthcheck", func(t *testing.T) {
		// The Docker image's HEALTHCHECK binary against the running processes, and against nothing.
		for _, s := range procs {
			if out, err := runErr("", nil, b.healthcheck, "--ca", d.caFile, s.url); err != nil {
				t.Errorf("cns-healthcheck %s: %v\n%s", s.url, err, out)
			}
		}
		if out, err := runErr("", nil, b.healthcheck, "--timeout", "2s", fmt.Sprintf("http://127.0.0.1:%d", freePort(t))); err == nil {
			t.Errorf("cns-healthcheck passed with nothing listening: %s", out)
		}
		if out, err := runErr("", nil, b.healthcheck, procs[0].url); err == nil {
			t.Errorf("cns-healthcheck trusted a certificate without its CA: %s", out)
		}
	})

	t.Run("rolling update", func(t *testing.T) {
		// The inventory a real deployment would have, with this host in both groups; the processes above
		// stand in for the systemd services (nothing here can start units), so the run installs,
		// finds nothing to restart and waits for each process's health before the next one.
		inv := filepath.Join(d.dir, "rolling-hosts.ini")
		writeFile(t, inv, "[api]\nlocalhost ansible_connection=local\n[worker]\nlocalhost ansible_connection=local\n", 0o600)
		// The models are in place from site.yml; leaving them out keeps the run short.
		out, err := d.ansiblePlaybook(t, "rolling-update.yml", "-i", inv, "-e", "cns_root="+d.root, "-e", "cns_models_src=")
		if err != nil {
			t.Fatalf("rolling-update.yml: %v\n%s", err, out)
		}
		for _, task := range []string{"Wait for each worker's gRPC health to be SERVING", "Wait for the API's gRPC health to be SERVING",
			"Wait for the API's /healthz"} {
			if !regexp.MustCompile(`TASK \[cns_service : ` + regexp.QuoteMeta(task) + `\][^\n]*\n(ok|FAILED - RETRYING)`).MatchString(out) {
				t.Errorf("rolling-update.yml did not run %q successfully:\n%s", task, out)
			}
		}
		for i := range d.workerCount {
			item := fmt.Sprintf("ok: [localhost] => (item=%d)", d.workerBase+i)
			if n := strings.Count(out, item); n != 2 {
				t.Errorf("worker %d: %d health checks passed, want gRPC health and /healthz:\n%s", d.workerBase+i, n, out)
			}
		}
	})

	// SIGTERM: every process drains and exits 0 within its unit's TimeoutStopSec.
	for _, s := range procs {
		if err := s.p.stop(t, s.drain); err != nil {
			t.Errorf("%s exited with %v after SIGTERM\n%s", s.p.name, err, s.p.out.String())
		}
		log := s.p.out.String()
		d.sec.noSecrets(t, s.p.name+" log", log)
		if !strings.Contains(log, "nlp backend ready") {
			t.Errorf("%s did not load the installed models:\n%s", s.p.name, log)
		}
	}
	if err := redisProc.stop(t, 10*time.Second); err != nil {
		t.Errorf("redis-server: %v", err)
	}
}

// checkRedis: the rendered configuration serves TLS only, wants the password, keeps an AOF and never
// evicts.
func checkRedis(t *testing.T, d *deployment, p *process) {
	pem, err := os.ReadFile(d.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tlsConf := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	addr := "127.0.0.1:" + strconv.Itoa(d.redisPort)
	c := redis.NewClient(&redis.Options{Addr: addr, Password: d.sec.redisPassword, TLSConfig: tlsConf, DialTimeout: time.Second})
	defer c.Close()
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := c.Ping(ctx).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server from the rendered redis.conf does not answer: %v\n%s", err, p.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for k, want := range map[string]string{"appendonly": "yes", "maxmemory-policy": "noeviction", "port": "0", "appendfsync": "everysec"} {
		got, err := c.ConfigGet(ctx, k).Result()
		if err != nil || got[k] != want {
			t.Errorf("CONFIG GET %s = %v (%v), want %s", k, got, err, want)
		}
	}
	anon := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: tlsConf, DialTimeout: time.Second})
	defer anon.Close()
	if err := anon.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("a client without the password got %v, want NOAUTH", err)
	}
	plain := redis.NewClient(&redis.Options{Addr: addr, Password: d.sec.redisPassword, DialTimeout: time.Second, MaxRetries: -1})
	defer plain.Close()
	if err := plain.Ping(ctx).Err(); err == nil {
		t.Error("redis answered plaintext on its TLS port")
	}
}

// checkRegistry: the three processes registered in the deployed Redis (registry ZSET cns:registry,
// members "service|instance"): the API under the instance set in cns_settings, the workers under their
// stable <host>-<port> names from the unit's --instance %H-%i.
func checkRegistry(t *testing.T, d *deployment, host string) {
	pem, _ := os.ReadFile(d.caFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(d.redisPort), Password: d.sec.redisPassword,
		TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
	defer c.Close()
	want := []string{"cns-api|deploytest-api"}
	for i := range d.workerCount {
		want = append(want, "cns-worker|"+host+"-"+strconv.Itoa(d.workerBase+i))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		members, err := c.ZRange(context.Background(), "cns:registry", 0, -1).Result()
		missing := minus(want, members)
		if err == nil && len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes missing from the registry: %v (have %v, %v)", missing, members, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestRollingUpdateAborts: with two worker hosts in batches of one and the first never healthy, the run
// fails and never touches the second host or the API hosts.
func TestRollingUpdateAborts(t *testing.T) {
	t.Parallel()
	need(t, "ansible-playbook", "ansible-vault")
	d := newDeployment(t, artifacts(t))
	w1, w2, a1 := t.TempDir(), t.TempDir(), t.TempDir()
	dead := freePort(t)
	inv := filepath.Join(d.dir, "abort-hosts.ini")
	writeFile(t, inv, fmt.Sprintf(`[worker]
w1 ansible_connection=local cns_root=%s cns_worker_base_port=%d cns_worker_instances=1
w2 ansible_connection=local cns_root=%s cns_worker_base_port=%d cns_worker_instances=1
[api]
a1 ansible_connection=local cns_root=%s
[all:vars]
ansible_python_interpreter=/usr/bin/python3
`, w1, dead, w2, dead, a1), 0o600)
	// Extra vars outrank inventory variables, so this run's own vars file leaves out what differs per
	// host and makes the health wait short.
	raw, err := os.ReadFile(d.varsFile)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{}
	if err := yaml.Unmarshal(raw, &vars); err != nil {
		t.Fatal(err)
	}
	delete(vars, "cns_worker_base_port")
	delete(vars, "cns_worker_instances")
	vars["cns_health_retries"], vars["cns_health_delay"] = 2, 1
	vars["cns_models_src"] = "" // not needed to fail, and the slowest copy
	d.varsFile = filepath.Join(d.dir, "abort-vars.yml")
	writeYAML(t, d.varsFile, vars)

	out, err := d.ansiblePlaybook(t, "rolling-update.yml", "-i", inv)
	if err == nil {
		t.Fatalf("rolling-update.yml succeeded with an unhealthy worker:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(w1, "etc/cns/cns.env")); err != nil {
		t.Errorf("the first batch (w1) was not installed: %v\n%s", err, out)
	}
	for name, dir := range map[string]string{"w2 (next batch)": w2, "a1 (API play)": a1} {
		if _, err := os.Stat(filepath.Join(dir, "etc")); err == nil {
			t.Errorf("%s was touched after the first batch failed:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "Wait for each worker's gRPC health to be SERVING") || !strings.Contains(out, "w1") {
		t.Errorf("the failure is not the health wait:\n%s", out)
	}
}

// TestRoleRefuses: the role stops before rendering anything when the binary's checksum differs or a
// setting is not a key the binary knows (the binary would ignore it silently).
func TestRoleRefuses(t *testing.T) {
	t.Parallel()
	need(t, "ansible-playbook", "ansible-vault")
	d := newDeployment(t, artifacts(t))
	raw, err := os.ReadFile(d.varsFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"checksum", func(v map[string]any) { v["cns_binary_sha256"] = strings.Repeat("0", 64) }, "SHA-256 is not " + strings.Repeat("0", 64)},
		{"settings", func(v map[string]any) {
			v["cns_host_settings"] = map[string]string{"worker.concurency": "4"}
			v["cns_group_settings"] = map[string]string{"redis.url": "redis://elsewhere:6379"}
		}, "Keys this cns binary does not know (a typo would be ignored silently): worker.concurency. " +
			"Keys the role sets from its own variables (see defaults/main.yml): redis.url."},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]any{}
			if err := yaml.Unmarshal(raw, &vars); err != nil {
				t.Fatal(err)
			}
			vars["cns_models_src"] = ""
			c.edit(vars)
			dc := *d
			dc.varsFile = filepath.Join(t.TempDir(), "vars.yml")
			writeYAML(t, dc.varsFile, vars)
			root := t.TempDir()
			out, err := dc.ansiblePlaybook(t, "site.yml", "-i", "localhost,", "-c", "local", "-e", "cns_root="+root,
				"-e", "cns_redis_hosts=none", "-e", "cns_service_hosts=localhost", "-e", `{"cns_api_enabled": true, "cns_worker_enabled": true}`)
			if err == nil {
				t.Fatalf("site.yml succeeded:\n%s", out)
			}
			if !strings.Contains(strings.Join(strings.Fields(out), " "), c.want) {
				t.Errorf("the failure does not say %q:\n%s", c.want, out)
			}
			if _, err := os.Stat(filepath.Join(root, "etc/cns/cns.env")); err == nil {
				t.Error("the EnvironmentFile was rendered anyway")
			}
		})
	}
}
