// Package history keeps the recent queue depth and population of each project in a small in-process ring
// buffer, sampled at the dashboard's refresh interval, for the overview's chart and its SNOs-per-minute
// rate. Every process keeps its own history from its own start: with several API replicas, each draws the
// chart from its own samples (the numbers sampled are the shared ones, so the lines agree once replicas
// have run for the same time). Nothing is persisted.
package history

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/web/ports"
)

// Sample is one observation of a project.
type Sample struct {
	At         time.Time
	Queues     []ports.Queue
	Population int // SNOs of every status
}

// History holds a bounded ring of samples per project. Safe for concurrent use.
type History struct {
	size int
	mu   sync.Mutex
	ring map[string][]Sample
}

// New returns a history keeping size samples per project.
func New(size int) *History {
	return &History{size: max(size, 2), ring: map[string][]Sample{}}
}

// Add records a sample, dropping the oldest beyond the size.
func (h *History) Add(project string, s Sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := append(h.ring[project], s)
	if len(r) > h.size {
		r = slices.Delete(r, 0, len(r)-h.size)
	}
	h.ring[project] = r
}

// Samples returns a copy of a project's samples, oldest first.
func (h *History) Samples(project string) []Sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ring[project])
}

// PerMinute returns how many SNOs the project gained per minute over the last window (at most a
// minute), and false while fewer than two samples span it.
func PerMinute(samples []Sample, now time.Time) (float64, bool) {
	if len(samples) < 2 {
		return 0, false
	}
	last := samples[len(samples)-1]
	first := last
	for i := len(samples) - 2; i >= 0; i-- {
		if now.Sub(samples[i].At) > time.Minute {
			break
		}
		first = samples[i]
	}
	span := last.At.Sub(first.At)
	if span <= 0 {
		return 0, false
	}
	return float64(last.Population-first.Population) / span.Minutes(), true
}

// Sampler fills a History by asking for queue depth and population every interval.
type Sampler struct {
	History  *History
	Interval time.Duration
	Queues   ports.QueuesFunc
	Stats    func(ctx context.Context, project string) (cns.Stats, error)
	Log      *zap.Logger
	Now      func() time.Time

	mu       sync.Mutex
	projects map[string]bool
}

// maxProjects bounds how many projects one process samples, so sign-ins cannot grow memory unbounded.
const maxProjects = 256

// Watch adds a project to the sampled ones (the configured ones from the start, others when someone signs
// in to them).
func (s *Sampler) Watch(project string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.projects == nil {
		s.projects = map[string]bool{}
	}
	if len(s.projects) < maxProjects {
		s.projects[project] = true
	}
}

// Watched reports whether the project is sampled.
func (s *Sampler) Watched(project string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.projects[project]
}

// SampleNow takes one sample of every watched project.
func (s *Sampler) SampleNow(ctx context.Context) {
	s.mu.Lock()
	projects := make([]string, 0, len(s.projects))
	for p := range s.projects {
		projects = append(projects, p)
	}
	s.mu.Unlock()
	for _, p := range projects {
		smp := Sample{At: s.Now()}
		if s.Queues != nil {
			q, err := s.Queues(ctx, p)
			if err != nil {
				s.Log.Warn("sample queue depth", zap.String("project", p), zap.Error(err))
				continue
			}
			smp.Queues = q
		}
		st, err := s.Stats(ctx, p)
		if err != nil {
			s.Log.Warn("sample population", zap.String("project", p), zap.Error(err))
			continue
		}
		for _, n := range st.SNOsByStatus {
			smp.Population += n
		}
		s.History.Add(p, smp)
	}
}

// Run samples every interval until ctx ends.
func (s *Sampler) Run(ctx context.Context) {
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	s.SampleNow(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.SampleNow(ctx)
		}
	}
}
