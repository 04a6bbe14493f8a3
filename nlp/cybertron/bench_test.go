package cybertron

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nlpodyssey/spago/ag"

	"github.com/cns-dev/cns/nlp/cybertron/bertgen"
)

// miniLMDirs caches one generated model of all-MiniLM-L6-v2's shape per benchmark run (~90 MB, seconds to
// write).
var miniLM struct {
	once sync.Once
	enc  string
	nli  string
	err  error
}

func miniLMDirs(b *testing.B) (enc, nli string) {
	miniLM.once.Do(func() {
		dir, err := makeTempDir()
		if err != nil {
			miniLM.err = err
			return
		}
		spec := bertgen.MiniLM(30522, 1)
		miniLM.enc = dir + "/minilm"
		if miniLM.err = bertgen.Write(miniLM.enc, spec); miniLM.err != nil {
			return
		}
		spec.Labels = []string{"contradiction", "entailment", "neutral"}
		miniLM.nli = dir + "/minilm-nli"
		miniLM.err = bertgen.Write(miniLM.nli, spec)
	})
	if miniLM.err != nil {
		b.Fatal(miniLM.err)
	}
	return miniLM.enc, miniLM.nli
}

// sentence returns a text of exactly n tokens once [CLS] and [SEP] are added (every word is one piece).
func sentence(n, salt int) string {
	w := make([]string, n-2)
	for i := range w {
		w[i] = fmt.Sprintf("w%d", (i*7919+salt*104729)%30000)
	}
	return strings.Join(w, " ")
}

// BenchmarkMiniLMEmbed measures sentences per second of a random model with all-MiniLM-L6-v2's exact shape
// (6 layers, hidden 384, 12 heads, vocabulary 30,522) at 12, 32 and 128 tokens: one caller at a time
// (latency) and a batch over the worker pool (throughput), with spago's asynchronous operators and with
// synchronous execution (what the backend uses).
func BenchmarkMiniLMEmbed(b *testing.B) {
	enc, _ := miniLMDirs(b)
	e, err := LoadEmbedder(enc, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, tokens := range []int{12, 32, 128} {
		texts := make([]string, 16)
		for i := range texts {
			texts[i] = sentence(tokens, i)
		}
		b.Run(fmt.Sprintf("tokens=%d/single", tokens), func(b *testing.B) {
			cpu := cpuTime()
			i := 0
			for b.Loop() {
				if _, err := e.Embed(ctx, texts[i%len(texts)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			reportRate(b, b.N, cpu)
		})
		b.Run(fmt.Sprintf("tokens=%d/batch16", tokens), func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				if _, err := e.EmbedBatch(ctx, texts); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b, b.N*len(texts), cpu)
		})
		b.Run(fmt.Sprintf("tokens=%d/single-async-ops", tokens), func(b *testing.B) {
			ag.SetForceSyncExecution(false)
			defer ag.SetForceSyncExecution(true)
			cpu := cpuTime()
			i := 0
			for b.Loop() {
				if _, err := e.Embed(ctx, texts[i%len(texts)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			reportRate(b, b.N, cpu)
		})
	}
}

func makeTempDir() (string, error) { return os.MkdirTemp("", "cns-minilm-") }

// reportRate reports sentences per wall-clock second and per CPU second of the process. On a machine
// shared with other work the wall-clock rate drops with the share of CPU the benchmark gets; the CPU rate
// does not, and times the number of free cores it estimates the rate on an idle machine.
func reportRate(b *testing.B, sentences int, cpuBefore time.Duration) {
	b.ReportMetric(float64(sentences)/b.Elapsed().Seconds(), "sentences/s")
	b.ReportMetric(float64(sentences)/(cpuTime()-cpuBefore).Seconds(), "sentences/cpu-s")
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
