package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// series is one measured quantity of one system over the runs.
type series struct {
	suite, name, metric, note string
	higher                    bool // higher is better
	n                         int  // tasks (or requests) per run, when it applies
	values                    []float64
}

func (s *series) key() string { return s.suite + "/" + s.name + "/" + s.metric }

func (s *series) median() float64 {
	v := slices.Clone(s.values)
	slices.Sort(v)
	if len(v) == 0 {
		return math.NaN()
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func (s *series) minMax() (float64, float64) { return slices.Min(s.values), slices.Max(s.values) }

type machine struct {
	cpu, kernel, memory, loadBefore, loadAfter string
	cores                                      int
	versions                                   map[string]string
	total0, steal0                             uint64 // /proc/stat when the run began (cpuTimes)
}

// stolen is the share of this machine's CPU time its hypervisor gave to others since the run began
// ("steal": a core this VM wanted and did not get), as text; "" where /proc/stat has no such column.
func (m machine) stolen() string {
	total, steal := cpuTimes()
	if total <= m.total0 {
		return ""
	}
	return fmt.Sprintf("%.1f%%", 100*float64(steal-m.steal0)/float64(total-m.total0))
}

// cpuTimes reads the machine's CPU time from /proc/stat (in clock ticks): all of it, and the stolen part.
func cpuTimes() (total, steal uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i < 8 { // guest time (fields 9 and 10) is already counted in user time
			total += n
		}
		if i == 7 {
			steal = n
		}
	}
	return total, steal
}

func (m machine) summary() string {
	return fmt.Sprintf("%s, %d cores, %s, load %s", m.cpu, m.cores, m.memory, m.loadBefore)
}

type results struct {
	o          options
	list       []*series
	idx        map[string]*series
	machine    machine
	elapsed    time.Duration
	redisCmds  map[string]map[string]int64 // Redis usec per command of the last run of each system
	redisCalls map[string]map[string]int64
	notes      []string // free text the suites add (what was measured how)
}

func newResults(o options) *results {
	return &results{o: o, idx: map[string]*series{}, redisCmds: map[string]map[string]int64{}, redisCalls: map[string]map[string]int64{}}
}

// add appends one run's value to the series described by s.
func (r *results) add(s series, v float64) {
	k := s.key()
	cur, ok := r.idx[k]
	if !ok {
		cur = &s
		cur.values = nil
		r.idx[k] = cur
		r.list = append(r.list, cur)
	}
	cur.values = append(cur.values, v)
}

func (r *results) get(suite, name, metric string) *series { return r.idx[suite+"/"+name+"/"+metric] }

func (r *results) suite(suite string) []*series {
	var out []*series
	for _, s := range r.list {
		if s.suite == suite {
			out = append(out, s)
		}
	}
	return out
}

func describeMachine(ctx context.Context, env *benchEnv) machine {
	m := machine{cores: runtime.NumCPU(), versions: map[string]string{}, loadBefore: loadAverage()}
	m.total0, m.steal0 = cpuTimes()
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "model name"); ok {
				m.cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		var kb int64
		fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "MemTotal:")), "%d", &kb)
		m.memory = fmt.Sprintf("%.0f GiB RAM", float64(kb)/(1<<20))
	}
	if b, err := exec.Command("uname", "-sr").Output(); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	m.versions["Go"] = runtime.Version()
	m.versions["Redis"] = env.version(ctx)
	if b, err := exec.Command(python, "--version").Output(); err == nil {
		m.versions["Python"] = strings.TrimPrefix(strings.TrimSpace(string(b)), "Python ")
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/hibiken/asynq":
				m.versions["asynq"] = d.Version
			case "github.com/ThreeDotsLabs/watermill":
				m.versions["Watermill"] = d.Version
			case "github.com/ThreeDotsLabs/watermill-redisstream":
				m.versions["watermill-redisstream"] = d.Version
			case "github.com/redis/go-redis/v9":
				m.versions["go-redis"] = d.Version
			}
		}
	}
	if b, err := exec.Command("git", "-C", "..", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.versions["CNS commit"] = strings.TrimSpace(string(b))
	}
	return m
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// startProfile writes a CPU profile of this process (where the CNS worker runs) while one CNS drain runs,
// when -profile is set; it returns the stop function.
func startProfile(o options, r *commandRunner, kind string, run int) func() {
	if o.profileDir == "" || r.run == nil || (r.name != "cns" && r.name != "cns-stock-subscriber") || run != 0 {
		return func() {}
	}
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		return func() {}
	}
	f, err := os.Create(filepath.Join(o.profileDir, fmt.Sprintf("%s-%s.pprof", r.name, kind)))
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v >= 100:
		return groupThousands(fmt.Sprintf("%.0f", v))
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "–"
	}
	x := a / b
	if x >= 10 {
		return fmt.Sprintf("%.0f×", x)
	}
	return fmt.Sprintf("%.2f×", x)
}

// table renders series as a Markdown table: median, min–max, runs.
func table(ss []*series, extra func(s *series) string, extraHead string) string {
	var b strings.Builder
	head := "| system | measured | median | min – max | runs |"
	sep := "| --- | --- | ---: | ---: | ---: |"
	if extra != nil {
		head += " " + extraHead + " |"
		sep += " --- |"
	}
	b.WriteString(head + "\n" + sep + "\n")
	for _, s := range ss {
		lo, hi := s.minMax()
		fmt.Fprintf(&b, "| %s | %s | **%s** | %s – %s | %d |", s.name, s.metric, fmtNum(s.median()), fmtNum(lo), fmtNum(hi), len(s.values))
		if extra != nil {
			b.WriteString(" " + extra(s) + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// text is the console summary.
func (r *results) text() string {
	var b strings.Builder
	suites := []string{}
	for _, s := range r.list {
		if !slices.Contains(suites, s.suite) {
			suites = append(suites, s.suite)
		}
	}
	for _, su := range suites {
		fmt.Fprintf(&b, "\n== %s\n", su)
		for _, s := range r.suite(su) {
			lo, hi := s.minMax()
			fmt.Fprintf(&b, "%-32s %-16s median %12s  [%s – %s]\n", s.name, s.metric, fmtNum(s.median()), fmtNum(lo), fmtNum(hi))
		}
	}
	return b.String()
}

// topCommands lists the Redis commands where a system spent its Redis time (last run).
func (r *results) topCommands(key string, n int) string {
	m := r.redisCmds[key]
	calls := r.redisCalls[key]
	type kv struct {
		k string
		v int64
	}
	var all []kv
	var total int64
	for k, v := range m {
		if k == "info" || k == "config|resetstat" || k == "flushall" || k == "bgrewriteaof" || k == "ping" {
			continue
		}
		all = append(all, kv{k, v})
		total += v
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v })
	var parts []string
	for i, e := range all {
		if i == n {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.0f%% (%d calls)", e.k, 100*float64(e.v)/float64(max(total, 1)), calls[e.k]))
	}
	return strings.Join(parts, ", ")
}
