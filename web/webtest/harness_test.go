package webtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium, which scripts/test.sh installs when it is missing.
const chromiumPath = "/usr/bin/chromium"

// step bounds one browser or API interaction; generous, because the machine is shared and the server
// may be a race-enabled build.
const step = 90 * time.Second

// lockedBuffer collects the server's log for a failure report.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// buildCNS builds the real binary, with -race when the tests run with it.
func buildCNS(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cns")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/cns-dev/cns/cmd/cns")
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build cns: %v\n%s", err, out)
	}
	return bin
}

// cnsServer is a running `cns dev` process.
type cnsServer struct {
	bin, url, dir string
	token         string // dev.token: the dev project, every permission
	log           *lockedBuffer
}

// startCNS runs `cns dev` on port 0 over dir with the given extra environment and waits until it serves.
func startCNS(t *testing.T, bin, dir string, env ...string) *cnsServer {
	t.Helper()
	cmd := exec.Command(bin, "dev", "--addr", "127.0.0.1:0", "--data", dir)
	// Relative paths (./models) resolve in the data dir, never in the checkout: the test runs the same
	// whether or not `make models` ran.
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CNS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start cns dev: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("cns dev exited with %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("cns dev did not stop within 30s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("cns dev log (last 8 KiB):\n%s", tail(logs.String(), 8<<10))
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "CNS dev is running at "); ok {
				urls <- strings.Fields(rest)[0]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	s := &cnsServer{bin: bin, dir: dir, log: logs}
	select {
	case s.url = <-urls:
	case err := <-exited:
		t.Fatalf("cns dev exited before serving: %v\n%s", err, tail(logs.String(), 8<<10))
	case <-time.After(step):
		t.Fatalf("cns dev did not start within %s\n%s", step, tail(logs.String(), 8<<10))
	}
	tok, err := os.ReadFile(filepath.Join(dir, "dev.token"))
	if err != nil {
		t.Fatalf("read dev.token: %v", err)
	}
	s.token = strings.TrimSpace(string(tok))
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// post invokes a unary Connect procedure with JSON, the way curl does (safe from any goroutine).
func (s *cnsServer) post(procedure string, body any) (map[string]any, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, s.url+procedure, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", procedure, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: status %d: %s", procedure, resp.StatusCode, raw)
	}
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%s: not JSON: %s", procedure, raw)
	}
	return out, nil
}

// call is post for the test goroutine: a failure fails the test.
func (s *cnsServer) call(t *testing.T, procedure string, body any) map[string]any {
	t.Helper()
	out, err := s.post(procedure, body)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// job returns a job's state ("JOB_STATE_SUCCEEDED"…) and SNO id.
func (s *cnsServer) job(t *testing.T, id string) (state, sno string) {
	t.Helper()
	j, _ := s.call(t, "/cns.v1.NarrativeService/GetJob", map[string]string{"jobId": id})["job"].(map[string]any)
	state, _ = j["state"].(string)
	sno, _ = j["snoId"].(string)
	return state, sno
}

// waitJob waits until a job ends and returns its SNO id; a failed job fails the test.
func (s *cnsServer) waitJob(t *testing.T, id string) string {
	t.Helper()
	deadline := time.Now().Add(step)
	for time.Now().Before(deadline) {
		state, sno := s.job(t, id)
		switch state {
		case "JOB_STATE_SUCCEEDED":
			return sno
		case "JOB_STATE_FAILED":
			t.Fatalf("job %s failed", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("job %s did not end within %s", id, step)
	return ""
}

// browser starts one headless Chromium for the whole test; tabs are isolated browser contexts.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is not installed at %s: `make test` (scripts/test.sh) installs Debian's chromium, or run apt-get install -y chromium", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1366, 900),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		bcancel()
		acancel()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// tab opens a tab in its own browser context, so each person in a test has their own cookies.
func tab(t *testing.T, b context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return ctx
}

// do runs steps with a deadline.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// run runs one action that returns a value, with a deadline.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// js evaluates an expression in the page.
func js[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	return run(t, ctx, chromedp.Evaluate[T](expr))
}

// waitJS waits until the expression is truthy in the page (polling every 50ms).
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	if _, err := chromedp.Run(sctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(step))); err != nil {
		t.Fatalf("waiting until %s: %v", what, err)
	}
}

// path returns the tab's current path and query.
func path(t *testing.T, ctx context.Context) string {
	t.Helper()
	return js[string](t, ctx, `location.pathname + location.search`)
}

// text returns an element's text content.
func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	return strings.TrimSpace(js[string](t, ctx, fmt.Sprintf(`(document.querySelector(%q) || {textContent: ""}).textContent`, css)))
}

// artifacts is where screenshots go.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CNS_WEBTEST_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shot saves a full-page PNG screenshot as a test artifact.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := run(t, ctx, chromedp.FullScreenshot(100))
	p := filepath.Join(artifacts(t), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// darkMode makes the tab prefer a dark colour scheme (or not).
func darkMode(t *testing.T, ctx context.Context, on bool) {
	t.Helper()
	v := "light"
	if on {
		v = "dark"
	}
	sctx, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	if _, err := chromedp.Call(sctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}}); err != nil {
		t.Fatalf("emulate colour scheme: %v", err)
	}
}
