package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/cns-dev/cns"
)

// projectLimiter is a token bucket per project (per API process): one project flooding the API cannot
// starve the others. A nil limiter allows everything.
type projectLimiter struct {
	rps   rate.Limit
	burst int
	mu    sync.Mutex
	lims  map[string]*rate.Limiter
}

func newProjectLimiter(rps float64, burst int) *projectLimiter {
	if rps <= 0 {
		return nil
	}
	return &projectLimiter{rps: rate.Limit(rps), burst: burst, lims: map[string]*rate.Limiter{}}
}

func (p *projectLimiter) allow(project string) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	l := p.lims[project]
	if l == nil {
		l = rate.NewLimiter(p.rps, p.burst)
		p.lims[project] = l
	}
	p.mu.Unlock()
	r := l.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel() // the call is refused, so it must not use up a token
		err := connect.NewError(connect.CodeResourceExhausted, fmt.Errorf("rate limit of %.4g requests/s for this project exceeded", float64(p.rps)))
		if det, derr := connect.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(d.Round(time.Millisecond))}); derr == nil {
			err.AddDetail(det)
		}
		return err
	}
	return nil
}

// checkActiveJobs refuses a new job when the project already has MaxActiveJobs queued or running.
func (s *Server) checkActiveJobs(ctx context.Context, project string) error {
	if s.d.MaxActiveJobs <= 0 {
		return nil
	}
	st, err := s.d.Store.Stats(ctx, project)
	if err != nil {
		return fmt.Errorf("count active jobs: %w", err)
	}
	if n := st.JobsByState[cns.JobQueued] + st.JobsByState[cns.JobRunning]; n >= s.d.MaxActiveJobs {
		return &cns.Error{Code: cns.EEXHAUSTED, RetryAfterSeconds: 2,
			Message: fmt.Sprintf("this project has %d active jobs (limit %d): retry when some have finished", n, s.d.MaxActiveJobs)}
	}
	return nil
}
