package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"

	"github.com/cns-dev/cns/auth"
	"github.com/cns-dev/cns/configs"
	"github.com/cns-dev/cns/internal/redistest"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
	"github.com/cns-dev/cns/proto/gen/cns/v1/cnsv1connect"
	"github.com/cns-dev/cns/pubsub"
)

// Projects of the distributed tests, with their secrets in the environment as an operator sets them.
var (
	secretAlpha = bytes.Repeat([]byte{'a'}, 32)
	secretBeta  = bytes.Repeat([]byte{'b'}, 32)
)

func distEnv(redisURL string, extra ...string) []string {
	return append([]string{
		"CNS_REDIS_URL=" + redisURL,
		"CNS_AUTH__PROJECTS__ALPHA__SECRET=" + auth.EncodeSecret(secretAlpha),
		"CNS_AUTH__PROJECTS__BETA__SECRET=" + auth.EncodeSecret(secretBeta),
		"CNS_WORKER_CLAIM_IDLE=3s", "CNS_WORKER_JOB_TIMEOUT=2s", "CNS_WORKER_DRAIN_TIMEOUT=2s",
		"CNS_REDIS_HEARTBEAT=500ms", "CNS_LOG_LEVEL=warn",
	}, extra...)
}

// startMode starts an in-process composition in the given mode.
func startMode(t *testing.T, mode Mode, env []string, set map[string]string) *Main {
	t.Helper()
	s := map[string]string{"addr": "127.0.0.1:0", "worker.addr": "127.0.0.1:0"}
	for k, v := range set {
		s[k] = v
	}
	cfg, err := configs.Load(configs.Options{Set: s, Environ: func() []string { return env }})
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg, Log: bufferedLogger(t).Named(string(mode)), Mode: mode}
	ctx := context.Background()
	if err := m.Open(ctx); err != nil {
		m.Close(ctx)
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		m.Close(ctx)
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return m
}

// bufferedLogger collects logs and prints them only when the test failed. zaptest's logger cannot be used:
// subscriber goroutines of a closed process may still log a last line after the test returned.
func bufferedLogger(t *testing.T) *zap.Logger {
	var mu sync.Mutex
	var buf bytes.Buffer
	ws := zapcore.AddSync(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}))
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			t.Logf("logs:\n%s", tail(buf.String(), 8000))
			mu.Unlock()
		}
	})
	return zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()), ws, zapcore.InfoLevel))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func tokenFor(t *testing.T, project string, secret []byte) string {
	t.Helper()
	now := time.Now()
	tok, err := auth.Mint(secret, auth.Claims{Project: project, Perms: auth.AllPerms(), IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type apiClients struct {
	n cnsv1connect.NarrativeServiceClient
	a cnsv1connect.AdminServiceClient
}

func clientsFor(m *Main) apiClients {
	h2c := &http.Client{Transport: &http.Transport{Protocols: h2cOnly()}, Timeout: 60 * time.Second}
	return apiClients{
		n: cnsv1connect.NewNarrativeServiceClient(h2c, m.URL(), connect.WithGRPC()),
		a: cnsv1connect.NewAdminServiceClient(h2c, m.URL(), connect.WithGRPC()),
	}
}

// waitAll polls until every job ended, returning them by id.
func waitAll(t *testing.T, c apiClients, tok string, ids []string, within time.Duration) map[string]*cnsv1.Job {
	t.Helper()
	done := map[string]*cnsv1.Job{}
	deadline := time.Now().Add(within)
	for len(done) < len(ids) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d jobs ended within %v", len(done), len(ids), within)
		}
		for _, id := range ids {
			if done[id] != nil {
				continue
			}
			r, err := c.n.GetJob(context.Background(), authed(tok, &cnsv1.GetJobRequest{JobId: id}))
			if err != nil {
				continue // Redis may be restarting
			}
			if s := r.Msg.Job.State; s == cnsv1.JobState_JOB_STATE_SUCCEEDED || s == cnsv1.JobState_JOB_STATE_FAILED {
				done[id] = r.Msg.Job
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return done
}

func ingestN(t *testing.T, c apiClients, tok string, n, offset int) []string {
	t.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, err := c.n.IngestDocument(context.Background(), authed(tok, &cnsv1.IngestDocumentRequest{Text: doc2k(offset + i)}))
			if err != nil {
				t.Errorf("ingest %d: %v", i, err)
				return
			}
			ids[i] = r.Msg.JobId
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return ids
}

// pendingCount is the number of delivered, unacknowledged commands.
func pendingCount(t *testing.T, url string) int64 {
	t.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(o)
	defer rdb.Close()
	q, err := pubsub.RedisQueueDepth(context.Background(), rdb, pubsub.TopicJobs)
	if err != nil {
		t.Fatal(err)
	}
	return q.Pending + q.Lag
}

func TestDistributedEndToEnd(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	env := distEnv(srv.URL(1))
	api := startMode(t, ModeServe, env, map[string]string{"instance": "api-1"})
	startMode(t, ModeWorker, env, map[string]string{"instance": "w1"})
	startMode(t, ModeWorker, env, map[string]string{"instance": "w2"})
	c := clientsFor(api)
	alpha, beta := tokenFor(t, "alpha", secretAlpha), tokenFor(t, "beta", secretBeta)

	ids := ingestN(t, c, alpha, 40, 0)
	jobs := waitAll(t, c, alpha, ids, 60*time.Second)
	for _, j := range jobs {
		if j.State != cnsv1.JobState_JOB_STATE_SUCCEEDED {
			t.Fatalf("job %v", j)
		}
	}
	// Search in the API process sees SNOs written by the workers: the index replica follows events.
	deadline := time.Now().Add(10 * time.Second)
	for {
		sr, err := c.n.SearchSNOs(context.Background(), authed(alpha, &cnsv1.SearchSNOsRequest{Query: "intervention improves sleep duration", K: 5}))
		if err != nil {
			t.Fatal(err)
		}
		if len(sr.Msg.Results) == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("search in the API replica found %d", len(sr.Msg.Results))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// GetSNO reads a worker's SNO (decoded once, then served from the API's caches) and follows a change.
	sno := jobs[ids[0]].SnoId
	var first *cnsv1.Sno
	for range 2 {
		r, err := c.n.GetSNO(context.Background(), authed(alpha, &cnsv1.GetSNORequest{SnoId: sno}))
		if err != nil || r.Msg.Sno.SnoId != sno || (first != nil && !proto.Equal(r.Msg.Sno, first)) {
			t.Fatalf("GetSNO %s: %v, %v (first %v)", sno, r, err, first)
		}
		first = r.Msg.Sno
	}
	if _, err := c.n.ArchiveSNO(context.Background(), authed(alpha, &cnsv1.ArchiveSNORequest{SnoId: sno})); err != nil {
		t.Fatal(err)
	}
	if r, err := c.n.GetSNO(context.Background(), authed(alpha, &cnsv1.GetSNORequest{SnoId: sno})); err != nil ||
		r.Msg.Sno.Status != cnsv1.SnoStatus_SNO_STATUS_ARCHIVED || r.Msg.Sno.Hypothesis != first.Hypothesis {
		t.Fatalf("GetSNO after ArchiveSNO: %v, %v", r, err)
	}
	// So do the listings, in either view (served from the same cache, one entry per view).
	for _, view := range []cnsv1.SnoView{cnsv1.SnoView_SNO_VIEW_BASIC, cnsv1.SnoView_SNO_VIEW_FULL, cnsv1.SnoView_SNO_VIEW_BASIC} {
		l, err := c.n.ListSNOs(context.Background(), authed(alpha, &cnsv1.ListSNOsRequest{PageSize: 50, View: view,
			Status: cnsv1.SnoStatus_SNO_STATUS_ARCHIVED}))
		if err != nil || len(l.Msg.Snos) != 1 || l.Msg.Snos[0].SnoId != sno || (len(l.Msg.Snos[0].Claims) > 0) != (view == cnsv1.SnoView_SNO_VIEW_FULL) {
			t.Fatalf("ListSNOs of the archived SNO in view %v: %v, %v", view, l, err)
		}
	}
	st, err := c.a.GetSystemStatus(context.Background(), authed(alpha, &cnsv1.GetSystemStatusRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	online := map[string]bool{}
	for _, p := range st.Msg.Processes {
		if p.Online {
			online[p.Service+"/"+p.Instance] = true
		}
	}
	if !online["cns-api/api-1"] || !online["cns-worker/w1"] || !online["cns-worker/w2"] {
		t.Fatalf("registry: %v", st.Msg.Processes)
	}
	lw, err := c.a.ListWorkers(context.Background(), authed(alpha, &cnsv1.ListWorkersRequest{}))
	if err != nil || len(lw.Msg.Processes) != 3 {
		t.Fatalf("ListWorkers: %v %v", err, lw)
	}
	if st.Msg.Population.Active+st.Msg.Population.Rejected != 39 || st.Msg.Population.Archived != 1 || len(st.Msg.Queues) != 1 || st.Msg.Queues[0].Name != pubsub.TopicJobs {
		t.Fatalf("status: %v", st.Msg)
	}
	// beta sees nothing of alpha's.
	bl, err := c.n.ListSNOs(context.Background(), authed(beta, &cnsv1.ListSNOsRequest{}))
	if err != nil || len(bl.Msg.Snos) != 0 {
		t.Fatalf("beta sees alpha's SNOs: %v %v", err, bl)
	}
	if _, err := c.n.GetJob(context.Background(), authed(beta, &cnsv1.GetJobRequest{JobId: ids[0]})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("beta reads alpha's job: %v", err)
	}
	dl, err := c.a.ListDeadLetters(context.Background(), authed(beta, &cnsv1.ListDeadLettersRequest{}))
	if err != nil || len(dl.Msg.DeadLetters) != 0 {
		t.Fatalf("beta dead letters: %v %v", err, dl)
	}
}

// TestDeadLettersOnRedis: a command that fails every attempt (here: a job timeout no job can meet) is
// dead-lettered after worker.max_attempts deliveries, listed, and redriven to a healthy worker.
func TestDeadLettersOnRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	env := distEnv(srv.URL(2), "CNS_WORKER_MAX_ATTEMPTS=3")
	api := startMode(t, ModeServe, env, nil)
	sick := startMode(t, ModeWorker, env, map[string]string{"instance": "sick", "worker.job_timeout": "1ns"})
	c := clientsFor(api)
	alpha := tokenFor(t, "alpha", secretAlpha)
	ids := ingestN(t, c, alpha, 1, 0)
	j := waitAll(t, c, alpha, ids, 30*time.Second)[ids[0]]
	if j.State != cnsv1.JobState_JOB_STATE_FAILED || j.Attempts != 3 {
		t.Fatalf("job %v", j)
	}
	dl, err := c.a.ListDeadLetters(context.Background(), authed(alpha, &cnsv1.ListDeadLettersRequest{}))
	if err != nil || len(dl.Msg.DeadLetters) != 1 || dl.Msg.DeadLetters[0].JobId != ids[0] || dl.Msg.DeadLetters[0].Deliveries != 3 {
		t.Fatalf("dead letters: %v %v", err, dl)
	}
	sick.Close(context.Background())
	startMode(t, ModeWorker, env, map[string]string{"instance": "healthy"})
	rr, err := c.a.RedriveDeadLetters(context.Background(), authed(alpha, &cnsv1.RedriveDeadLettersRequest{DeadLetterIds: []string{dl.Msg.DeadLetters[0].DeadLetterId}}))
	if err != nil || rr.Msg.Redriven != 1 {
		t.Fatalf("redrive: %v %v", err, rr)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := c.n.GetJob(context.Background(), authed(alpha, &cnsv1.GetJobRequest{JobId: ids[0]}))
		if err == nil && r.Msg.Job.State == cnsv1.JobState_JOB_STATE_SUCCEEDED {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redriven job did not succeed: %v %v", err, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
	dl, err = c.a.ListDeadLetters(context.Background(), authed(alpha, &cnsv1.ListDeadLettersRequest{}))
	if err != nil || len(dl.Msg.DeadLetters) != 0 {
		t.Fatalf("dead letters after redrive: %v %v", err, dl)
	}
}

// TestRedisRestartMidRun: Redis is killed and restarted (AOF on) while jobs run; meanwhile the API
// answers Unavailable quickly instead of hanging, and afterwards every accepted job completes.
func TestRedisRestartMidRun(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	env := distEnv(srv.URL(3))
	api := startMode(t, ModeServe, env, nil)
	startMode(t, ModeWorker, env, map[string]string{"instance": "w1"})
	c := clientsFor(api)
	alpha := tokenFor(t, "alpha", secretAlpha)
	ids := ingestN(t, c, alpha, 60, 0)
	time.Sleep(1100 * time.Millisecond) // appendfsync everysec: what was acknowledged is on disk
	srv.Kill()
	start := time.Now()
	_, err := c.n.GetJob(context.Background(), authed(alpha, &cnsv1.GetJobRequest{JobId: ids[0]}))
	if connect.CodeOf(err) != connect.CodeUnavailable {
		t.Fatalf("with Redis down: %v", err)
	}
	if el := time.Since(start); el > 15*time.Second {
		t.Fatalf("Unavailable took %v", el) // a bound against hanging, far above the few seconds of timeouts
	}
	_, err = c.n.IngestDocument(context.Background(), authed(alpha, &cnsv1.IngestDocumentRequest{Text: doc2k(999)}))
	if connect.CodeOf(err) != connect.CodeUnavailable {
		t.Fatalf("ingest with Redis down: %v", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	jobs := waitAll(t, c, alpha, ids, 90*time.Second)
	for _, j := range jobs {
		if j.State != cnsv1.JobState_JOB_STATE_SUCCEEDED {
			t.Fatalf("job after restart: %v", j)
		}
	}
}

// TestClusterEndToEnd runs the API and a worker on a three-node Redis Cluster.
func TestClusterEndToEnd(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t)
	addrs := cl.Addrs()
	url := "redis://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]
	env := distEnv(url, "CNS_REDIS_CLUSTER=true")
	api := startMode(t, ModeServe, env, nil)
	startMode(t, ModeWorker, env, map[string]string{"instance": "w1"})
	c := clientsFor(api)
	alpha, beta := tokenFor(t, "alpha", secretAlpha), tokenFor(t, "beta", secretBeta)
	ids := append(ingestN(t, c, alpha, 10, 0), ingestN(t, c, beta, 10, 100)...)
	for _, tok := range []string{alpha, beta} {
		mine := ids[:10]
		if tok == beta {
			mine = ids[10:]
		}
		for _, j := range waitAll(t, c, tok, mine, 60*time.Second) {
			if j.State != cnsv1.JobState_JOB_STATE_SUCCEEDED {
				t.Fatalf("job %v", j)
			}
		}
		l, err := c.n.ListSNOs(context.Background(), authed(tok, &cnsv1.ListSNOsRequest{}))
		if err != nil || len(l.Msg.Snos) != 10 {
			t.Fatalf("list on cluster: %v %d", err, len(l.Msg.GetSnos()))
		}
	}
}

// TestWorkerKilledMidRun: 1,000 documents through `cns serve` and two `cns worker` processes; one worker
// is killed with SIGKILL mid-run and restarted. Every job ends SUCCEEDED exactly once, no SNO is missing
// or duplicated, and no command is left pending.
func TestWorkerKilledMidRun(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "cns")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build cns: %v\n%s", err, out)
	}
	srv := redistest.Start(t)
	url := srv.URL(4)
	env := distEnv(url)
	api := startMode(t, ModeServe, env, nil)
	c := clientsFor(api)
	alpha := tokenFor(t, "alpha", secretAlpha)

	startWorker := func(name string) *exec.Cmd {
		cmd := exec.Command(bin, "worker", "--instance", name, "--addr", "127.0.0.1:0")
		cmd.Env = append(os.Environ(), env...)
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
			}
			if t.Failed() {
				t.Logf("worker %s output:\n%s", name, tail(logs.String(), 3000))
			}
		})
		return cmd
	}
	w1 := startWorker("w1")
	startWorker("w2")

	const n = 1000
	// Ingest while watching: workers may keep up with the ingestion, so the kill must not wait for it.
	ingested := make(chan []string, 1)
	go func() {
		var ids []string
		defer func() { ingested <- ids }() // also when ingestN stops the goroutine on a failure
		ids = ingestN(t, c, alpha, n, 0)
	}()
	// Kill w1 while it is busy: wait until a good part of the work is done.
	var atKill int64
	for {
		st, err := c.a.GetSystemStatus(context.Background(), authed(alpha, &cnsv1.GetSystemStatusRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		if atKill = st.Msg.Jobs.Succeeded; atKill >= n/4 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if atKill >= n {
		t.Fatalf("all jobs were done before the kill")
	}
	if err := w1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	w1.Wait()
	time.Sleep(500 * time.Millisecond)
	startWorker("w1")
	ids := <-ingested
	if len(ids) != n {
		t.FailNow() // ingestN reported why
	}

	jobs := waitAll(t, c, alpha, ids, 4*time.Minute)
	snos := map[string]bool{}
	retried := 0
	for _, j := range jobs {
		if j.Attempts > 1 {
			retried++
		}
		if j.State != cnsv1.JobState_JOB_STATE_SUCCEEDED || j.SnoId == "" {
			t.Fatalf("job %v", j)
		}
		if snos[j.SnoId] {
			t.Fatalf("SNO %s produced twice", j.SnoId)
		}
		snos[j.SnoId] = true
	}
	// Exactly n SNOs exist: page through them all.
	seen, tok := 0, ""
	for {
		r, err := c.n.ListSNOs(context.Background(), authed(alpha, &cnsv1.ListSNOsRequest{PageSize: 200, PageToken: tok}))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range r.Msg.Snos {
			if !snos[s.SnoId] {
				t.Fatalf("unexpected SNO %s", s.SnoId)
			}
			seen++
		}
		if tok = r.Msg.NextPageToken; tok == "" {
			break
		}
	}
	if seen != n {
		t.Fatalf("%d SNOs stored, want %d", seen, n)
	}
	t.Logf("killed w1 after %d of %d jobs; %d jobs needed more than one attempt", atKill, n, retried)
	deadline := time.Now().Add(30 * time.Second)
	for pendingCount(t, url) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("commands still pending: %d", pendingCount(t, url))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
