// Package relation measures how two SNOs relate: chirality (they disagree), evidential entanglement (they
// argue over the same evidence), the potential that ranks a pair, and the conflict points between their
// claims. It holds no state and no storage: pair discovery (engine) decides which SNOs to compare, this
// package says how much they oppose each other and why.
//
// Chirality is
//
//	C = clip( (1 − cos(Hᵢ,Hⱼ))/2 · Tᵢ·Tⱼ  +  λ·κ(Hᵢ,Hⱼ)·((1 − μ) + μ·ε), 0, 1 )
//
// where κ is the NLI contradiction probability between the two hypotheses (the larger of the two
// directions), λ is Config.NLIWeight, and ε is the engagement of the shared evidence with both hypotheses,
// weighted by μ (Config.EngagementWeight). The embedding term alone rarely fires: sentence embeddings of a
// claim and of its negation are close (cos ≈ 0.8 gives at most 0.1 before the trust product), so the NLI
// term carries most of the signal. A claim and its negation always contradict each other, though, even
// when the evidence they cite says nothing about either; ε discounts such pairs: for each hypothesis, the
// largest 1 − P(neutral) of any sentence of the shared evidence towards it, and ε is the smaller of the
// two. Evidence without readable content cannot be judged and leaves ε at 1. docs/pairs.md has the
// measured calibration. Entanglement is the Jaccard index of the canonical evidence id sets, and the
// potential
//
//	P = √(C·E)·(1 + 0.2·(1 − |C − E|))
//
// favours pairs that are both chiral and entangled, and balanced between the two.
package relation

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/cns-dev/cns"
)

// Config parameterises the metrics and the thresholds of a chiral pair.
type Config struct {
	// MinChirality and MinEntanglement: a pair is kept when C ≥ MinChirality and E ≥ MinEntanglement.
	MinChirality    float64
	MinEntanglement float64
	// NLIWeight is λ, the weight of the hypotheses' NLI contradiction in C.
	NLIWeight float64
	// EngagementWeight is μ: how much the NLI term is discounted when the shared evidence does not
	// engage with both hypotheses (0: not at all).
	EngagementWeight float64
	// ConflictThreshold is the contradiction probability from which two claims are a conflict point.
	ConflictThreshold float64
	// MaxConflictPoints bounds the conflict points kept per pair (the strongest first).
	MaxConflictPoints int
}

// DefaultConfig returns the calibrated defaults (docs/pairs.md: SciFact train).
func DefaultConfig() Config {
	return Config{MinChirality: 0.175, MinEntanglement: 0.55, NLIWeight: 0.75, EngagementWeight: 1, ConflictThreshold: 0.5, MaxConflictPoints: 5}
}

// Validate reports every problem at once as EINVALID.
func (c Config) Validate() error {
	var v cns.Violations
	for _, f := range []struct {
		name string
		x    float64
	}{{"min_chirality", c.MinChirality}, {"min_entanglement", c.MinEntanglement}, {"nli_weight", c.NLIWeight}, {"engagement_weight", c.EngagementWeight}, {"conflict_threshold", c.ConflictThreshold}} {
		if math.IsNaN(f.x) || f.x < 0 || f.x > 1 {
			v.Add(f.name, "must be in [0,1], got %v", f.x)
		}
	}
	if c.MaxConflictPoints < 0 {
		v.Add("max_conflict_points", "must be ≥ 0, got %d", c.MaxConflictPoints)
	}
	return v.Err("invalid pair configuration")
}

// maxClaimsCompared bounds the claims of each side looked at for conflict points (the root first, then
// in graph order): conflict points cost two NLI calls per claim pair, and a model NLI takes milliseconds
// per call.
const maxClaimsCompared = 16

// Entanglement returns the Jaccard index of the two evidence id sets and the shared ids, sorted. Empty
// ids are ignored; two SNOs without evidence are not entangled (0).
func Entanglement(a, b []cns.Evidence) (float64, []string) {
	as, bs := idSet(a), idSet(b)
	var shared []string
	for id := range as {
		if _, ok := bs[id]; ok {
			shared = append(shared, id)
		}
	}
	union := len(as) + len(bs) - len(shared)
	if union == 0 {
		return 0, nil
	}
	sort.Strings(shared)
	return float64(len(shared)) / float64(union), shared
}

func idSet(ev []cns.Evidence) map[string]struct{} {
	m := make(map[string]struct{}, len(ev))
	for _, e := range ev {
		if e.ID != "" {
			m[e.ID] = struct{}{}
		}
	}
	return m
}

// Potential ranks a pair: √(C·E)·(1 + 0.2·(1 − |C − E|)), in [0, 1.2].
func Potential(c, e float64) float64 {
	c, e = clamp01(c), clamp01(e)
	return math.Sqrt(c*e) * (1 + 0.2*(1-math.Abs(c-e)))
}

// Scorer computes the metrics with an NLI backend. Safe for concurrent use when the NLI is.
type Scorer struct {
	cfg Config
	nli cns.NLI
}

// NewScorer validates cfg and returns a scorer.
func NewScorer(cfg Config, nli cns.NLI) (*Scorer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if nli == nil {
		return nil, cns.Errorf(cns.EINVALID, "relation: no NLI backend")
	}
	return &Scorer{cfg: cfg, nli: nli}, nil
}

// Config returns the scorer's configuration.
func (s *Scorer) Config() Config { return s.cfg }

// contradiction is the larger contradiction probability of the two directions: NLI is asymmetric, and
// "X reduces Y" contradicts "X has no effect on Y" more clearly one way than the other.
func (s *Scorer) contradiction(ctx context.Context, x, y string) (float64, error) {
	if strings.TrimSpace(x) == "" || strings.TrimSpace(y) == "" {
		return 0, nil
	}
	p, err := s.nli.Classify(ctx, x, y)
	if err != nil {
		return 0, err
	}
	q, err := s.nli.Classify(ctx, y, x)
	if err != nil {
		return 0, err
	}
	return clamp01(max(p.Contradict, q.Contradict)), nil
}

// Chirality returns C for the two SNOs given their shared evidence ids, with κ and ε as it used them.
func (s *Scorer) Chirality(ctx context.Context, a, b *cns.SNO, shared []string) (c, kappa, eps float64, err error) {
	kappa, err = s.contradiction(ctx, a.Hypothesis, b.Hypothesis)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("chirality of %s and %s: nli: %w", a.ID, b.ID, err)
	}
	eps = 1
	if s.cfg.EngagementWeight > 0 && s.cfg.NLIWeight > 0 {
		if eps, err = s.Engagement(ctx, a, b, shared); err != nil {
			return 0, 0, 0, fmt.Errorf("chirality of %s and %s: %w", a.ID, b.ID, err)
		}
	}
	return ChiralityOf(a, b, kappa, eps, s.cfg.NLIWeight, s.cfg.EngagementWeight), kappa, eps, nil
}

// ChiralityOf is C from its parts: the embeddings and trust of a and b, κ, ε, λ and μ.
func ChiralityOf(a, b *cns.SNO, kappa, eps, lambda, mu float64) float64 {
	cos := cns.Cosine(a.Embedding, b.Embedding)
	geometric := (1 - max(-1, min(1, cos))) / 2 * clamp01(a.Trust) * clamp01(b.Trust)
	return clamp01(geometric + lambda*kappa*((1-mu)+mu*clamp01(eps)))
}

// Engagement returns ε: how much the shared evidence bears on both hypotheses (see the package comment).
// Content is taken from a's copy of each shared item, or b's when a's is empty.
func (s *Scorer) Engagement(ctx context.Context, a, b *cns.SNO, shared []string) (float64, error) {
	var sentences []string
	contentOf := func(ev []cns.Evidence, id string) string {
		for _, e := range ev {
			if e.ID == id {
				return e.Content
			}
		}
		return ""
	}
	for _, id := range shared {
		c := contentOf(a.Evidence, id)
		if strings.TrimSpace(c) == "" {
			c = contentOf(b.Evidence, id)
		}
		sentences = append(sentences, Sentences(c, maxEngagementSentences-len(sentences))...)
		if len(sentences) >= maxEngagementSentences {
			break
		}
	}
	if len(sentences) == 0 {
		return 1, nil
	}
	eps := 1.0
	for _, h := range []string{a.Hypothesis, b.Hypothesis} {
		if strings.TrimSpace(h) == "" {
			return 0, nil
		}
		best := 0.0
		for _, sent := range sentences {
			p, err := s.nli.Classify(ctx, sent, h)
			if cns.ErrorCode(err) == cns.EINVALID {
				continue // a "sentence" without words
			}
			if err != nil {
				return 0, fmt.Errorf("engagement: nli: %w", err)
			}
			best = max(best, clamp01(p.Entail+p.Contradict))
		}
		eps = min(eps, best)
	}
	return eps, nil
}

// maxEngagementSentences bounds the NLI calls of ε (two per sentence).
const maxEngagementSentences = 48

// Sentences splits text into at most max sentences: a sentence ends at ., ! or ? followed by a space and
// an upper-case letter or digit, or at a line break. It is deliberately simple: ε only needs units short
// enough for the NLI to judge one statement at a time.
func Sentences(text string, max int) []string {
	var out []string
	rs := []rune(text)
	start := 0
	flush := func(end int) {
		if t := strings.TrimSpace(string(rs[start:end])); t != "" && len(out) < max {
			out = append(out, t)
		}
		start = end
	}
	for i := 0; i < len(rs) && len(out) < max; i++ {
		switch r := rs[i]; {
		case r == '\n':
			flush(i + 1)
		case (r == '.' || r == '!' || r == '?') && i+2 < len(rs) && unicode.IsSpace(rs[i+1]) &&
			(unicode.IsUpper(rs[i+2]) || unicode.IsDigit(rs[i+2])):
			flush(i + 1)
		}
	}
	if len(out) < max {
		flush(len(rs))
	}
	return out
}

// ConflictPoints returns the claim pairs (one claim of a, one of b, hypotheses included) whose
// contradiction probability reaches ConflictThreshold, strongest first, at most MaxConflictPoints.
func (s *Scorer) ConflictPoints(ctx context.Context, a, b *cns.SNO) ([]cns.ConflictPoint, error) {
	if s.cfg.MaxConflictPoints == 0 {
		return nil, nil
	}
	ca, cb := compared(a), compared(b)
	var out []cns.ConflictPoint
	for _, x := range ca {
		for _, y := range cb {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("conflict points: %w", err)
			}
			k, err := s.contradiction(ctx, x.Text, y.Text)
			if err != nil {
				return nil, fmt.Errorf("conflict points of %s/%s and %s/%s: nli: %w", a.ID, x.ID, b.ID, y.ID, err)
			}
			if k >= s.cfg.ConflictThreshold && k > 0 {
				out = append(out, cns.ConflictPoint{ClaimA: x.ID, ClaimB: y.ID, TextA: x.Text, TextB: y.Text, Contradiction: k})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Contradiction > out[j].Contradiction })
	if len(out) > s.cfg.MaxConflictPoints {
		out = out[:s.cfg.MaxConflictPoints]
	}
	return out, nil
}

// compared returns the claims of an SNO looked at for conflicts: the root (with the hypothesis as its
// text when empty) and then the others in graph order, at most maxClaimsCompared.
func compared(s *cns.SNO) []cns.Claim {
	out := []cns.Claim{{ID: cns.RootClaimID, Text: s.Hypothesis}}
	for _, c := range s.Graph.Claims {
		if len(out) == maxClaimsCompared {
			break
		}
		if c.ID == cns.RootClaimID {
			if strings.TrimSpace(c.Text) != "" {
				out[0].Text = c.Text
			}
			continue
		}
		out = append(out, c)
	}
	return out
}

// Measure computes the pair of a and b: E and the shared evidence, C and κ, the potential and, when
// conflicts is set, the conflict points. It does not apply the thresholds (see Keep).
func (s *Scorer) Measure(ctx context.Context, a, b *cns.SNO, conflicts bool) (cns.Pair, error) {
	if a.ID > b.ID {
		a, b = b, a
	}
	p := cns.Pair{Project: a.Project, A: a.ID, B: b.ID}
	p.Entanglement, p.SharedEvidenceIDs = Entanglement(a.Evidence, b.Evidence)
	var err error
	if p.Chirality, p.Contradiction, p.EvidenceEngagement, err = s.Chirality(ctx, a, b, p.SharedEvidenceIDs); err != nil {
		return cns.Pair{}, err
	}
	p.Potential = Potential(p.Chirality, p.Entanglement)
	if conflicts {
		if p.ConflictPoints, err = s.ConflictPoints(ctx, a, b); err != nil {
			return cns.Pair{}, err
		}
	}
	return p, nil
}

// Thresholds are the minimum C and E of a query; Keep uses the configured ones.
type Thresholds struct{ MinChirality, MinEntanglement float64 }

// Defaults returns the configured thresholds.
func (s *Scorer) Defaults() Thresholds {
	return Thresholds{MinChirality: s.cfg.MinChirality, MinEntanglement: s.cfg.MinEntanglement}
}

// Keep reports whether p passes th.
func (th Thresholds) Keep(p cns.Pair) bool {
	return p.Entanglement > 0 && p.Chirality >= th.MinChirality && p.Entanglement >= th.MinEntanglement
}

// Related reports whether one SNO descends directly from the other: a synthesis shares its parents'
// evidence by construction, and that is not a disagreement to resolve.
func Related(a, b *cns.SNO) bool {
	return slices.Contains(a.Lineage.Parents, b.ID) || slices.Contains(b.Lineage.Parents, a.ID)
}

func clamp01(x float64) float64 {
	switch {
	case x != x || x < 0:
		return 0
	case x > 1:
		return 1
	}
	return x
}
