//go:build deploy

package deploytest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// built holds what the tests share: the dockercheck tool and the binaries the Dockerfile's build stage
// makes, built once from the Docker build context (the repository minus .dockerignore).
type built struct {
	dir         string // removed when the tests end
	dockercheck string // infrastructure/deploytest/dockercheck
	cns         string // the cns binary, as in the image
	healthcheck string // cns-healthcheck, as in the image
	err         string
}

var (
	buildOnce sync.Once
	buildRes  built
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildRes.dir != "" {
		os.RemoveAll(buildRes.dir)
	}
	os.Exit(code)
}

func artifacts(t testing.TB) built {
	t.Helper()
	buildOnce.Do(func() { buildRes = buildArtifacts(repoRoot(t)) })
	if buildRes.err != "" {
		t.Fatal(buildRes.err)
	}
	return buildRes
}

func buildArtifacts(root string) (b built) {
	dir, err := os.MkdirTemp("", "cns-deploytest-build-")
	if err != nil {
		return built{err: err.Error()}
	}
	b.dir = dir
	goEnv := append(os.Environ(), "GOTOOLCHAIN=local")

	b.dockercheck = filepath.Join(dir, "dockercheck")
	cmd := exec.Command("go", "build", "-o", b.dockercheck, ".")
	cmd.Dir = filepath.Join(root, "infrastructure", "deploytest", "dockercheck")
	cmd.Env = goEnv
	if out, err := cmd.CombinedOutput(); err != nil {
		return built{dir: dir, err: "build dockercheck: " + err.Error() + "\n" + string(out)}
	}

	ctx := filepath.Join(dir, "context")
	if out, err := exec.Command(b.dockercheck, "context", root, ctx).CombinedOutput(); err != nil {
		return built{dir: dir, err: "build context: " + err.Error() + "\n" + string(out)}
	}
	env, script, err := dockerBuildStage(filepath.Join(root, "Dockerfile"))
	if err != nil {
		return built{dir: dir, err: err.Error()}
	}
	out := filepath.Join(dir, "out")
	script = strings.ReplaceAll(script, "/out/", out+"/")
	script = strings.ReplaceAll(script, "${VERSION}", "deploytest")
	cmd = exec.Command("sh", "-ec", script)
	cmd.Dir = ctx
	cmd.Env = append(goEnv, env...)
	if o, err := cmd.CombinedOutput(); err != nil {
		return built{dir: dir, err: "the Dockerfile's build command failed on the build context: " + err.Error() + "\n" + script + "\n" + string(o)}
	}
	b.cns = filepath.Join(out, "cns")
	b.healthcheck = filepath.Join(out, "cns-healthcheck")
	for _, f := range []string{b.cns, b.healthcheck} {
		if _, err := os.Stat(f); err != nil {
			return built{dir: dir, err: "the Dockerfile's build command did not make " + filepath.Base(f)}
		}
	}
	return b
}

// dockerBuildStage returns the ENV settings of the Dockerfile's first stage and its RUN command that
// runs `go build`, continuation lines joined.
func dockerBuildStage(path string) (env []string, run string, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	var instrs []string
	cur := ""
	for _, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur += strings.TrimSuffix(trimmed, `\`) + " "
			continue
		}
		instrs = append(instrs, cur+trimmed)
		cur = ""
	}
	froms := 0
	for _, in := range instrs {
		word, rest, _ := strings.Cut(in, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			froms++
		case "ENV":
			if froms == 1 {
				for _, kv := range strings.Fields(rest) {
					if !strings.Contains(kv, "=") {
						return nil, "", fmt.Errorf("ENV %q: use the KEY=value form", rest)
					}
					env = append(env, kv)
				}
			}
		case "RUN":
			if froms == 1 && strings.Contains(rest, "go build") {
				run = rest
			}
		}
	}
	if run == "" {
		return nil, "", fmt.Errorf("%s: no RUN … go build in the first stage", path)
	}
	return env, run, nil
}
