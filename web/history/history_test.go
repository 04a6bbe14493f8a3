package history_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/web/history"
	"github.com/cns-dev/cns/web/ports"
)

func TestRingKeepsTheNewest(t *testing.T) {
	h := history.New(3)
	t0 := time.Unix(0, 0)
	for i := range 5 {
		h.Add("p", history.Sample{At: t0.Add(time.Duration(i) * time.Second), Population: i})
	}
	s := h.Samples("p")
	if len(s) != 3 || s[0].Population != 2 || s[2].Population != 4 {
		t.Errorf("ring holds %+v, want the last 3", s)
	}
	if len(h.Samples("other")) != 0 {
		t.Error("projects share a ring")
	}
}

func TestPerMinute(t *testing.T) {
	t0 := time.Unix(1000, 0)
	if _, ok := history.PerMinute([]history.Sample{{At: t0}}, t0); ok {
		t.Error("a rate from one sample")
	}
	s := []history.Sample{{At: t0, Population: 0}, {At: t0.Add(90 * time.Second), Population: 30}, {At: t0.Add(120 * time.Second), Population: 50}}
	// The window is the last minute: from 30 at t+90s to 50 at t+120s, i.e. 20 in 30 s = 40/min.
	if r, ok := history.PerMinute(s, t0.Add(120*time.Second)); !ok || r != 40 {
		t.Errorf("rate %v %v, want 40", r, ok)
	}
}

func TestSamplerSamplesWatchedProjects(t *testing.T) {
	h := history.New(10)
	now := time.Unix(0, 0)
	fail := false
	s := &history.Sampler{History: h, Interval: time.Hour, Log: zaptest.NewLogger(t), Now: func() time.Time { return now },
		Queues: func(_ context.Context, p string) ([]ports.Queue, error) {
			if fail {
				return nil, errors.New("redis down")
			}
			return []ports.Queue{{Name: "q", Length: 7}}, nil
		},
		Stats: func(_ context.Context, p string) (cns.Stats, error) {
			return cns.Stats{SNOsByStatus: map[cns.Status]int{cns.StatusActive: 3, cns.StatusArchived: 2}}, nil
		}}
	s.Watch("a")
	s.SampleNow(context.Background())
	got := h.Samples("a")
	if len(got) != 1 || got[0].Population != 5 || got[0].Queues[0].Length != 7 {
		t.Fatalf("sample %+v", got)
	}
	if len(h.Samples("b")) != 0 || s.Watched("b") {
		t.Error("an unwatched project was sampled")
	}
	fail = true
	s.SampleNow(context.Background())
	if len(h.Samples("a")) != 1 {
		t.Error("a failed observation was recorded as a sample")
	}
}
