package dispatch

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/cns-dev/cns"
)

// SynthesisBudget paces syntheses (population.Budgets implements it): Check before the claim (EEXHAUSTED
// when spent, consuming nothing), Record after a new claim.
type SynthesisBudget interface {
	CheckSynthesis(ctx context.Context, project, a, b string) error
	RecordSynthesis(ctx context.Context, project, a, b string) error
}

// Syntheses queues synthesize_pair jobs, from the API (SynthesizePair) and from pair discovery alike, so
// a pair is claimed, budgeted and published the same way from everywhere. Safe for concurrent use.
type Syntheses struct {
	D     *Dispatcher
	Pairs cns.PairStore
	// Budget, if set, is checked before a new claim and charged after it.
	Budget SynthesisBudget
	// Generator is the synthesizer version the pair is claimed for.
	Generator string
}

// Accept queues the synthesis of the pair (x, y) (in either order) for s.Generator and returns its job
// id. When the pair was already claimed for this generator it returns that job, created=false, and
// charges nothing: the same pair is never synthesized twice by one generator version, whoever asks.
func (s *Syntheses) Accept(ctx context.Context, project, x, y string, auto bool) (jobID string, created bool, err error) {
	a, b := cns.OrderPair(x, y)
	id, err := s.Pairs.SynthesisClaim(ctx, project, a, b, s.Generator)
	switch {
	case err == nil:
		return id, false, nil
	case cns.ErrorCode(err) != cns.ENOTFOUND:
		return "", false, fmt.Errorf("read synthesis claim: %w", err)
	}
	if s.Budget != nil {
		if err := s.Budget.CheckSynthesis(ctx, project, a, b); err != nil {
			// A concurrent request for this very pair may have claimed it and started its cooldowns
			// between our read and the check: then its job is the answer, not the spent budget.
			if id, cerr := s.Pairs.SynthesisClaim(ctx, project, a, b, s.Generator); cerr == nil {
				return id, false, nil
			}
			return "", false, err
		}
	}
	now := s.D.now().UTC()
	job := &cns.Job{
		ID: NewJobID(), Project: project, Kind: cns.JobSynthesizePair, State: cns.JobQueued,
		Synthesis: &cns.SynthesisInput{A: a, B: b, Generator: s.Generator, Auto: auto},
		CreatedAt: now, UpdatedAt: now,
	}
	stored, created, err := s.Pairs.ClaimSynthesis(ctx, job)
	if err != nil {
		return "", false, fmt.Errorf("claim synthesis: %w", err)
	}
	if !created {
		// Another process claimed it between the read and the claim; its job is the one.
		return stored.ID, false, nil
	}
	if s.Budget != nil {
		if err := s.Budget.RecordSynthesis(ctx, project, a, b); err != nil {
			// The job is claimed and will run; an unrecorded spend only loosens the budget.
			s.D.Log.Error("record synthesis budget", zap.String("project", project), zap.String("job_id", stored.ID), zap.Error(err))
		}
	}
	if s.D.OnAccepted != nil {
		s.D.OnAccepted(stored)
	}
	if err := s.D.publish(context.WithoutCancel(ctx), stored); err != nil {
		s.D.Log.Error("publish synthesis job; it stays queued for recovery", zap.String("project", project), zap.String("job_id", stored.ID), zap.Error(err))
	}
	s.D.Log.Info("synthesis queued", zap.String("project", project), zap.String("job_id", stored.ID),
		zap.String("sno_a", a), zap.String("sno_b", b), zap.String("generator", s.Generator), zap.Bool("auto", auto))
	return stored.ID, true, nil
}

// IsExhausted reports whether err is a spent budget (the caller skips rather than fails).
func IsExhausted(err error) bool {
	var e *cns.Error
	return errors.As(err, &e) && e.Code == cns.EEXHAUSTED
}
