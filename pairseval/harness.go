package pairseval

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"time"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/critic"
	"github.com/cns-dev/cns/engine"
	"github.com/cns-dev/cns/relation"
	"github.com/cns-dev/cns/store/bolt"
	"github.com/cns-dev/cns/synthesis"
)

// Candidate is a pair the evidence index proposed (E > 0) with the parts of C, so C can be recomputed
// for any λ and μ without running the engine again.
type Candidate struct {
	A, B  string // dataset keys, A < B
	Gold  bool
	Geo   float64 // (1 − cos(Hᵢ,Hⱼ))/2·Tᵢ·Tⱼ
	Kappa float64 // NLI contradiction of the hypotheses
	Eps   float64 // engagement of the shared evidence
	E     float64 // entanglement
}

// C is the chirality under λ and μ.
func (c Candidate) C(lambda, mu float64) float64 {
	return math.Min(1, math.Max(0, c.Geo+lambda*c.Kappa*((1-mu)+mu*c.Eps)))
}

// Run is what one dataset produced.
type Run struct {
	Dataset    string
	Narratives int
	Admitted   int // ACTIVE after the critics (only those take part in pair search)
	Gold       int // gold pairs in the dataset
	Candidates []Candidate
	// DiscoveryTime is the total time of the incremental discoveries (index lookups, loads, scoring).
	DiscoveryTime time.Duration
	Elapsed       time.Duration
}

// Options are the service parts the harness runs with.
type Options struct {
	Embedder cns.Embedder
	NLI      cns.NLI
	Critic   critic.Config
	MinTrust float64
	// Dir holds the throwaway store.
	Dir string
	// Progress, if set, is called every 100 narratives.
	Progress func(done, total int)
}

// Collect submits every narrative in order through the engine (Build, CompleteJob, Observe, as the
// worker does) and, after each admission, discovers the new SNO's pairs from the evidence index with no
// threshold, so every candidate is seen exactly once (when the later of its two SNOs arrives).
func Collect(ctx context.Context, ds *Dataset, o Options) (*Run, error) {
	start := time.Now()
	st, err := bolt.Open(filepath.Join(o.Dir, "cns.db"))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	limits := cns.DefaultLimits()
	eng, err := engine.New(engine.Config{Limits: limits, Critic: o.Critic, MinTrust: o.MinTrust}, st, o.Embedder, o.NLI)
	if err != nil {
		return nil, err
	}
	rc := relation.DefaultConfig()
	rc.MinChirality, rc.MinEntanglement = 0, 0
	err = eng.EnableLoop(engine.LoopConfig{Relation: rc, MaxCandidates: math.MaxInt32, AcceptTrust: 1, RejectTrust: 0}, st, o.NLI, synthesis.Builtin{})
	if err != nil {
		return nil, err
	}
	run := &Run{Dataset: ds.Name, Narratives: len(ds.Narratives), Gold: len(ds.Gold)}
	const project = "eval"
	keyOf := map[string]string{}
	snos := map[string]*cns.SNO{}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, n := range ds.Narratives {
		if o.Progress != nil && i > 0 && i%100 == 0 {
			o.Progress(i, len(ds.Narratives))
		}
		in := n.Input
		job := &cns.Job{ID: fmt.Sprintf("job_%07d", i), Project: project, Kind: cns.JobSubmitNarrative, State: cns.JobRunning,
			Narrative: &in, CreatedAt: base.Add(time.Duration(i) * time.Second)}
		if _, _, err := st.CreateJob(ctx, job); err != nil {
			return nil, fmt.Errorf("%s: create job: %w", n.Key, err)
		}
		sno, err := eng.Build(ctx, job)
		if err != nil {
			return nil, fmt.Errorf("%s: build: %w", n.Key, err)
		}
		job.State = cns.JobSucceeded
		if err := st.CompleteJob(ctx, job, sno); err != nil {
			return nil, fmt.Errorf("%s: store: %w", n.Key, err)
		}
		eng.Observe(sno)
		keyOf[sno.ID], snos[sno.ID] = n.Key, sno
		if sno.Status != cns.StatusActive {
			continue
		}
		run.Admitted++
		t0 := time.Now()
		pairs, _, err := eng.FindPairs(ctx, engine.PairQuery{Project: project, SNOID: sno.ID, Limit: math.MaxInt32})
		run.DiscoveryTime += time.Since(t0)
		if err != nil {
			return nil, fmt.Errorf("%s: discover: %w", n.Key, err)
		}
		for _, p := range pairs {
			a, b := snos[p.A], snos[p.B]
			k := orderKeys(keyOf[p.A], keyOf[p.B])
			run.Candidates = append(run.Candidates, Candidate{
				A: k[0], B: k[1], Gold: ds.Gold[k],
				Geo:   relation.ChiralityOf(a, b, 0, 1, 0, 0), // λ = 0 leaves the geometric term
				Kappa: p.Contradiction, Eps: p.EvidenceEngagement, E: p.Entanglement,
			})
		}
	}
	sort.Slice(run.Candidates, func(i, j int) bool {
		if run.Candidates[i].A != run.Candidates[j].A {
			return run.Candidates[i].A < run.Candidates[j].A
		}
		return run.Candidates[i].B < run.Candidates[j].B
	})
	run.Elapsed = time.Since(start)
	return run, nil
}

// Params are the calibrated parameters.
type Params struct {
	Lambda, Mu                    float64
	MinChirality, MinEntanglement float64
}

// Score is the quality of the discovered pairs under Params.
type Score struct {
	Kept, TruePositives, Gold   int
	Precision, Recall, F1       float64
	F05                         float64 // F-measure with β = 0.5: precision weighted twice as much as recall
	P10                         float64 // precision of the 10 best kept pairs (by potential); fewer count as misses
	AP                          float64 // average precision of the whole candidate ranking (thresholds ignored)
	CandidateGold, CandidateAll int     // gold pairs and all pairs among the candidates (E > 0, both ACTIVE)
}

type ranked struct {
	c         Candidate
	chir, pot float64
}

func (r *Run) rank(lambda, mu float64) []ranked {
	out := make([]ranked, len(r.Candidates))
	for i, c := range r.Candidates {
		ch := c.C(lambda, mu)
		out[i] = ranked{c, ch, relation.Potential(ch, c.E)}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].pot > out[j].pot })
	return out
}

// Evaluate scores the run under p.
func (r *Run) Evaluate(p Params) Score {
	s := Score{Gold: r.Gold, CandidateAll: len(r.Candidates)}
	rk := r.rank(p.Lambda, p.Mu)
	hits := 0
	for i, x := range rk {
		if x.c.Gold {
			s.CandidateGold++
			hits++
			s.AP += float64(hits) / float64(i+1)
		}
	}
	if r.Gold > 0 {
		s.AP /= float64(r.Gold)
	}
	top := 0
	for _, x := range rk {
		if x.chir < p.MinChirality || x.c.E < p.MinEntanglement {
			continue
		}
		s.Kept++
		if x.c.Gold {
			s.TruePositives++
			if s.Kept <= 10 {
				top++
			}
		}
	}
	s.P10 = float64(top) / 10
	if s.Kept > 0 {
		s.Precision = float64(s.TruePositives) / float64(s.Kept)
	}
	if r.Gold > 0 {
		s.Recall = float64(s.TruePositives) / float64(r.Gold)
	}
	if s.Precision+s.Recall > 0 {
		s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
		s.F05 = 1.25 * s.Precision * s.Recall / (0.25*s.Precision + s.Recall)
	}
	return s
}

// Grids searched by Calibrate.
var (
	LambdaGrid = []float64{0.25, 0.5, 0.75, 1}
	MuGrid     = []float64{0, 0.25, 0.5, 0.75, 1}
)

// Calibrate picks λ and μ by the average precision of the candidate ranking, then the thresholds by
// F₀.₅ of the kept pairs (ties: higher precision, then lower thresholds), all on r (a train split).
// F₀.₅ rather than F1 because kept pairs are synthesized automatically: a false pair costs a synthesis,
// a missed one can still be found on demand with lower thresholds.
func Calibrate(r *Run) (Params, Score) {
	best, bestAP := Params{}, -1.0
	for _, l := range LambdaGrid {
		for _, m := range MuGrid {
			if ap := r.Evaluate(Params{Lambda: l, Mu: m}).AP; ap > bestAP+1e-12 {
				best, bestAP = Params{Lambda: l, Mu: m}, ap
			}
		}
	}
	var bestScore Score
	first := true
	for e := 0; e <= 20; e++ {
		for c := 0; c <= 40; c++ {
			p := best
			p.MinEntanglement, p.MinChirality = float64(e)*0.05, float64(c)*0.025
			s := r.Evaluate(p)
			if first || s.F05 > bestScore.F05+1e-12 || (math.Abs(s.F05-bestScore.F05) <= 1e-12 && s.Precision > bestScore.Precision+1e-12) {
				bestScore, first = s, false
				best.MinChirality, best.MinEntanglement = p.MinChirality, p.MinEntanglement
			}
		}
	}
	return best, bestScore
}
