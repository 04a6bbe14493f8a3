package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// celeryDir holds benchtasks.py and the producer script.
var celeryDir = "celery"

// python is Debian's interpreter, the one python3-celery installs into (a python3 earlier on the PATH,
// such as a pyenv shim, would not see it).
const python = "/usr/bin/python3"

// runCelery starts a Celery worker on the queue "bench" and waits until it consumed a warm-up task; a
// Python producer fills "bench_staging" meanwhile, which is then renamed to "bench" (one atomic step that
// wakes the worker's BRPOP), and the drain is timed until the queue and kombu's unacked hash are empty.
func runCelery(ctx context.Context, r *commandRunner, env *benchEnv, kind string, n int) (throughput, error) {
	rdb := env.client(0)
	defer rdb.Close()
	const queue, staging = "bench", "bench_staging"
	pool, conc := "prefork", strconv.Itoa(r.conc(kind))
	if r.name == "celery-solo" {
		pool = "solo"
	}
	cmd := exec.Command(python, "-m", "celery", "-A", "benchtasks", "worker", "-Q", queue, "-P", pool, "-c", conc,
		"--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "WARNING")
	cmd.Dir = celeryDir
	cmd.Env = append(os.Environ(), "CNS_BENCH_BROKER="+env.url(0))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return throughput{}, fmt.Errorf("start celery worker: %w", err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	if err := celeryEnqueue(ctx, env, kind, 1, queue); err != nil {
		return throughput{}, err
	}
	if err := celeryDrained(ctx, rdb, queue, time.Minute); err != nil {
		return throughput{}, fmt.Errorf("celery warm-up: %w\n%s", err, tail(out.String(), 2000))
	}
	enq, err := celeryEnqueueRate(ctx, env, kind, n, staging)
	if err != nil {
		return throughput{}, err
	}
	if l, _ := rdb.LLen(ctx, staging).Result(); l != int64(n) {
		return throughput{}, fmt.Errorf("staging queue holds %d tasks, want %d", l, n)
	}
	at := env.sample(ctx)
	start := time.Now()
	if err := rdb.Rename(ctx, staging, queue).Err(); err != nil {
		return throughput{}, err
	}
	if err := celeryDrained(ctx, rdb, queue, 30*time.Minute); err != nil {
		return throughput{}, fmt.Errorf("celery drain: %w\n%s", err, tail(out.String(), 2000))
	}
	return throughput{enq, float64(n) / time.Since(start).Seconds(), at}, nil
}

func celeryEnqueue(ctx context.Context, env *benchEnv, kind string, n int, queue string) error {
	_, err := celeryEnqueueRate(ctx, env, kind, n, queue)
	return err
}

func celeryEnqueueRate(ctx context.Context, env *benchEnv, kind string, n int, queue string) (float64, error) {
	cmd := exec.CommandContext(ctx, python, "enqueue.py", kind, strconv.Itoa(n), queue)
	cmd.Dir = celeryDir
	cmd.Env = append(os.Environ(), "CNS_BENCH_BROKER="+env.url(0))
	b, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("celery enqueue: %w: %s", err, tail(string(b), 2000))
	}
	lines := strings.Fields(strings.TrimSpace(string(b)))
	if len(lines) == 0 {
		return 0, fmt.Errorf("celery enqueue printed nothing")
	}
	return strconv.ParseFloat(lines[len(lines)-1], 64)
}

// celeryDrained polls (every 2 ms, one pipelined round trip) until the queue list and kombu's unacked
// hash are both empty: with acks_late a task leaves "unacked" only once it ran and was acknowledged.
func celeryDrained(ctx context.Context, rdb *redis.Client, queue string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		p := rdb.Pipeline()
		l := p.LLen(ctx, queue)
		u := p.HLen(ctx, "unacked")
		if _, err := p.Exec(ctx); err != nil {
			return err
		}
		if l.Val() == 0 && u.Val() == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d queued and %d unacknowledged after %v", l.Val(), u.Val(), within)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// celeryCeiling is the CPU task in 2 Python processes with nothing else.
func celeryCeiling(ctx context.Context, n int) (float64, error) {
	cmd := exec.CommandContext(ctx, python, "ceiling.py", strconv.Itoa(n), strconv.Itoa(cpuConcurrency))
	cmd.Dir = celeryDir
	b, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("python ceiling: %w: %s", err, tail(string(b), 1000))
	}
	f := strings.Fields(strings.TrimSpace(string(b)))
	return strconv.ParseFloat(f[len(f)-1], 64)
}

// ensureCelery installs Debian's Celery and redis-py when missing (idempotent) and returns Celery's
// version.
func ensureCelery() (string, error) {
	check := func() *exec.Cmd { return exec.Command(python, "-c", "import celery, redis; print(celery.__version__)") }
	// A few tries first: on a shared machine another apt-get may be unpacking these very packages.
	for range 5 {
		if b, err := check().Output(); err == nil {
			return strings.TrimSpace(string(b)), nil
		}
		time.Sleep(3 * time.Second)
	}
	abs, _ := filepath.Abs(filepath.Join("..", "scripts", "bench-deps.sh"))
	inst := exec.Command("bash", abs)
	inst.Stdout, inst.Stderr = os.Stderr, os.Stderr
	if err := inst.Run(); err != nil {
		return "", fmt.Errorf("install celery: %w", err)
	}
	b, err := check().Output()
	if err != nil {
		return "", fmt.Errorf("celery still missing after install: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
