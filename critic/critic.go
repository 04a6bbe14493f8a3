// Package critic holds the transparent critics of CNS 2.0 and the trust score built from them.
//
// Three critics judge a Structured Narrative Object independently:
//
//   - grounding: is every claim of the reasoning graph entailed by the evidence (NLI)?
//   - logic: is the reasoning graph healthy: connected to its root, free of self-contradiction, not
//     sprawling?
//   - novelty: how far is the hypothesis from the SNOs already trusted, less a penalty for complexity?
//
// They also answer the adversarial narratives of the CNS threat model, each only on its own pattern so
// honest narratives score as before:
//
//   - narrative flooding (many near-copies of one narrative to fake a consensus): the novelty critic
//     clusters near-duplicates by source; a flooding SNO gets novelty 0 and a trust cap;
//   - forged evidence: citations with nothing readable behind them ground nothing and are named; an item
//     contradicting the claim it is cited for is named, grounds nothing and costs that claim;
//   - fallacy injection: cycles are refused at input; a claim that merely restates what it argues for is
//     named by the logic critic and costs coherence.
//
// Each critic returns a cns.CriticScore whose Explanation names the numbers behind the score, so a user
// can see why an SNO got its trust without reading this code. The trust score is the weighted mean of the
// three scores; the weights come from a Config or a named preset. Critics never modify the SNO: the caller
// stores the returned trust and scores.
package critic

import (
	"context"
	"fmt"
	"math"

	"github.com/cns-dev/cns"
)

// Critic names, as stored in cns.CriticScore.Name.
const (
	NameGrounding = "grounding"
	NameLogic     = "logic"
	NameNovelty   = "novelty"
)

// Weights are the relative weights of the three critics in the trust score. They need not sum to 1: trust
// divides by their sum.
type Weights struct {
	Grounding, Logic, Novelty float64
}

// Preset names.
const (
	PresetDefault      = "default"
	PresetExploration  = "exploration"
	PresetVerification = "verification"
)

// presets are the named weightings: "exploration" rewards new ideas over rigour, "verification" the
// opposite, "default" balances them with a slight lean to grounding.
var presets = map[string]Weights{
	PresetDefault:      {Grounding: 0.4, Logic: 0.3, Novelty: 0.3},
	PresetExploration:  {Grounding: 0.1, Logic: 0.1, Novelty: 0.8},
	PresetVerification: {Grounding: 0.45, Logic: 0.45, Novelty: 0.1},
}

// PresetNames returns the names Preset accepts.
func PresetNames() []string {
	return []string{PresetDefault, PresetExploration, PresetVerification}
}

// Preset returns the named weights; an unknown name is EINVALID.
func Preset(name string) (Weights, error) {
	w, ok := presets[name]
	if !ok {
		return Weights{}, cns.Errorf(cns.EINVALID, "unknown critic weight preset %q (want one of %v)", name, PresetNames())
	}
	return w, nil
}

// Validate checks that every weight is finite and non-negative and that they do not sum to zero (trust
// divides by the sum). Every problem is reported at once as EINVALID.
func (w Weights) Validate() error {
	var v cns.Violations
	w.check(&v, "")
	return v.Err("invalid critic weights")
}

func (w Weights) check(v *cns.Violations, prefix string) {
	named := []struct {
		name string
		val  float64
	}{{"grounding", w.Grounding}, {"logic", w.Logic}, {"novelty", w.Novelty}}
	ok := true
	for _, n := range named {
		if !finite(n.val) || n.val < 0 {
			v.Add(prefix+n.name, "must be a finite number ≥ 0, got %v", n.val)
			ok = false
		}
	}
	// The sum is only meaningful once each weight is; reporting it for a NaN weight would say nothing new.
	if ok {
		if s := w.sum(); s <= 0 || !finite(s) {
			v.Add(prefix+"sum", "weights must sum to a finite number > 0, got %v", s)
		}
	}
}

func (w Weights) sum() float64 { return w.Grounding + w.Logic + w.Novelty }

// Config parameterises the critics.
type Config struct {
	Weights Weights
	// NoveltyAlpha weighs the distance of the hypothesis to its nearest reference SNO.
	NoveltyAlpha float64
	// NoveltyBeta weighs the complexity penalty (edges per claim).
	NoveltyBeta float64
	// NoveltyK is how many reference neighbours the novelty critic looks at.
	NoveltyK int
	// TrustFloor: only reference SNOs with trust ≥ TrustFloor count as "existing knowledge"; being far from
	// a poorly trusted SNO is no evidence of novelty, and being close to one should not punish a better SNO.
	TrustFloor float64
	// MaxBranching is the out-degree a claim may have before the logic critic's parsimony term drops.
	MaxBranching int

	// Adversarial narratives (the CNS threat model). Each check is off when its threshold is 0, so a
	// Config written before they existed keeps its behaviour; DefaultConfig turns all three on.

	// FloodSimilarity is the cosine of two hypothesis embeddings at or above which the novelty critic
	// calls them near-duplicates.
	FloodSimilarity float64
	// FloodCluster is the size of a cluster of near-duplicates from one source (the SNO being judged
	// included) at which the SNO is flagged as flooding: its novelty is 0 and its trust at most
	// FloodTrustCap. 0 turns flood detection off; otherwise it must be at least 2.
	FloodCluster int
	// FloodTrustCap is the highest trust a flooding SNO can get. Keep it below the admission threshold
	// so a flood is REJECTED and never takes part in pair search.
	FloodTrustCap float64
	// MiscitationContradiction is the NLI contradiction probability at or above which an evidence item
	// contradicts a claim it is cited for (SupportsClaimIDs): the grounding critic names it, gives it no
	// grounding weight and takes its contradiction off that claim's score. 0 turns the check off.
	MiscitationContradiction float64
	// RestatementSimilarity is the content-word overlap (Jaccard) at or above which a claim merely
	// restates a claim it argues for, which the logic critic counts as self-supporting reasoning. 0 turns
	// the check off. The default 0.85 leaves room for the built-in synthesizer, whose "complementary"
	// resolution claim shares 0.76–0.80 of its words with the hypothesis it supports (more with long
	// parent hypotheses), while restatements made to pad an argument reach 0.9–1.
	RestatementSimilarity float64
}

// DefaultConfig returns the configuration of CNS 2.0: default weights, α = 0.7, β = 0.3, five
// neighbours, no trust floor, branching up to five; flooding from the third near-duplicate (cosine ≥
// 0.95) of one source, with trust capped at 0.2; miscitation from a contradiction of 0.5; restatement
// from a word overlap of 0.85.
func DefaultConfig() Config {
	return Config{
		Weights:                  presets[PresetDefault],
		NoveltyAlpha:             0.7,
		NoveltyBeta:              0.3,
		NoveltyK:                 5,
		TrustFloor:               0,
		MaxBranching:             5,
		FloodSimilarity:          0.95,
		FloodCluster:             3,
		FloodTrustCap:            0.2,
		MiscitationContradiction: 0.5,
		RestatementSimilarity:    0.85,
	}
}

// Validate reports every problem of the configuration at once as EINVALID with field violations.
func (c Config) Validate() error {
	var v cns.Violations
	c.Weights.check(&v, "weights.")
	unit := func(field string, x float64) {
		if !finite(x) || x < 0 || x > 1 {
			v.Add(field, "must be in [0,1], got %v", x)
		}
	}
	// α and β are bounded by 1 so each term of the novelty score stays in [0,1] before clipping.
	unit("novelty_alpha", c.NoveltyAlpha)
	unit("novelty_beta", c.NoveltyBeta)
	unit("trust_floor", c.TrustFloor)
	if c.NoveltyK < 1 {
		v.Add("novelty_k", "must be ≥ 1, got %d", c.NoveltyK)
	}
	if c.MaxBranching < 1 {
		v.Add("max_branching", "must be ≥ 1, got %d", c.MaxBranching)
	}
	unit("flood_similarity", c.FloodSimilarity)
	unit("flood_trust_cap", c.FloodTrustCap)
	unit("miscitation_contradiction", c.MiscitationContradiction)
	unit("restatement_similarity", c.RestatementSimilarity)
	switch {
	case c.FloodCluster < 0 || c.FloodCluster == 1:
		// A cluster of one is every SNO: that would flag the whole population.
		v.Add("flood_cluster", "must be 0 (off) or ≥ 2, got %d", c.FloodCluster)
	case c.FloodCluster > 0 && c.FloodSimilarity == 0:
		v.Add("flood_similarity", "must be > 0 when flood_cluster is on: every pair of SNOs would be a near-duplicate")
	}
	return v.Err("invalid critic configuration")
}

// Reference is the population an SNO is judged against for novelty.
type Reference struct {
	// Index holds the embeddings of the project's ACTIVE SNOs; nil means an empty population.
	Index cns.VectorIndex
	// TrustOf returns the current trust of an indexed SNO. A neighbour it does not know (false) is skipped
	// as a stale index entry. Nil means every indexed SNO counts, whatever Config.TrustFloor says: the
	// caller has then already chosen the population.
	TrustOf func(id string) (float64, bool)
	// SourceOf returns the source key (SourceKey) of an indexed SNO, for flood detection. Nil turns flood
	// detection off: without sources, near-duplicates cannot be told apart from corroboration.
	SourceOf func(id string) (string, bool)
}

// Evaluator runs the three critics and combines them into a trust score. It is immutable and safe for
// concurrent use as long as its NLI is.
type Evaluator struct {
	cfg Config
	nli cns.NLI
}

// NewEvaluator validates cfg and returns an Evaluator using nli for the grounding critic.
func NewEvaluator(cfg Config, nli cns.NLI) (*Evaluator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if nli == nil {
		return nil, cns.Errorf(cns.EINVALID, "critic: no NLI backend")
	}
	return &Evaluator{cfg: cfg, nli: nli}, nil
}

// Config returns the evaluator's configuration.
func (e *Evaluator) Config() Config { return e.cfg }

// WithWeights returns a copy of the evaluator that uses w, e.g. a preset chosen per request. It cannot
// return an error, so it does not validate w: check it with w.Validate first (presets are valid); an
// invalid w makes Evaluate fail with EINVALID rather than produce a meaningless trust.
func (e *Evaluator) WithWeights(w Weights) *Evaluator {
	c := *e
	c.cfg.Weights = w
	return &c
}

// Evaluate runs the grounding, logic and novelty critics on sno, in that order, and returns the trust
// T = Σ wᵢ·sᵢ / Σ wᵢ with the three scores (each carrying its weight). NLI calls run one after another,
// or all in one call when the NLI implements BatchNLI.
// The error is non-nil only when the NLI or the index fails, ctx ends, or the input cannot be judged at
// all (nil SNO, invalid weights, an SNO without embedding facing a non-empty population: EINVALID); it
// names the step that failed.
func (e *Evaluator) Evaluate(ctx context.Context, sno *cns.SNO, ref Reference) (trust float64, scores []cns.CriticScore, err error) {
	if sno == nil {
		return 0, nil, cns.Errorf(cns.EINVALID, "critic: nil SNO")
	}
	if err := e.cfg.Weights.Validate(); err != nil {
		return 0, nil, err
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, fmt.Errorf("critic: %w", err)
	}
	g, err := e.Grounding(ctx, sno)
	if err != nil {
		return 0, nil, err
	}
	l := e.Logic(sno)
	n, flooding, err := e.novelty(ctx, sno, ref)
	if err != nil {
		return 0, nil, err
	}
	w := e.cfg.Weights
	g.Weight, l.Weight, n.Weight = w.Grounding, w.Logic, w.Novelty
	scores = []cns.CriticScore{g, l, n}
	var num float64
	for _, s := range scores {
		num += s.Weight * s.Score
	}
	// Each score is in [0,1], so the weighted mean is too; clamp only against rounding.
	trust = clamp01(num / w.sum())
	if flooding {
		// Novelty 0 alone would leave a flood with good grounding and logic well above the admission
		// threshold: repeating one narrative must not buy trust, so the cap applies to the total.
		trust = min(trust, e.cfg.FloodTrustCap)
	}
	return trust, scores, nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// clamp01 clips x to [0,1]; NaN becomes 0 so a broken input can never raise a score.
func clamp01(x float64) float64 {
	switch {
	case x != x || x < 0:
		return 0
	case x > 1:
		return 1
	}
	return x
}
