package configs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cns-dev/cns/configs"
)

func env(kv ...string) func() []string { return func() []string { return kv } }

func TestDefaultsAreValid(t *testing.T) {
	t.Parallel()
	l, err := configs.Load(configs.Options{Environ: env()})
	if err != nil {
		t.Fatal(err)
	}
	if l.Addr != "127.0.0.1:8080" || l.Worker.Concurrency != 2 || l.Critics.EffectiveWeights() != configs.PresetWeights["default"] {
		t.Fatalf("unexpected defaults: %+v", l.Config)
	}
}

func TestLayering(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := filepath.Join(dir, "c.yaml")
	os.WriteFile(f, []byte("addr: 127.0.0.1:9000\nworker:\n  concurrency: 3\ncritics:\n  preset: exploration\n"), 0o600)
	l, err := configs.Load(configs.Options{File: f, Environ: env("CNS_WORKER_CONCURRENCY=7", "CNS_REDIS_URL=redis://:hunter2@localhost:6379/0",
		"CNS_AUTH__PROJECTS__ACME__SECRET=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "CNS_UNRELATED=1"),
		Set: map[string]string{"data_dir": "/tmp/x"}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Addr != "127.0.0.1:9000" || l.Worker.Concurrency != 7 || l.DataDir != "/tmp/x" || l.Auth.Projects["acme"].Secret == "" {
		t.Fatalf("layering wrong: %+v", l.Config)
	}
	if l.Critics.EffectiveWeights() != configs.PresetWeights["exploration"] {
		t.Fatalf("preset not applied: %+v", l.Critics)
	}
	src := map[string]configs.Entry{}
	for _, e := range l.Entries() {
		src[e.Key] = e
	}
	for key, want := range map[string]string{"addr": "file", "worker.concurrency": "env", "data_dir": "flag", "log.level": "default"} {
		if src[key].Source != want {
			t.Errorf("%s source = %q, want %q", key, src[key].Source, want)
		}
	}
	if e := src["auth.projects.acme.secret"]; !e.Secret || e.Value != "[redacted]" {
		t.Errorf("secret not redacted: %+v", e)
	}
	if v := src["redis.url"].Value; strings.Contains(v, "hunter2") {
		t.Errorf("redis password shown: %s", v)
	}
}

func TestEveryProblemListed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := filepath.Join(dir, "c.yaml")
	os.WriteFile(f, []byte("addr: nope\nwrokers: 3\nlog:\n  level: loud\ncritics:\n  preset: fast\nauth:\n  projects:\n    acme:\n      secret: c2hvcnQ=\n"), 0o600)
	_, err := configs.Load(configs.Options{File: f, Environ: env("CNS_WORKER_CONCURRENCY=0", "CNS_ADMISSION_MIN_TRUST=2")})
	list, ok := configs.AsProblems(err)
	if !ok {
		t.Fatalf("want problems, got %v", err)
	}
	for _, want := range []string{"addr", `unknown key "wrokers"`, "log.level", "critics.preset", "auth.projects.acme.secret", "worker.concurrency", "admission.min_trust"} {
		found := false
		for _, p := range list {
			found = found || strings.Contains(p, want)
		}
		if !found {
			t.Errorf("problem %q not reported in %v", want, list)
		}
	}
	if strings.Contains(err.Error(), "c2hvcnQ=") {
		t.Error("secret value leaked into the error")
	}
}

// TestReadmeListsEveryKey keeps configs/README.md's table complete.
func TestReadmeListsEveryKey(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for key := range configs.Defaults() {
		row := "| `" + key + "` | `" + configs.EnvName(key) + "` |"
		if !strings.Contains(string(b), row) {
			t.Errorf("configs/README.md lacks the row for %s (%s)", key, configs.EnvName(key))
		}
	}
}

func TestShippedFilesAreValid(t *testing.T) {
	t.Parallel()
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	prod := env("CNS_AUTH__PROJECTS__ACME__SECRET="+key, "CNS_DASHBOARD_SESSION_KEY="+key, "CNS_SERVER_TLS_INSECURE=true")
	for f, environ := range map[string]func() []string{"dev.yaml": env(), "production.example.yaml": prod} {
		_, err := configs.Load(configs.Options{File: f, Environ: environ})
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestProductionRefusals: a production configuration missing everything lists every problem at once.
func TestProductionRefusals(t *testing.T) {
	t.Parallel()
	_, err := configs.Load(configs.Options{Environ: env("CNS_PROFILE=production", "CNS_REDIS_URL=redis://10.0.0.5:6379",
		"CNS_AUTH__PROJECTS__ACME__SECRET=c2hvcnQtc2VjcmV0LTE2Ynl0ZXM=", "CNS_CRITICS_WEIGHTS_NOVELTY=1",
		"CNS_SERVER_TLS_CLIENT_CA_FILE=/nonexistent/ca.pem", "CNS_REDIS__ENCRYPTION_KEYS__K1=dG9vIHNob3J0")})
	list, ok := configs.AsProblems(err)
	if !ok {
		t.Fatalf("want problems, got %v", err)
	}
	for _, want := range []string{"auth.projects.acme.secret", "dashboard.session_key", "redis.url: production needs rediss://",
		"server.tls: production needs", "critics.weights", "server.tls.client_ca_file", "redis.encryption_keys.k1", "redis.encryption_key_id"} {
		found := false
		for _, p := range list {
			found = found || strings.Contains(p, want)
		}
		if !found {
			t.Errorf("problem %q not reported in:\n%s", want, strings.Join(list, "\n"))
		}
	}
	// The same production settings, complete, load.
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	_, err = configs.Load(configs.Options{Environ: env("CNS_PROFILE=production", "CNS_REDIS_URL=rediss://redis.internal:6380",
		"CNS_AUTH__PROJECTS__ACME__SECRET="+key, "CNS_DASHBOARD_SESSION_KEY="+key, "CNS_SERVER_TLS_INSECURE=true",
		"CNS_REDIS__ENCRYPTION_KEYS__K1="+key, "CNS_REDIS_ENCRYPTION_KEY_ID=k1")})
	if err != nil {
		t.Fatalf("complete production configuration refused: %v", err)
	}
}
