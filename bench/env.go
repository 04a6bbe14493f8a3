package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cns-dev/cns/internal/logging"
	"github.com/cns-dev/cns/internal/redistest"
)

// benchEnv is the one throwaway Redis of a run: every system is measured against the same server, with
// the production settings of the README (AOF on, fsync every second), flushed between measurements.
type benchEnv struct {
	srv *redistest.Server
	dir string
}

func startEnv() (*benchEnv, error) {
	dir, err := os.MkdirTemp("", "cns-bench-redis-")
	if err != nil {
		return nil, err
	}
	srv, err := redistest.Launch(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &benchEnv{srv: srv, dir: dir}, nil
}

// logger is a logger as `cns serve` and `cns worker` run with by default (internal/logging: JSON at info,
// sampled per message below warn), writing to a file of the run's directory: the CNS systems log what
// the service logs — a line per job accepted and per job succeeded — and pay for it as the service does.
// The caller closes the file.
func (e *benchEnv) logger(name string) (*zap.Logger, func(), error) {
	f, err := os.OpenFile(filepath.Join(e.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	log, err := logging.NewTo("info", "json", zapcore.Lock(f))
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return log, func() { _ = log.Sync(); f.Close() }, nil
}

func (e *benchEnv) close() {
	e.srv.Kill()
	os.RemoveAll(e.dir)
}

func (e *benchEnv) client(db int) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: e.srv.Addr(), DB: db, PoolSize: 64})
}

func (e *benchEnv) url(db int) string { return e.srv.URL(db) }

// flush empties Redis and rewrites the AOF, so one measurement does not inherit the previous one's data.
func (e *benchEnv) flush(ctx context.Context) error {
	c := e.client(0)
	defer c.Close()
	if err := c.FlushAll(ctx).Err(); err != nil {
		return err
	}
	if err := c.ConfigResetStat(ctx).Err(); err != nil {
		return err
	}
	// A rewrite keeps the AOF from growing over the whole run; wait for it so it costs no measurement.
	if err := c.BgRewriteAOF(ctx).Err(); err != nil && !strings.Contains(err.Error(), "already in progress") {
		return err
	}
	for range 200 {
		info, err := c.Info(ctx, "persistence").Result()
		if err != nil {
			return err
		}
		if strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrite_scheduled:0") {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// redisStats are Redis's own counters: CPU seconds of the server and microseconds inside commands.
type redisStats struct {
	cpu      float64 // used_cpu_user + used_cpu_sys, seconds
	usec     int64   // sum of usec over commandstats
	calls    int64
	perCmd   map[string]int64 // usec by command
	perCalls map[string]int64
	reads    int64 // total_reads_processed: the requests Redis read, a pipeline's commands in one (round trips)
}

func (e *benchEnv) stats(ctx context.Context) (redisStats, error) {
	c := e.client(0)
	defer c.Close()
	s := redisStats{perCmd: map[string]int64{}, perCalls: map[string]int64{}}
	info, err := c.Info(ctx, "cpu", "stats", "commandstats").Result()
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_cpu_user:"); ok {
			f, _ := strconv.ParseFloat(v, 64)
			s.cpu += f
		}
		if v, ok := strings.CutPrefix(line, "used_cpu_sys:"); ok {
			f, _ := strconv.ParseFloat(v, 64)
			s.cpu += f
		}
		if v, ok := strings.CutPrefix(line, "total_reads_processed:"); ok {
			s.reads, _ = strconv.ParseInt(v, 10, 64)
		}
		if rest, ok := strings.CutPrefix(line, "cmdstat_"); ok {
			name, fields, _ := strings.Cut(rest, ":")
			for _, f := range strings.Split(fields, ",") {
				k, v, _ := strings.Cut(f, "=")
				n, _ := strconv.ParseInt(v, 10, 64)
				switch k {
				case "usec":
					s.usec += n
					s.perCmd[name] += n
				case "calls":
					s.calls += n
					s.perCalls[name] += n
				}
			}
		}
	}
	return s, nil
}

func (e *benchEnv) version(ctx context.Context) string {
	c := e.client(0)
	defer c.Close()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "redis_version:"); ok {
			return v
		}
	}
	return "?"
}

func (s redisStats) String() string {
	return fmt.Sprintf("redis cpu %.2fs, %d calls, %d µs in commands", s.cpu, s.calls, s.usec)
}
