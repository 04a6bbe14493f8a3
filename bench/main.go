// Command bench measures CNS side by side with its anchors — Celery with a Redis broker, asynq, Watermill's
// Redis Streams subscriber and what a bare go-redis client can get out of Redis Streams — in one run, on
// one machine, against one throwaway Redis, and writes docs/benchmarks.md with SVG charts.
//
// It is its own Go module (github.com/cns-dev/cns/bench) so that asynq and the other benchmark-only
// dependencies never enter the service's go.mod. `make bench` runs it in full (medians of 5 runs);
// `-smoke` runs every measurement once at tiny sizes in seconds, so CI keeps the harness working.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cns-dev/cns/internal/heapfloor"
)

type options struct {
	runs        int
	smoke       bool
	out         string
	svgDir      string
	suites      map[string]bool
	n           int // no-op tasks per run, Go systems
	celeryN     int // no-op tasks per run, Celery
	cpuN        int // CPU tasks per run
	concurrency int // CNS worker concurrency for short jobs
	docs        int // documents per ingest run
	profileDir  string
	systems     string // comma-separated runner names ('' = all)
}

var allSuites = []string{"commands", "ingest", "api", "vector", "memory"}

func main() {
	var o options
	var suites string
	flag.IntVar(&o.runs, "runs", 5, "runs of every measurement (the report gives median, min and max)")
	flag.BoolVar(&o.smoke, "smoke", false, "one run of everything at tiny sizes (CI): checks the harness, not the numbers")
	flag.StringVar(&o.out, "out", "../docs/benchmarks.md", "report to write ('' = none)")
	flag.StringVar(&o.svgDir, "svg", "../docs/bench", "directory of the SVG charts")
	flag.StringVar(&suites, "suites", strings.Join(allSuites, ","), "suites to run: "+strings.Join(allSuites, ","))
	flag.IntVar(&o.n, "n", 20_000, "no-op tasks per run (Go systems)")
	flag.IntVar(&o.celeryN, "celery-n", 5_000, "no-op tasks per run (Celery)")
	flag.IntVar(&o.cpuN, "cpu-n", 2_000, "CPU tasks per run (Celery: half)")
	flag.IntVar(&o.concurrency, "concurrency", 64, "CNS worker concurrency for the no-op commands")
	flag.IntVar(&o.docs, "docs", 1000, "documents per end-to-end ingest run")
	flag.StringVar(&o.profileDir, "profile", "", "write CPU profiles of the CNS worker drains here (pprof)")
	flag.StringVar(&o.systems, "systems", "", "only these command-suite systems (comma-separated names; '' = all)")
	flag.Parse()
	// The CNS worker of the command suite runs in this process: give it the heap floor the cns binary
	// runs with. Every in-process system (asynq too) gets it, so no ratio rests on it.
	if os.Getenv("GOGC") == "" {
		defer heapfloor.Start(heapfloor.Default)()
	}
	o.suites = map[string]bool{}
	for _, s := range strings.Split(suites, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if !slices.Contains(allSuites, s) {
				fmt.Fprintf(os.Stderr, "unknown suite %q\n", s)
				os.Exit(2)
			}
			o.suites[s] = true
		}
	}
	if o.smoke {
		o.runs, o.n, o.celeryN, o.cpuN, o.docs = 1, 300, 40, 40, 6
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	env, err := startEnv()
	if err != nil {
		return err
	}
	defer env.close()
	res := newResults(o)
	res.machine = describeMachine(ctx, env)
	started := time.Now()
	logf("machine: %s", res.machine.summary())
	suites := []struct {
		name string
		run  func() error
	}{
		{"commands", func() error { return commandSuite(ctx, o, env, res) }},
		{"ingest", func() error { return ingestSuite(ctx, o, env, res) }},
		{"api", func() error { return apiSuite(ctx, o, env, res) }},
		{"vector", func() error { return vectorSuite(ctx, o, res) }},
		{"memory", func() error { return memorySuite(ctx, o, env, res) }},
	}
	var failed []string
	for _, s := range suites {
		if !o.suites[s.name] {
			continue
		}
		// A suite that fails is reported and the others still run: one broken measurement must not cost
		// the whole run. The report is rewritten after each suite, so an interrupted run leaves one.
		if err := s.run(); err != nil {
			logf("%s: FAILED: %v", s.name, err)
			res.notes = append(res.notes, fmt.Sprintf("**The %s suite failed**: %v", s.name, err))
			failed = append(failed, s.name)
		}
		res.elapsed = time.Since(started)
		res.machine.loadAfter = loadAverage()
		if o.out != "" {
			if err := res.write(o.out, o.svgDir); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	res.elapsed = time.Since(started)
	res.machine.loadAfter = loadAverage()
	fmt.Println(res.text())
	if o.out != "" {
		if err := res.write(o.out, o.svgDir); err != nil {
			return err
		}
		logf("wrote %s and charts in %s", o.out, o.svgDir)
	}
	if len(failed) > 0 {
		return fmt.Errorf("suites failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// commandSuite runs every system's no-op and CPU tasks, run after run in turn (so a burst of load from
// elsewhere on the machine spreads over all systems rather than landing on one), plus the compute
// ceilings.
func commandSuite(ctx context.Context, o options, env *benchEnv, res *results) error {
	celeryVersion, err := ensureCelery()
	if err != nil {
		return err
	}
	res.machine.versions["Celery"] = celeryVersion
	runners := commandRunners(o.concurrency)
	for run := range o.runs {
		logf("commands: run %d of %d (load %s)", run+1, o.runs, loadAverage())
		takeTaskCPU()
		res.add(series{suite: "cpu", name: "compute-ceiling-go", metric: "tasks/s", higher: true,
			note: "the CPU task on 2 goroutines, nothing else"}, computeCeiling(o.cpuN, cpuConcurrency))
		res.add(series{suite: "cpu-taskcpu", name: "compute-ceiling-go", metric: "task CPU µs", note: "the CPU task's own CPU time (its thread's clock), alone"}, takeTaskCPU())
		if pc, err := celeryCeiling(ctx, max(o.cpuN/2, 8)); err == nil {
			res.add(series{suite: "cpu", name: "compute-ceiling-python", metric: "tasks/s", higher: true,
				note: "the CPU task in 2 Python processes, nothing else"}, pc)
		} else {
			return err
		}
		for _, r := range runners {
			if o.systems != "" && !slices.Contains(strings.Split(o.systems, ","), r.name) {
				continue
			}
			for _, kind := range r.kinds {
				n := o.n
				switch {
				case kind == kindCPU && strings.HasPrefix(r.name, "celery"):
					n = max(o.cpuN/2, 8)
				case kind == kindCPU:
					n = o.cpuN
				case strings.HasPrefix(r.name, "celery"):
					n = o.celeryN
				}
				if err := env.flush(ctx); err != nil {
					return err
				}
				// The machine's speed drifts (other work on the host), so each CPU measurement gets the
				// compute ceiling measured right before it, and its share of that one is what is reported.
				var adjacent float64
				if kind == kindCPU {
					if strings.HasPrefix(r.name, "celery") {
						if adjacent, err = celeryCeiling(ctx, max(o.cpuN/4, 8)); err != nil {
							return err
						}
					} else {
						adjacent = computeCeiling(max(o.cpuN/2, 8), cpuConcurrency)
					}
				}
				stopProfile := startProfile(o, r, kind, run)
				before, _ := env.stats(ctx)
				cpu0 := processCPU()
				takeTaskCPU()
				tp, err := r.run(ctx, r, env, kind, n)
				taskCost := takeTaskCPU()
				cpu1 := processCPU()
				clientCPU := cpu1 - cpu0
				after, _ := env.stats(ctx)
				// The drain alone: what consuming a task costs, without queueing it (Celery's worker is
				// another process, so its drain is not split).
				drain := tp.atDrain.redis > 0 && !strings.HasPrefix(r.name, "celery")
				drainRedis := 1e6 * (after.cpu - tp.atDrain.redis) / float64(n)
				drainClient := 1e6 * (cpu1 - tp.atDrain.process) / float64(n)
				drainReads := float64(after.reads-tp.atDrain.reads) / float64(n)
				stopProfile()
				if err != nil {
					return fmt.Errorf("%s/%s: %w", r.name, kind, err)
				}
				suite := "commands"
				if kind == kindCPU {
					suite = "cpu"
				}
				label := fmt.Sprintf("%s (concurrency %d)", r.anchor, r.conc(kind))
				res.add(series{suite: suite, name: r.name, metric: "tasks/s", higher: true, note: label, n: n}, tp.drain)
				res.add(series{suite: suite + "-enqueue", name: r.name, metric: "tasks/s", higher: true, note: label, n: n}, tp.enqueue)
				if kind == kindCPU && !math.IsNaN(taskCost) {
					res.add(series{suite: "cpu-taskcpu", name: r.name, metric: "task CPU µs", note: "the CPU task's own CPU time (its thread's clock) inside the system", n: n}, taskCost)
				}
				if adjacent > 0 {
					res.add(series{suite: "cpu-share", name: r.name, metric: "% of ceiling", higher: true, note: label, n: n}, 100*tp.drain/adjacent)
				}
				// Redis's own cost per task over the whole run (enqueue and drain).
				res.add(series{suite: suite + "-redis", name: r.name, metric: "Redis µs/task", note: "time inside Redis commands per task", n: n},
					float64(after.usec-before.usec)/float64(n))
				res.add(series{suite: suite + "-rediscpu", name: r.name, metric: "Redis CPU µs/task", note: "redis-server's CPU time (user + system, I/O included) per task", n: n},
					1e6*(after.cpu-before.cpu)/float64(n))
				if !strings.HasPrefix(r.name, "celery") { // Celery's worker is another process
					res.add(series{suite: suite + "-clientcpu", name: r.name, metric: "client CPU µs/task", note: "the harness process's CPU time (producer and consumer, in process) per task", n: n},
						1e6*clientCPU/float64(n))
					if drain {
						res.add(series{suite: suite + "-drainclient", name: r.name, metric: "drain client CPU µs/task", note: "the consumer's CPU time per task, drain only", n: n}, drainClient)
						res.add(series{suite: suite + "-drainredis", name: r.name, metric: "drain Redis CPU µs/task", note: "redis-server's CPU time per task, drain only", n: n}, drainRedis)
						res.add(series{suite: suite + "-drainreads", name: r.name, metric: "drain round trips/task", note: "requests Redis read per task (total_reads_processed), drain only", n: n}, drainReads)
					}
				}
				res.redisCmds[suite+"/"+r.name] = after.perCmd
				res.redisCalls[suite+"/"+r.name] = after.perCalls
				logf("  %-26s %-4s %9.0f tasks/s (enqueue %7.0f/s; %.1f Redis µs/task; CPU µs/task: Redis %.1f, client %.1f)", r.name, kind, tp.drain, tp.enqueue,
					float64(after.usec-before.usec)/float64(n), 1e6*(after.cpu-before.cpu)/float64(n), 1e6*clientCPU/float64(n))
				if drain {
					logf("      drain CPU µs/task: Redis %.1f, client %.1f; round trips/task %.2f", drainRedis, drainClient, drainReads)
				}
				logf("      Redis time: %s", res.topCommands(suite+"/"+r.name, 6))
				if os.Getenv("CNS_BENCH_DEBUG") != "" {
					for k, v := range after.perCmd {
						logf("      %-20s %8d calls %8.2f µs/call", k, after.perCalls[k], float64(v)/float64(max(after.perCalls[k], 1)))
					}
				}
			}
		}
	}
	return nil
}

// processCPU is this process's CPU time (user + system) in seconds: the Go systems' producer and consumer
// run in it, so its growth over a run is their CPU cost.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
