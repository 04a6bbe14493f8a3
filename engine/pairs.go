package engine

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/population"
	"github.com/cns-dev/cns/relation"
)

// LoopConfig configures the operational loop: pair discovery, the admission of syntheses and population
// management.
type LoopConfig struct {
	Relation relation.Config
	// MaxCandidates bounds the SNOs scored per discovery (those sharing the most evidence first); a very
	// widely cited source would otherwise make one discovery score a large part of the population.
	MaxCandidates int
	// AcceptTrust and RejectTrust decide what a synthesized SNO becomes: ACTIVE at or above AcceptTrust,
	// REJECTED below RejectTrust, REVIEW in between.
	AcceptTrust, RejectTrust float64
	Population               population.Policy
}

// DefaultMaxCandidates is LoopConfig.MaxCandidates when it is 0.
const DefaultMaxCandidates = 1000

// loop is the engine's operational-loop state.
type loop struct {
	cfg    LoopConfig
	store  cns.PairStore
	scorer *relation.Scorer
	synth  cns.Synthesizer
	// members is the population view the archive policy needs: project → ACTIVE SNO id → member. It is
	// kept by Observe under Engine.mu, beside the trust map.
	members   map[string]map[string]population.Member
	archiveMu sync.Mutex // one enforcement at a time per process
}

// EnableLoop turns on pair discovery, synthesis and population management. Call it before Rebuild, so
// the population view is loaded with everything else.
func (e *Engine) EnableLoop(cfg LoopConfig, store cns.PairStore, nli cns.NLI, synth cns.Synthesizer) error {
	scorer, err := relation.NewScorer(cfg.Relation, nli)
	if err != nil {
		return fmt.Errorf("engine: pairs: %w", err)
	}
	if synth == nil {
		return cns.Errorf(cns.EINVALID, "engine: no synthesizer")
	}
	if cfg.MaxCandidates <= 0 {
		cfg.MaxCandidates = DefaultMaxCandidates
	}
	if !(cfg.RejectTrust <= cfg.AcceptTrust) {
		return cns.Errorf(cns.EINVALID, "engine: synthesis reject trust %v is above accept trust %v", cfg.RejectTrust, cfg.AcceptTrust)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.loop = &loop{cfg: cfg, store: store, scorer: scorer, synth: synth, members: map[string]map[string]population.Member{}}
	return nil
}

// LoopEnabled reports whether EnableLoop was called.
func (e *Engine) LoopEnabled() bool { return e.loop != nil }

// Generator is the name of the synthesizer in use ("" without the loop).
func (e *Engine) Generator() string {
	if e.loop == nil {
		return ""
	}
	return e.loop.synth.Name()
}

// DefaultThresholds are the configured pair thresholds.
func (e *Engine) DefaultThresholds() relation.Thresholds {
	if e.loop == nil {
		return relation.Thresholds{}
	}
	return e.loop.scorer.Defaults()
}

func (e *Engine) needLoop() (*loop, error) {
	if e.loop == nil {
		return nil, cns.Errorf(cns.EFAILEDPRECOND, "pair discovery and synthesis are not enabled in this process")
	}
	return e.loop, nil
}

// observeLoop keeps the population view; the caller holds e.mu.
func (e *Engine) observeLoop(sno *cns.SNO) {
	l := e.loop
	if l == nil {
		return
	}
	m := l.members[sno.Project]
	if sno.Status != cns.StatusActive {
		delete(m, sno.ID)
		return
	}
	if m == nil {
		m = map[string]population.Member{}
		l.members[sno.Project] = m
	}
	m[sno.ID] = population.Member{ID: sno.ID, Trust: sno.Trust, CreatedAt: sno.CreatedAt, Parents: sno.Lineage.Parents}
}

// isActive reports whether the in-memory view holds the SNO as ACTIVE.
func (e *Engine) isActive(project, id string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	_, ok := e.trust[project][id]
	return ok
}

// DiscoverPairs finds the chiral pairs of a newly admitted SNO with the configured thresholds and stores
// them. Candidates come from the evidence inverted index only: every ACTIVE SNO sharing at least one
// evidence id (never an all-pairs sweep), each scored exactly. A non-ACTIVE SNO has no pairs.
func (e *Engine) DiscoverPairs(ctx context.Context, sno *cns.SNO) ([]cns.Pair, error) {
	l, err := e.needLoop()
	if err != nil {
		return nil, err
	}
	if sno.Status != cns.StatusActive {
		return nil, nil
	}
	pairs, err := e.pairsOf(ctx, l, sno, l.scorer.Defaults())
	if err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	ptrs := make([]*cns.Pair, len(pairs))
	for i := range pairs {
		ptrs[i] = &pairs[i]
	}
	if err := l.store.PutPairs(ctx, ptrs); err != nil {
		return nil, fmt.Errorf("store pairs of %s: %w", sno.ID, err)
	}
	return pairs, nil
}

// pairsOf scores sno against every candidate from the evidence index and returns the pairs passing th,
// best first (potential descending, then A, then B), with their conflict points.
func (e *Engine) pairsOf(ctx context.Context, l *loop, sno *cns.SNO, th relation.Thresholds) ([]cns.Pair, error) {
	own := cns.EvidenceIDs(sno.Evidence)
	delete(own, "")
	if len(own) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(own))
	for id := range own {
		ids = append(ids, id)
	}
	index, err := l.store.SNOIDsByEvidence(ctx, sno.Project, ids)
	if err != nil {
		return nil, fmt.Errorf("evidence index: %w", err)
	}
	shared := map[string]int{}
	for _, list := range index {
		for _, id := range list {
			if id != sno.ID {
				shared[id]++
			}
		}
	}
	// |A ∩ B| / |A| bounds E from above (|A ∪ B| ≥ |A|), so candidates that cannot reach the threshold
	// are dropped before they are read.
	type cand struct {
		id string
		n  int
	}
	cands := make([]cand, 0, len(shared))
	for id, n := range shared {
		if float64(n)/float64(len(own)) >= th.MinEntanglement {
			cands = append(cands, cand{id, n})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].n != cands[j].n {
			return cands[i].n > cands[j].n
		}
		return cands[i].id < cands[j].id
	})
	if len(cands) > l.cfg.MaxCandidates {
		cands = cands[:l.cfg.MaxCandidates]
	}
	want := make([]string, len(cands))
	for i, c := range cands {
		want[i] = c.id
	}
	others, err := l.store.GetSNOs(ctx, sno.Project, want)
	if err != nil {
		return nil, fmt.Errorf("load candidates: %w", err)
	}
	now := e.now().UTC()
	var out []cns.Pair
	for _, b := range others {
		if b.Status != cns.StatusActive || relation.Related(sno, b) {
			continue
		}
		if ent, _ := relation.Entanglement(sno.Evidence, b.Evidence); ent < th.MinEntanglement {
			continue
		}
		p, err := l.scorer.Measure(ctx, sno, b, false)
		if err != nil {
			return nil, err
		}
		if !th.Keep(p) {
			continue
		}
		x, y := sno, b
		if x.ID > y.ID {
			x, y = y, x
		}
		if p.ConflictPoints, err = l.scorer.ConflictPoints(ctx, x, y); err != nil {
			return nil, err
		}
		p.UpdatedAt = now
		out = append(out, p)
	}
	sortPairs(out)
	return out, nil
}

func sortPairs(ps []cns.Pair) {
	sort.Slice(ps, func(i, j int) bool { return pairLess(ps[i], ps[j]) })
}

// pairLess is the listing order: potential descending, then A, then B.
func pairLess(a, b cns.Pair) bool {
	if a.Potential != b.Potential {
		return a.Potential > b.Potential
	}
	if a.A != b.A {
		return a.A < b.A
	}
	return a.B < b.B
}

func afterCursor(p cns.Pair, c *cns.PairCursor) bool {
	return c == nil || pairLess(cns.Pair{Potential: c.Potential, A: c.A, B: c.B}, p)
}

// PairQuery is a chiral pair search.
type PairQuery struct {
	Project    string
	SNOID      string // "" = the whole population
	Thresholds relation.Thresholds
	Limit      int
	After      *cns.PairCursor
}

// FindPairs searches chiral pairs. For one SNO they are computed now, exactly, from the evidence index
// (the SNO must be ACTIVE: EFAILEDPRECOND otherwise). For the population they come from the pairs stored
// at discovery (which kept only pairs above the configured thresholds), skipping pairs whose SNOs are no
// longer ACTIVE. At most q.Limit pairs, after q.After, in the listing order; more reports whether
// another page exists.
func (e *Engine) FindPairs(ctx context.Context, q PairQuery) (pairs []cns.Pair, more bool, err error) {
	l, err := e.needLoop()
	if err != nil {
		return nil, false, err
	}
	if q.SNOID != "" {
		sno, err := e.store.GetSNO(ctx, q.Project, q.SNOID)
		if err != nil {
			return nil, false, err
		}
		if sno.Status != cns.StatusActive {
			return nil, false, cns.Errorf(cns.EFAILEDPRECOND, "sno %s is %s: only ACTIVE SNOs take part in pair search", sno.ID, sno.Status)
		}
		all, err := e.pairsOf(ctx, l, sno, q.Thresholds)
		if err != nil {
			return nil, false, err
		}
		for _, p := range all {
			if !afterCursor(p, q.After) {
				continue
			}
			if len(pairs) == q.Limit {
				return pairs, true, nil
			}
			pairs = append(pairs, p)
		}
		return pairs, false, nil
	}
	f := cns.PairFilter{Project: q.Project, Limit: max(q.Limit, 64), After: q.After}
	for {
		page, err := l.store.ListPairs(ctx, f)
		if err != nil {
			return nil, false, fmt.Errorf("list pairs: %w", err)
		}
		for _, p := range page {
			if !q.Thresholds.Keep(*p) || !e.isActive(q.Project, p.A) || !e.isActive(q.Project, p.B) {
				continue
			}
			if len(pairs) == q.Limit {
				return pairs, true, nil
			}
			pairs = append(pairs, *p)
		}
		if len(page) < f.Limit {
			return pairs, false, nil
		}
		last := page[len(page)-1]
		f.After = &cns.PairCursor{Potential: last.Potential, A: last.A, B: last.B}
	}
}

// ListPairs returns the stored pairs (as measured at discovery, whatever their SNOs' status now).
func (e *Engine) ListPairs(ctx context.Context, f cns.PairFilter) ([]*cns.Pair, error) {
	l, err := e.needLoop()
	if err != nil {
		return nil, err
	}
	ps, err := l.store.ListPairs(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list pairs: %w", err)
	}
	return ps, nil
}

// MeasurePair loads two SNOs of the project and measures them as a pair (conflict points included). It
// is ENOTFOUND when either is missing, EINVALID when they are the same SNO.
func (e *Engine) MeasurePair(ctx context.Context, project, x, y string) (cns.Pair, []*cns.SNO, error) {
	l, err := e.needLoop()
	if err != nil {
		return cns.Pair{}, nil, err
	}
	if x == y {
		return cns.Pair{}, nil, &cns.Error{Code: cns.EINVALID, Message: "a pair needs two different SNOs",
			Violations: []cns.FieldViolation{{Field: "snoB", Description: "must differ from snoA"}}}
	}
	a, b := cns.OrderPair(x, y)
	snos, err := l.store.GetSNOs(ctx, project, []string{a, b})
	if err != nil {
		return cns.Pair{}, nil, fmt.Errorf("load pair: %w", err)
	}
	if len(snos) != 2 {
		missing := a
		if len(snos) == 1 && snos[0].ID == a {
			missing = b
		}
		return cns.Pair{}, nil, cns.Errorf(cns.ENOTFOUND, "sno %q not found", missing)
	}
	p, err := l.scorer.Measure(ctx, snos[0], snos[1], true)
	if err != nil {
		return cns.Pair{}, nil, err
	}
	p.UpdatedAt = e.now().UTC()
	return p, snos, nil
}

// EnforcePopulation archives the lowest-trust ACTIVE SNOs of the project beyond the population limit
// (see population.Policy) and returns their ids. The count is this process's view of the population, so
// two processes enforcing at once may archive a few more than needed.
func (e *Engine) EnforcePopulation(ctx context.Context, project string) ([]string, error) {
	l, err := e.needLoop()
	if err != nil {
		return nil, err
	}
	if l.cfg.Population.MaxActive <= 0 {
		return nil, nil
	}
	l.archiveMu.Lock()
	defer l.archiveMu.Unlock()
	e.mu.RLock()
	m := l.members[project]
	if len(m) <= l.cfg.Population.MaxActive {
		e.mu.RUnlock()
		return nil, nil
	}
	members := make([]population.Member, 0, len(m))
	for _, x := range m {
		members = append(members, x)
	}
	e.mu.RUnlock()
	victims := l.cfg.Population.SelectForArchive(members, e.now())
	var done []string
	for _, id := range victims {
		if _, err := e.Archive(ctx, project, id); err != nil {
			if cns.ErrorCode(err) == cns.ENOTFOUND {
				continue
			}
			return done, fmt.Errorf("archive %s: %w", id, err)
		}
		done = append(done, id)
	}
	return done, nil
}

// Review applies a human decision to an SNO in the review queue: approve makes it ACTIVE, reject makes
// it REJECTED. An SNO not in review is EFAILEDPRECOND.
func (e *Engine) Review(ctx context.Context, project, id string, d cns.ReviewDecision) (*cns.SNO, error) {
	s, err := e.store.GetSNO(ctx, project, id)
	if err != nil {
		return nil, err
	}
	if s.Status != cns.StatusReview {
		return nil, cns.Errorf(cns.EFAILEDPRECOND, "sno %s is %s, not waiting for review", id, s.Status)
	}
	switch d {
	case cns.ReviewApprove:
		s.Status = cns.StatusActive
	case cns.ReviewReject:
		s.Status = cns.StatusRejected
	default:
		return nil, &cns.Error{Code: cns.EINVALID, Message: "invalid review",
			Violations: []cns.FieldViolation{{Field: "decision", Description: "must be REVIEW_DECISION_APPROVE or REVIEW_DECISION_REJECT"}}}
	}
	if s.Metadata == nil {
		s.Metadata = map[string]string{}
	}
	s.Metadata["review.decision"] = d.String()
	s.UpdatedAt = e.now().UTC()
	s.Metadata["review.at"] = s.UpdatedAt.Format(time.RFC3339)
	if err := e.store.PutSNO(ctx, s); err != nil {
		return nil, fmt.Errorf("store review: %w", err)
	}
	e.Observe(s)
	e.notify(ctx, s, "updated")
	return s, nil
}
