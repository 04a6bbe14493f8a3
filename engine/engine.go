// Package engine is the CNS pipeline that turns a job into a scored SNO and keeps the in-memory view of the
// population (vector index and trust per SNO) that novelty and search need. The worker runs Build for
// commands; the API server uses Search, Evaluate and Archive for synchronous calls. It holds no transport:
// it is used the same way in `cns dev` and in the distributed mode.
package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/critic"
	"github.com/cns-dev/cns/ingest"
	"github.com/cns-dev/cns/vector"
)

// Config is what the engine needs from the service configuration.
type Config struct {
	Limits   cns.Limits
	Critic   critic.Config
	MinTrust float64 // admission: below it an SNO is REJECTED
	// NewIndex builds a project's vector index; nil means the exact pure-Go index.
	NewIndex func(dim int) cns.VectorIndex
	// Notify, if set, tells other processes that an SNO changed (so their replicas follow).
	Notify func(ctx context.Context, sno *cns.SNO, change string)
	// OnEvaluate, if set, receives the duration of every critic evaluation (metrics).
	OnEvaluate func(time.Duration)
}

// Engine builds, scores and indexes SNOs. Safe for concurrent use.
type Engine struct {
	cfg   Config
	store cns.Store
	emb   cns.Embedder
	eval  *critic.Evaluator
	index *vector.Set
	now   func() time.Time

	mu    sync.RWMutex
	trust map[string]map[string]float64 // project → SNO id → trust, for the SNOs in the index
	// source is project → SNO id → critic.SourceKey, for the SNOs in the index: the novelty critic's flood
	// detection counts near-duplicates from one source once.
	source map[string]map[string]string
	loop   *loop // pair discovery, synthesis, population (pairs.go); nil = off
}

// New returns an engine over the given store and NLP backends.
func New(cfg Config, store cns.Store, emb cns.Embedder, nli cns.NLI) (*Engine, error) {
	eval, err := critic.NewEvaluator(cfg.Critic, nli)
	if err != nil {
		return nil, fmt.Errorf("engine: critics: %w", err)
	}
	return &Engine{
		cfg: cfg, store: store, emb: emb, eval: eval,
		index:  vector.NewSet(emb.Dim(), cfg.NewIndex),
		now:    time.Now,
		trust:  map[string]map[string]float64{},
		source: map[string]map[string]string{},
	}, nil
}

// Embedder returns the embedder in use.
func (e *Engine) Embedder() cns.Embedder { return e.emb }

// SNOIDForJob derives the SNO id from the job id, so a job processed twice (at-least-once delivery)
// overwrites the same SNO instead of creating a duplicate.
func SNOIDForJob(jobID string) string {
	return "sno_" + strings.TrimPrefix(jobID, "job_")
}

// Build turns a job's input into a scored SNO, not yet stored. Errors coded EINVALID are the input's
// fault and must not be retried.
func (e *Engine) Build(ctx context.Context, job *cns.Job) (*cns.SNO, error) {
	var (
		res    ingest.Result
		err    error
		source string
		md     map[string]string
		strat  string
	)
	switch {
	case job.Kind == cns.JobIngestDocument && job.Document != nil:
		res, err = ingest.Document(*job.Document, e.cfg.Limits)
		source, md, strat = job.Document.Source, job.Document.Metadata, "ingest"
	case job.Kind == cns.JobSubmitNarrative && job.Narrative != nil:
		res, err = ingest.Narrative(*job.Narrative, e.cfg.Limits)
		md, strat = job.Narrative.Metadata, "submit"
	case job.Kind == cns.JobSynthesizePair && job.Synthesis != nil:
		return e.synthesize(ctx, job) // synthesis.go
	default:
		return nil, cns.Errorf(cns.EINVALID, "job %s has no input of kind %s", job.ID, job.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	vec, err := e.emb.Embed(ctx, res.Hypothesis)
	if err != nil {
		return nil, fmt.Errorf("embed hypothesis: %w", err)
	}
	now := e.now().UTC()
	sno := &cns.SNO{
		ID:            SNOIDForJob(job.ID),
		Project:       job.Project,
		Hypothesis:    res.Hypothesis,
		Embedding:     vec,
		Graph:         res.Graph,
		Evidence:      res.Evidence,
		Source:        source,
		Metadata:      md,
		SchemaVersion: cns.SchemaVersion,
		JobID:         job.ID,
		Lineage:       cns.Lineage{Strategy: strat, Generator: strat + "/builtin@1"},
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	if err := e.score(ctx, sno, e.eval); err != nil {
		return nil, err
	}
	sno.Status = cns.StatusActive
	if sno.Trust < e.cfg.MinTrust {
		sno.Status = cns.StatusRejected
	}
	return sno, nil
}

func (e *Engine) score(ctx context.Context, sno *cns.SNO, eval *critic.Evaluator) error {
	ref := critic.Reference{Index: e.index.For(sno.Project), TrustOf: e.trustOf(sno.Project), SourceOf: e.sourceOf(sno.Project)}
	start := time.Now()
	t, scores, err := eval.Evaluate(ctx, sno, ref)
	if e.cfg.OnEvaluate != nil {
		e.cfg.OnEvaluate(time.Since(start))
	}
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	sno.Trust, sno.Critics = t, scores
	return nil
}

func (e *Engine) sourceOf(project string) func(string) (string, bool) {
	return func(id string) (string, bool) {
		e.mu.RLock()
		defer e.mu.RUnlock()
		s, ok := e.source[project][id]
		return s, ok
	}
}

func (e *Engine) trustOf(project string) func(string) (float64, bool) {
	return func(id string) (float64, bool) {
		e.mu.RLock()
		defer e.mu.RUnlock()
		t, ok := e.trust[project][id]
		return t, ok
	}
}

// Replica returns the part of sno that Observe reads: all the in-memory view of another process needs of
// an SNO this one stored (indexsync carries it in the SNO announcements, so that no process reads every
// ~10 KB record back). Observe(Replica(s)) leaves the view as Observe(s) does (TestObserveReplica); a
// field Observe starts reading must be added here and to busv1.SnoEntry. The replica shares s's slices.
func Replica(sno *cns.SNO) *cns.SNO {
	r := &cns.SNO{ID: sno.ID, Project: sno.Project, Status: sno.Status, Trust: sno.Trust, Embedding: sno.Embedding,
		CreatedAt: sno.CreatedAt, Source: sno.Source, Lineage: cns.Lineage{Parents: sno.Lineage.Parents, Generator: sno.Lineage.Generator}}
	if src := sno.Metadata["source"]; src != "" {
		r.Metadata = map[string]string{"source": src}
	}
	return r
}

// Observe brings the in-memory view up to date with a stored SNO: ACTIVE SNOs at or above the trust
// floor are the reference population; everything else leaves it.
func (e *Engine) Observe(sno *cns.SNO) {
	idx := e.index.For(sno.Project)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.observeLoop(sno) // pairs.go
	if sno.Status == cns.StatusActive && len(sno.Embedding) == idx.Dim() {
		if err := idx.Add(sno.ID, sno.Embedding); err == nil {
			if e.trust[sno.Project] == nil {
				e.trust[sno.Project] = map[string]float64{}
			}
			e.trust[sno.Project][sno.ID] = sno.Trust
			if e.source[sno.Project] == nil {
				e.source[sno.Project] = map[string]string{}
			}
			e.source[sno.Project][sno.ID] = critic.SourceKey(sno)
			return
		}
	}
	idx.Remove(sno.ID)
	delete(e.trust[sno.Project], sno.ID)
	delete(e.source[sno.Project], sno.ID)
}

func (e *Engine) notify(ctx context.Context, s *cns.SNO, change string) {
	if e.cfg.Notify != nil {
		e.cfg.Notify(ctx, s, change)
	}
}

// Rebuild loads the whole population from the store into the in-memory view (at start, or when a
// replica falls behind).
func (e *Engine) Rebuild(ctx context.Context) (int, error) {
	n := 0
	err := e.store.ScanSNOs(ctx, func(s *cns.SNO) error {
		e.Observe(s)
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("rebuild index: %w", err)
	}
	return n, nil
}

// SearchHit is one semantic search result.
type SearchHit struct {
	SNO   *cns.SNO
	Score float64
}

// Search returns the k ACTIVE SNOs of the project closest to the query.
func (e *Engine) Search(ctx context.Context, project, query string, k int) ([]SearchHit, error) {
	q, err := e.emb.Embed(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("embed query: %w", err)
	}
	hits, err := e.index.For(project).Search(q, k)
	if err != nil {
		return nil, fmt.Errorf("search index: %w", err)
	}
	out := make([]SearchHit, 0, len(hits))
	for _, h := range hits {
		s, err := e.store.GetSNO(ctx, project, h.ID)
		if cns.ErrorCode(err) == cns.ENOTFOUND {
			continue // removed since the index saw it
		}
		if err != nil {
			return nil, fmt.Errorf("load search hit: %w", err)
		}
		out = append(out, SearchHit{SNO: s, Score: h.Score})
	}
	return out, nil
}

// Evaluate re-scores an SNO against the current population. With an empty preset the configured weights
// are used and the result is stored; with a preset it is a what-if and nothing is stored.
func (e *Engine) Evaluate(ctx context.Context, project, id, preset string) (*cns.SNO, bool, error) {
	s, err := e.store.GetSNO(ctx, project, id)
	if err != nil {
		return nil, false, err
	}
	eval := e.eval
	if preset != "" {
		w, err := critic.Preset(preset)
		if err != nil {
			return nil, false, &cns.Error{Code: cns.EINVALID, Message: "unknown preset",
				Violations: []cns.FieldViolation{{Field: "preset", Description: "must be default, exploration or verification"}}}
		}
		eval = eval.WithWeights(w)
	}
	if err := e.score(ctx, s, eval); err != nil {
		return nil, false, err
	}
	if preset != "" {
		return s, false, nil
	}
	s.UpdatedAt = e.now().UTC()
	if err := e.store.PutSNO(ctx, s); err != nil {
		return nil, false, fmt.Errorf("store evaluation: %w", err)
	}
	e.Observe(s)
	e.notify(ctx, s, "updated")
	return s, true, nil
}

// Archive moves an SNO out of the reference population. Archiving an archived SNO changes nothing.
func (e *Engine) Archive(ctx context.Context, project, id string) (*cns.SNO, error) {
	s, err := e.store.GetSNO(ctx, project, id)
	if err != nil {
		return nil, err
	}
	if s.Status == cns.StatusArchived {
		return s, nil
	}
	s.Status = cns.StatusArchived
	s.UpdatedAt = e.now().UTC()
	if err := e.store.PutSNO(ctx, s); err != nil {
		return nil, fmt.Errorf("store archive: %w", err)
	}
	e.Observe(s)
	e.notify(ctx, s, "archived")
	return s, nil
}
