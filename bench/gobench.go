package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+([0-9.]+) ns/op`)

// goBench runs a Go benchmark of the service module `count` times and returns ns/op by benchmark name.
// The harness reads the service's own benchmarks this way rather than copying them.
func goBench(ctx context.Context, pkg, pattern string, count int) (map[string][]float64, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", pattern, "-count", strconv.Itoa(count), pkg)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go test -bench %s %s: %w: %s", pattern, pkg, err, tail(string(out), 2000))
	}
	res := map[string][]float64{}
	for _, line := range strings.Split(string(out), "\n") {
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err == nil {
			res[m[1]] = append(res[m[1]], v)
		}
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("go test -bench %s %s: no results: %s", pattern, pkg, tail(string(out), 2000))
	}
	return res, nil
}
