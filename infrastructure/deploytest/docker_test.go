//go:build deploy

package deploytest

import (
	"bufio"
	"debug/elf"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cns-dev/cns/configs"
)

// TestDockerfile parses and lints the Dockerfile with BuildKit (dockercheck), checks the choices the
// deployment relies on, and checks the binaries its build command made (artifacts) are static, as the
// distroless runtime needs.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	b := artifacts(t)
	root := repoRoot(t)
	out := run(t, root, nil, b.dockercheck, "dockerfile", filepath.Join(root, "Dockerfile"))
	if strings.Count(out, "stage ") < 2 {
		t.Errorf("want a multi-stage build:\n%s", out)
	}
	raw, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(raw)
	goVersion := strings.TrimPrefix(runtime.Version(), "go")
	if !strings.Contains(df, "FROM golang:"+goVersion+"-") {
		t.Errorf("the build stage must be pinned to the Go release this repository is tested with (golang:%s-…)", goVersion)
	}
	final := df[strings.LastIndex(df, "\nFROM "):]
	for _, re := range []string{`(?m)^FROM \S+:\S+`, `(?m)^USER (\d+|[a-z]+)(:\S+)?$`, `(?m)^HEALTHCHECK .*CMD \["/usr/local/bin/cns-healthcheck"\]`,
		`(?m)^ENTRYPOINT \["/usr/local/bin/cns"\]$`} {
		if !regexp.MustCompile(re).MatchString(final) {
			t.Errorf("the runtime stage lacks %s", re)
		}
	}
	if m := regexp.MustCompile(`(?m)^USER (\S+)$`).FindStringSubmatch(final); m == nil || m[1] == "root" || strings.HasPrefix(m[1], "0:") || m[1] == "0" {
		t.Errorf("the runtime stage must run as a non-root user, got %v", m)
	}
	for _, bin := range []string{b.cns, b.healthcheck} {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s is dynamically linked; the distroless static image has no libc", filepath.Base(bin))
			}
		}
		f.Close()
	}
	// The same image runs both roles: the compose file's api and worker differ only in the command.
	if strings.Count(df, "ENTRYPOINT") != 1 {
		t.Error("one ENTRYPOINT (the cns binary) for api and worker")
	}
}

// TestCompose loads docker-compose.yml like `docker compose config` (compose-go) with a filled-in .env,
// checks the resolved model, and checks that an .env without the secrets is refused.
func TestCompose(t *testing.T) {
	t.Parallel()
	b := artifacts(t)
	root := repoRoot(t)
	dir := t.TempDir()
	compose, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "docker-compose.yml"), string(compose), 0o644)
	example, err := os.ReadFile(filepath.Join(root, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}

	// .env.example as it is: the secrets are empty, and compose must refuse to run without them.
	writeFile(t, filepath.Join(dir, ".env"), string(example), 0o600)
	out, err := runErr(dir, nil, b.dockercheck, "compose", "docker-compose.yml")
	if err == nil || !strings.Contains(out, "REDIS_PASSWORD") {
		t.Errorf("compose accepted an .env without REDIS_PASSWORD: %v\n%s", err, out)
	}

	filled := strings.NewReplacer("REDIS_PASSWORD=\n", "REDIS_PASSWORD=0123456789abcdef0123456789abcdef\n",
		"CNS_AUTH__PROJECTS__DEMO__SECRET=\n", "CNS_AUTH__PROJECTS__DEMO__SECRET="+randB64(t, 32)+"\n",
		"CNS_DASHBOARD_SESSION_KEY=\n", "CNS_DASHBOARD_SESSION_KEY="+randB64(t, 32)+"\n").Replace(string(example))
	writeFile(t, filepath.Join(dir, ".env"), filled, 0o600)
	out = run(t, dir, nil, b.dockercheck, "compose", "docker-compose.yml")

	var model struct {
		Services map[string]struct {
			Image   string         `yaml:"image"`
			Build   map[string]any `yaml:"build"`
			Command []string       `yaml:"command"`
			Deploy  struct {
				Replicas *int `yaml:"replicas"`
			} `yaml:"deploy"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
			DependsOn map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Volumes []struct {
				Type, Source, Target string
			} `yaml:"volumes"`
			Environment map[string]*string `yaml:"environment"`
			ReadOnly    bool               `yaml:"read_only"`
			CapDrop     []string           `yaml:"cap_drop"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
		Configs map[string]struct {
			Content string `yaml:"content"`
		} `yaml:"configs"`
	}
	if err := yaml.Unmarshal([]byte(out), &model); err != nil {
		t.Fatalf("resolved model: %v\n%s", err, out)
	}
	redisSvc, api, worker := model.Services["redis"], model.Services["api"], model.Services["worker"]
	if redisSvc.Image == "" || api.Image == "" || worker.Image == "" {
		t.Fatalf("want services redis, api and worker:\n%s", out)
	}
	if worker.Deploy.Replicas == nil || *worker.Deploy.Replicas != 2 {
		t.Errorf("worker deploy.replicas = %v, want 2", worker.Deploy.Replicas)
	}
	if api.Image != worker.Image || api.Build["context"] != worker.Build["context"] {
		t.Errorf("api and worker must run the same image: %s vs %s", api.Image, worker.Image)
	}
	if len(api.Command) == 0 || api.Command[0] != "serve" || len(worker.Command) == 0 || worker.Command[0] != "worker" {
		t.Errorf("commands: api %v, worker %v", api.Command, worker.Command)
	}
	if len(redisSvc.Healthcheck.Test) == 0 || !strings.Contains(strings.Join(redisSvc.Healthcheck.Test, " "), "ping") {
		t.Errorf("redis healthcheck: %v", redisSvc.Healthcheck.Test)
	}
	for name, s := range map[string]string{"api": api.Healthcheck.Test[len(api.Healthcheck.Test)-1], "worker": worker.Healthcheck.Test[len(worker.Healthcheck.Test)-1]} {
		want := map[string]string{"api": "8080", "worker": "9090"}[name]
		if !strings.HasSuffix(s, ":"+want) {
			t.Errorf("%s healthcheck probes %s, want its own port %s", name, s, want)
		}
	}
	for name, s := range map[string]string{"api": api.DependsOn["redis"].Condition, "worker": worker.DependsOn["redis"].Condition} {
		if s != "service_healthy" {
			t.Errorf("%s must wait for a healthy redis, depends_on condition %q", name, s)
		}
	}
	dataVolume := false
	for _, v := range redisSvc.Volumes {
		if v.Type == "volume" && v.Target == "/data" && model.Volumes[v.Source] != nil {
			dataVolume = true
		}
	}
	if !dataVolume {
		t.Errorf("redis data must live in a named volume at /data: %+v", redisSvc.Volumes)
	}
	conf := model.Configs["redis_conf"].Content
	for _, want := range []string{"appendonly yes", "maxmemory-policy noeviction", `requirepass "0123456789abcdef0123456789abcdef"`} {
		if !strings.Contains(conf, want) {
			t.Errorf("redis configuration lacks %q:\n%s", want, conf)
		}
	}
	if u := api.Environment["CNS_REDIS_URL"]; u == nil || *u != "redis://:0123456789abcdef0123456789abcdef@redis:6379/0" {
		t.Errorf("CNS_REDIS_URL = %v", u)
	}
	for name, s := range map[string]bool{"api": api.ReadOnly, "worker": worker.ReadOnly} {
		if !s {
			t.Errorf("%s: read_only root file system", name)
		}
	}
	if len(api.CapDrop) == 0 || api.CapDrop[0] != "ALL" {
		t.Errorf("api cap_drop = %v", api.CapDrop)
	}
}

// TestEnvExample: every CNS_ variable in .env.example is a configuration key's variable (a typo would be
// ignored by the binary), and every line is a comment or NAME=value.
func TestEnvExample(t *testing.T) {
	t.Parallel()
	f, err := os.Open(filepath.Join(repoRoot(t), ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	known := map[string]bool{}
	for k := range configs.Defaults() {
		known[configs.EnvName(k)] = true
	}
	mapVar := regexp.MustCompile(`^CNS_(AUTH__PROJECTS__[A-Z0-9_]+__SECRET|DASHBOARD__USERS__[A-Z0-9_]+__(PASSWORD_HASH|ROLE|PROJECT)|REDIS__ENCRYPTION_KEYS__[A-Z0-9_]+)$`)
	composeOnly := map[string]bool{"CNS_VERSION": true, "CNS_API_PUBLISH": true, "CNS_MODELS_DIR": true, "CNS_IMAGE": true}
	sc := bufio.NewScanner(f)
	n, vars := 0, 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if commented, ok := strings.CutPrefix(line, "# "); ok && regexp.MustCompile(`^CNS_[A-Z0-9_]+=`).MatchString(commented) {
			line = commented // commented-out examples must be right too
		} else if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, ok := strings.Cut(line, "=")
		if !ok || !envName.MatchString(name) {
			t.Errorf(".env.example:%d: not NAME=value: %q", n, line)
			continue
		}
		vars++
		if strings.HasPrefix(name, "CNS_") && !known[name] && !mapVar.MatchString(name) && !composeOnly[name] {
			t.Errorf(".env.example:%d: %s is not a configuration variable (configs/README.md)", n, name)
		}
	}
	if vars < 5 {
		t.Errorf(".env.example has %d variables", vars)
	}
}
