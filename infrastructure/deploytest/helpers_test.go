//go:build deploy

package deploytest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the repository root (this package is infrastructure/deploytest).
func repoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(filepath.Dir(wd))
}

func ansibleDir(t testing.TB) string { return filepath.Join(repoRoot(t), "infrastructure", "ansible") }

// need fails (never skips) when a tool is missing: make deploy-check installs them.
func need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run make deploy-check, which installs it", tool)
		}
	}
}

// run runs a command in dir and returns its combined output; it fails the test on a non-zero exit.
func run(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := runErr(dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ansibleEnv is the environment of ansible commands: no colours, no cowsay, a private home for its
// temporary files.
func ansibleEnv(t testing.TB) []string {
	home := t.TempDir()
	return append(os.Environ(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0", "ANSIBLE_NOCOWS=1",
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(home, "tmp"), "ANSIBLE_REMOTE_TEMP="+filepath.Join(home, "rtmp"),
		"ANSIBLE_CONFIG="+filepath.Join(ansibleDir(t), "ansible.cfg"))
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freePortRange returns the first of n consecutive free ports.
func freePortRange(t testing.TB, n int) int {
	t.Helper()
	for range 50 {
		base := freePort(t)
		if base+n > 65535 {
			continue
		}
		ok := true
		var ls []net.Listener
		for i := range n {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+i))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no range of free ports")
	return 0
}

// unit is a parsed systemd unit file: section → key → values (in order).
type unit map[string]map[string][]string

func (u unit) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func parseUnit(t testing.TB, path string) unit {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, i+1, line)
			}
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return u
}

// expandSpecifiers replaces the systemd specifiers the units use (%i, %H, %%); any other one fails.
func expandSpecifiers(t testing.TB, s, instance, host string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			t.Fatalf("dangling %% in %q", s)
		}
		i++
		switch s[i] {
		case 'i':
			if instance == "" {
				t.Fatalf("%%i in a unit that is not a template: %q", s)
			}
			b.WriteString(instance)
		case 'H':
			b.WriteString(host)
		case '%':
			b.WriteByte('%')
		default:
			t.Fatalf("specifier %%%c is not expected in %q", s[i], s)
		}
	}
	return b.String()
}

// commandLine splits an Exec line; the units use no quoting, prefixes or $ variables, so anything of the
// kind fails instead of being half-understood.
func commandLine(t testing.TB, s string) []string {
	t.Helper()
	if strings.ContainsAny(s, `"'\$;`) || strings.ContainsAny(s[:1], "-@+!:") {
		t.Fatalf("Exec line uses syntax this test does not implement: %q", s)
	}
	return strings.Fields(s)
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseEnvFile reads a systemd EnvironmentFile that uses only the form the template writes:
// NAME="value" with \\, \", \$ and \` escapes (systemd.exec(5), EnvironmentFile=; systemd's env-file
// parser treats a backslash before any of "\`$ as that character, and does no variable expansion).
func parseEnvFile(t testing.TB, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		name, rest, ok := strings.Cut(line, "=")
		if !ok || !envName.MatchString(name) || len(rest) < 2 || rest[0] != '"' || rest[len(rest)-1] != '"' {
			t.Fatalf("%s:%d: not NAME=\"value\": %q", path, n, line)
		}
		var v strings.Builder
		body := rest[1 : len(rest)-1]
		for i := 0; i < len(body); i++ {
			c := body[i]
			switch {
			case c == '\\' && i+1 < len(body) && strings.IndexByte("\"\\`$", body[i+1]) >= 0:
				v.WriteByte(body[i+1])
				i++
			case c == '\\':
				t.Fatalf("%s:%d: unexpected escape in %q", path, n, line)
			case c == '"':
				t.Fatalf("%s:%d: unescaped quote in %q", path, n, line)
			default:
				v.WriteByte(c)
			}
		}
		if _, dup := env[name]; dup {
			t.Fatalf("%s: %s is set twice", path, name)
		}
		env[name] = v.String()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return env
}

// serviceEnv is the environment systemd gives the service: the EnvironmentFile plus a basic PATH and
// the user's HOME; nothing of the test's own environment.
func serviceEnv(vars map[string]string, home string) []string {
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home, "LANG=C.UTF-8"}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// process is a started ExecStart command.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startProcess(t testing.TB, name, dir string, env []string, argv []string) *process {
	t.Helper()
	p := &process{name: name, out: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Dir = dir
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: start %v: %v", name, argv, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

// stop sends SIGTERM and waits up to limit for the process to exit; it returns the exit error.
func (p *process) stop(t testing.TB, limit time.Duration) error {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("%s: SIGTERM: %v", p.name, err)
	}
	select {
	case err := <-p.done:
		return err
	case <-time.After(limit):
		t.Fatalf("%s did not exit within %s of SIGTERM\n%s", p.name, limit, p.out.String())
	}
	return nil
}

// healthClient trusts the test CA.
func healthClient(t testing.TB, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CA file has no certificate")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 3 * time.Second}
}

// grpcHealth asks base for grpc.health.v1.Health/Check in the Connect protocol's JSON form.
func grpcHealth(ctx context.Context, c *http.Client, base string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/grpc.health.v1.Health/Check", strings.NewReader("{}"))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, raw)
	}
	var out struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", fmt.Errorf("not JSON: %s", raw)
	}
	return out.Status, nil
}

// waitServing polls until base answers SERVING or the process exits.
func waitServing(t testing.TB, p *process, c *http.Client, base string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited before it was healthy: %v\n%s", p.name, err, p.out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		st, err := grpcHealth(ctx, c, base)
		cancel()
		if err == nil && (st == "SERVING" || st == "SERVING_STATUS_SERVING") {
			return st
		}
		if err == nil {
			err = fmt.Errorf("status %q", st)
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s at %s not SERVING within %s: %v\n%s", p.name, base, limit, last, p.out.String())
	return ""
}

// writeFile writes a file the test needs, failing the test on error.
func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
