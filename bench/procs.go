package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"connectrpc.com/connect"

	"github.com/cns-dev/cns/auth"
	"github.com/cns-dev/cns/internal/redistest"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
	"github.com/cns-dev/cns/proto/gen/cns/v1/cnsv1connect"
)

// The end-to-end suites run the real `cns` binary, one process per role, as an operator would.

var (
	buildOnce sync.Once
	cnsBin    string
	buildErr  error
)

// cnsBinary builds ../cmd/cns once per run.
func cnsBinary() (string, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cns-bench-bin-")
		if err != nil {
			buildErr = err
			return
		}
		cnsBin = filepath.Join(dir, "cns")
		cmd := exec.Command("go", "build", "-o", cnsBin, "./cmd/cns")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build cns: %w: %s", err, out)
		}
	})
	return cnsBin, buildErr
}

// benchSecret signs the tokens of the project "bench" in `cns serve`.
var benchSecret = bytes.Repeat([]byte{'b'}, 32)

// modelsDir is the repository's NLP assets (make models); without them the built-in NLP falls back to
// the hashed embedder, and the report says which one ran.
func modelsDir() (string, bool) {
	abs, _ := filepath.Abs(filepath.Join("..", "models"))
	_, err := os.Stat(filepath.Join(abs, "MANIFEST.json"))
	return abs, err == nil
}

// proc is one running cns process.
type proc struct {
	cmd  *exec.Cmd
	addr string
	out  *bytes.Buffer
	mu   *sync.Mutex
}

func (p *proc) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return tail(p.out.String(), 3000)
}

// cpu is the process's CPU time so far in seconds (user + system of all its threads, /proc/PID/stat),
// or NaN when it cannot be read.
func (p *proc) cpu() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return math.NaN()
	}
	// The fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return math.NaN()
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return math.NaN()
	}
	return (utime + stime) / userHZ
}

// userHZ is the unit of /proc's CPU times: USER_HZ, 100 in Linux's user-space ABI on every architecture
// this runs on.
const userHZ = 100

// rss is the process's resident memory in bytes (VmRSS).
func (p *proc) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startCNS starts `cns <args...>` on a free port with env added to this process's environment and
// waits for /healthz.
func startCNS(ctx context.Context, env []string, args ...string) (*proc, error) {
	bin, err := cnsBinary()
	if err != nil {
		return nil, err
	}
	port, err := redistest.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, append(args, "--addr", addr)...)
	dir, _ := filepath.Abs("..") // nlp.models_dir and friends resolve against the repository
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...) // logging as configured by default (info, sampled)
	p := &proc{cmd: cmd, addr: addr, out: &bytes.Buffer{}, mu: &sync.Mutex{}}
	cmd.Stdout, cmd.Stderr = lockedWriter{p.mu, p.out}, lockedWriter{p.mu, p.out}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, nil
			}
		}
		if cmd.ProcessState != nil || time.Now().After(deadline) || ctx.Err() != nil {
			p.stop()
			return nil, fmt.Errorf("cns %s did not become healthy: %s", args[0], p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func h2cClient() *http.Client {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &protocols, MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
}

func narrativeClient(addr string) cnsv1connect.NarrativeServiceClient {
	return cnsv1connect.NewNarrativeServiceClient(h2cClient(), "http://"+addr, connect.WithGRPC())
}

func authed[T any](tok string, m *T) *connect.Request[T] {
	r := connect.NewRequest(m)
	r.Header().Set("Authorization", "Bearer "+tok)
	return r
}

func serveToken() (string, error) {
	now := time.Now()
	return auth.Mint(benchSecret, auth.Claims{Project: "bench", Perms: auth.AllPerms(), IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour)})
}

// redisEnv is the environment of `cns serve` and `cns worker` on the bench Redis.
func redisEnv(env *benchEnv, extra ...string) []string {
	return append([]string{
		"CNS_REDIS_URL=" + env.url(0),
		"CNS_AUTH__PROJECTS__BENCH__SECRET=" + auth.EncodeSecret(benchSecret),
		"CNS_LIMITS_MAX_BACKLOG=1000000",
		"CNS_LIMITS_MAX_ACTIVE_JOBS=1000000",
	}, extra...)
}

// ingestAll sends docs with 16 concurrent clients and waits until every job succeeded; it returns the
// SNO ids and the documents/s from the first call to the last job's end (its finished_at: the service
// and this process share the clock).
//
// The jobs are polled one after another every ingestPoll, which adds nothing to the time measured (the
// end is the job's own finished_at) and little load: polled every 5 ms, GetJob took a fifth of a core
// of the API process and a tenth of this one — once the NLI was fast, that was a sixth of the machine
// taken from the workers, more than Redis.
func ingestAll(ctx context.Context, c cnsv1connect.NarrativeServiceClient, tok string, docs []string) ([]string, float64, error) {
	start := time.Now()
	ids := make([]string, len(docs))
	if err := parallel(len(docs), 16, func(i int) error {
		r, err := c.IngestDocument(ctx, authed(tok, &cnsv1.IngestDocumentRequest{Text: docs[i]}))
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		ids[i] = r.Msg.JobId
		return nil
	}); err != nil {
		return nil, 0, err
	}
	snos := make([]string, len(ids))
	deadline := time.Now().Add(30 * time.Minute)
	var end time.Time
	for i, id := range ids {
		for {
			r, err := c.GetJob(ctx, authed(tok, &cnsv1.GetJobRequest{JobId: id}))
			if err != nil {
				return nil, 0, err
			}
			if s := r.Msg.Job.State; s == cnsv1.JobState_JOB_STATE_SUCCEEDED {
				snos[i] = r.Msg.Job.SnoId
				if t := r.Msg.Job.FinishedAt.AsTime(); t.After(end) {
					end = t
				}
				break
			} else if s == cnsv1.JobState_JOB_STATE_FAILED {
				return nil, 0, fmt.Errorf("job %s failed: %s", id, r.Msg.Job.Error)
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return nil, 0, fmt.Errorf("job %s did not end", id)
			}
			time.Sleep(ingestPoll)
		}
	}
	if !end.After(start) {
		return nil, 0, fmt.Errorf("the last job ended at %v, before the first call at %v", end, start)
	}
	return snos, float64(len(docs)) / end.Sub(start).Seconds(), nil
}

// ingestPoll is how often ingestAll asks for a job that has not ended.
const ingestPoll = 50 * time.Millisecond

// doc2k is a ~2 KB scientific-style document (the one of cmd/cns's benchmarks); i makes each distinct.
func doc2k(i int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Study %d: effects of intervention %d on outcome measures.\n", i, i)
	sentences := []string{
		"We enrolled %d adults in a randomized controlled trial of the intervention (doi:10.1000/trial.%d).",
		"Because the intervention increased physical activity, participants slept longer and reported less fatigue.",
		"However, the effect on blood pressure was small and not statistically significant in study %d.",
		"Previous cohort studies found similar associations between activity and sleep (Smith et al., 2019).",
		"For example, participants in the highest activity tertile gained 32 minutes of sleep per night.",
		"The data show that adherence above 70 percent was required for a measurable benefit.",
		"Adverse events were rare and mild, and no participant left the trial because of them.",
		"In general, lifestyle interventions with supervised sessions produce larger effects than unsupervised ones.",
		"Therefore, supervised programmes should be preferred when resources allow it.",
		"Secondary outcomes included mood, which improved by 12 percent on a standard scale (https://example.org/scale/%d).",
		"These results suggest that intervention %d improves sleep duration in adults with low baseline activity.",
	}
	for sb.Len() < 2000 {
		for _, s := range sentences {
			if n := strings.Count(s, "%d"); n > 0 {
				args := make([]any, n)
				for j := range args {
					args[j] = i + j
				}
				s = fmt.Sprintf(s, args...)
			}
			sb.WriteString(s + " ")
			if sb.Len() >= 2000 {
				break
			}
		}
	}
	return sb.String()
}
