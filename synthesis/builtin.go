// Package synthesis holds the implementations of the cns.Synthesizer port: Builtin, a deterministic,
// offline structured synthesizer, and LLM, a client of any OpenAI-compatible chat-completions endpoint
// (llama.cpp server, vLLM, Ollama, hosted APIs). Both turn a chiral pair into a candidate narrative; the
// engine embeds, scores and admits it.
package synthesis

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cns-dev/cns"
)

// Strategies.
const (
	StrategyDialectical   = "dialectical"
	StrategyEvidential    = "evidential"
	StrategyComplementary = "complementary"
	StrategyTranscendent  = "transcendent"
)

// Strategy selects the synthesis strategy from the pair's chirality and entanglement, as in the CNS 2.0
// guide: dialectical when both are high (C > 0.8, E > 0.7), evidential when the evidence is shared almost
// entirely and the conflict is real (E > 0.8, C > 0.5), complementary when the conflict is mild (C < 0.6),
// transcendent otherwise.
func Strategy(c, e float64) string {
	switch {
	case c > 0.8 && e > 0.7:
		return StrategyDialectical
	case e > 0.8 && c > 0.5:
		return StrategyEvidential
	case c < 0.6:
		return StrategyComplementary
	}
	return StrategyTranscendent
}

// BuiltinName is the generator name of the built-in synthesizer; its version changes whenever its output
// for the same pair would change, so pairs may be synthesized again by the new version.
const BuiltinName = "synthesis/builtin@1"

// Builtin is the deterministic structured synthesizer: no model, no network, the same output for the
// same pair. Its hypothesis states the reconciled position and the condition under which each parent's
// claim holds; its graph keeps each parent's hypothesis and strongest supporting claims and links the
// conflicting claims through resolution claims to the new root; its evidence is the union of the
// parents'. It is a scaffold a human or a model can improve, and its lineage says it is the built-in one.
type Builtin struct{}

var _ cns.Synthesizer = Builtin{}

// Name implements cns.Synthesizer.
func (Builtin) Name() string { return BuiltinName }

// maxQuote bounds how much of a parent's text the hypothesis quotes, so the synthesis stays within the
// hypothesis size limit whatever the parents' length.
const maxQuote = 400

// strongestKept is how many of each parent's strongest supporting claims are kept besides its hypothesis.
const strongestKept = 2

// Synthesize implements cns.Synthesizer.
func (Builtin) Synthesize(ctx context.Context, req cns.SynthesisRequest) (*cns.Synthesis, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("builtin synthesis: %w", err)
	}
	a, b := req.A, req.B
	if a == nil || b == nil {
		return nil, cns.Errorf(cns.EINVALID, "builtin synthesis needs two parents")
	}
	strategy := Strategy(req.Pair.Chirality, req.Pair.Entanglement)
	sideA, sideB := newSide("a", a), newSide("b", b)
	condA, condB := sideA.condition(b), sideB.condition(a)
	qa, qb := quote(a.Hypothesis), quote(b.Hypothesis)
	k := len(req.Pair.SharedEvidenceIDs)

	var h string
	switch strategy {
	case StrategyDialectical:
		verb := "decide"
		if k == 1 {
			verb = "decides"
		}
		h = fmt.Sprintf("Both %s and %s hold in part: the first where %s, the second where %s; the %s they share %s which applies.",
			qa, qb, condA, condB, sources(k), verb)
	case StrategyEvidential:
		h = fmt.Sprintf("The shared evidence (%s) supports %s where %s, and %s where %s.", sources(k), qa, condA, qb, condB)
	case StrategyComplementary:
		h = fmt.Sprintf("%s and %s are complementary: the first holds where %s, the second where %s.", capital(qa), qb, condA, condB)
	default:
		h = fmt.Sprintf("A wider position covers %s, which holds where %s, and %s, which holds where %s.", qa, condA, qb, condB)
	}

	g := cns.NewGraph(h)
	for _, s := range []*side{sideA, sideB} {
		if err := s.addClaims(&g); err != nil {
			return nil, err
		}
	}
	// One resolution claim per conflict point; without any, one for the two hypotheses.
	points := req.Pair.ConflictPoints
	if len(points) == 0 {
		points = []cns.ConflictPoint{{ClaimA: cns.RootClaimID, ClaimB: cns.RootClaimID, TextA: a.Hypothesis, TextB: b.Hypothesis}}
	}
	linked := map[string]bool{}
	var resolutions []string
	for i, cp := range points {
		ca, okA := sideA.ensure(&g, cp.ClaimA)
		cb, okB := sideB.ensure(&g, cp.ClaimB)
		if !okA || !okB {
			continue // a conflict point naming a claim the parent no longer has
		}
		r := fmt.Sprintf("r%d", i+1)
		text := fmt.Sprintf("The conflict between %s and %s resolves by conditions: the first holds where %s, the second where %s.",
			quote(textOf(a, cp.ClaimA)), quote(textOf(b, cp.ClaimB)), condA, condB)
		if err := g.AddClaim(cns.Claim{ID: r, Text: text}); err != nil {
			return nil, fmt.Errorf("builtin synthesis: %w", err)
		}
		resolutions = append(resolutions, r)
		strength := 1 - cp.Contradiction/2 // a sharper conflict leaves each side a weaker hold on the resolution
		for _, from := range []string{ca, cb} {
			if err := addEdge(&g, cns.Edge{From: from, To: r, Relation: cns.RelationSupports, Strength: strength}); err != nil {
				return nil, err
			}
			linked[from] = true
		}
		if err := addEdge(&g, cns.Edge{From: r, To: cns.RootClaimID, Relation: cns.RelationSupports, Strength: 1}); err != nil {
			return nil, err
		}
	}
	// Each parent's position reaches the new root, through a resolution claim when it has none yet.
	for _, root := range []string{sideA.id(cns.RootClaimID), sideB.id(cns.RootClaimID)} {
		if linked[root] {
			continue
		}
		to := cns.RootClaimID
		if len(resolutions) > 0 {
			to = resolutions[0]
		}
		if err := addEdge(&g, cns.Edge{From: root, To: to, Relation: cns.RelationSupports, Strength: 0.5}); err != nil {
			return nil, err
		}
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("builtin synthesis built an invalid graph (a bug): %v", err)
	}
	return &cns.Synthesis{
		Hypothesis: h,
		Graph:      g,
		Evidence:   unionEvidence(&g, sideA, sideB),
		Strategy:   strategy,
		Rationale: fmt.Sprintf("%s synthesis (C=%.2f, E=%.2f) of %s and %s: %d conflict point(s), %s shared",
			strategy, req.Pair.Chirality, req.Pair.Entanglement, a.ID, b.ID, len(req.Pair.ConflictPoints), sources(k)),
	}, nil
}

func addEdge(g *cns.Graph, e cns.Edge) error {
	for _, x := range g.Edges {
		if x.From == e.From && x.To == e.To {
			return nil // already linked
		}
	}
	if err := g.AddEdge(e); err != nil {
		return fmt.Errorf("builtin synthesis: %w", err)
	}
	return nil
}

// side is one parent as the synthesis sees it: which of its claims are kept, under which ids.
type side struct {
	prefix string
	sno    *cns.SNO
	kept   map[string]bool // parent claim id → kept
}

func newSide(prefix string, s *cns.SNO) *side {
	sd := &side{prefix: prefix, sno: s, kept: map[string]bool{cns.RootClaimID: true}}
	for _, c := range sd.strongest() {
		sd.kept[c.ID] = true
	}
	return sd
}

func (s *side) id(parentID string) string { return s.prefix + "." + parentID }

// strongest returns the parent's strongest supporting claims: direct premises of its hypothesis through a
// positive relation, by edge strength and then by how many evidence items back them.
func (s *side) strongest() []cns.Claim {
	backing := map[string]int{}
	for _, e := range s.sno.Evidence {
		for _, id := range e.SupportsClaimIDs {
			backing[id]++
		}
	}
	type scored struct {
		c        cns.Claim
		strength float64
		n        int
	}
	var cs []scored
	for _, e := range s.sno.Graph.Edges {
		if e.To != cns.RootClaimID || e.Relation.Negative() || e.From == cns.RootClaimID {
			continue
		}
		if c, ok := s.sno.Graph.Claim(e.From); ok && strings.TrimSpace(c.Text) != "" {
			cs = append(cs, scored{c, e.Strength, backing[c.ID]})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].strength != cs[j].strength {
			return cs[i].strength > cs[j].strength
		}
		if cs[i].n != cs[j].n {
			return cs[i].n > cs[j].n
		}
		return cs[i].c.ID < cs[j].c.ID
	})
	out := make([]cns.Claim, 0, strongestKept)
	for _, x := range cs[:min(len(cs), strongestKept)] {
		out = append(out, x.c)
	}
	return out
}

// condition is the clause under which the parent's hypothesis holds: its strongest premise, or, for a
// parent without premises, the evidence only it cites.
func (s *side) condition(other *cns.SNO) string {
	if st := s.strongest(); len(st) > 0 {
		return clause(st[0].Text)
	}
	theirs := cns.EvidenceIDs(other.Evidence)
	for _, e := range s.sno.Evidence {
		if _, shared := theirs[e.ID]; !shared && e.ID != "" {
			return "the evidence only it cites applies (" + e.ID + ")"
		}
	}
	return "its reading of the shared evidence is right"
}

// addClaims adds the kept claims and their edges among themselves.
func (s *side) addClaims(g *cns.Graph) error {
	for _, c := range s.sno.Graph.Claims {
		if !s.kept[c.ID] {
			continue
		}
		text := c.Text
		if c.ID == cns.RootClaimID && strings.TrimSpace(text) == "" {
			text = s.sno.Hypothesis
		}
		if err := g.AddClaim(cns.Claim{ID: s.id(c.ID), Text: text}); err != nil {
			return fmt.Errorf("builtin synthesis: %w", err)
		}
	}
	if _, ok := g.Claim(s.id(cns.RootClaimID)); !ok {
		if err := g.AddClaim(cns.Claim{ID: s.id(cns.RootClaimID), Text: s.sno.Hypothesis}); err != nil {
			return fmt.Errorf("builtin synthesis: %w", err)
		}
	}
	for _, e := range s.sno.Graph.Edges {
		if s.kept[e.From] && s.kept[e.To] && !e.Relation.Negative() {
			if err := addEdge(g, cns.Edge{From: s.id(e.From), To: s.id(e.To), Relation: e.Relation, Strength: e.Strength}); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensure makes sure a conflict point's claim is in the graph (conflicting claims are kept even when they
// are not among the strongest) and returns its id; false when the parent has no such claim.
func (s *side) ensure(g *cns.Graph, parentID string) (string, bool) {
	id := s.id(parentID)
	if _, ok := g.Claim(id); ok {
		return id, true
	}
	c, ok := s.sno.Graph.Claim(parentID)
	if !ok || strings.TrimSpace(c.Text) == "" {
		return "", false
	}
	s.kept[parentID] = true
	if err := g.AddClaim(cns.Claim{ID: id, Text: c.Text}); err != nil {
		return "", false
	}
	return id, true
}

func textOf(s *cns.SNO, claimID string) string {
	if claimID == cns.RootClaimID {
		return s.Hypothesis
	}
	if c, ok := s.Graph.Claim(claimID); ok {
		return c.Text
	}
	return claimID
}

// unionEvidence is the union of the parents' evidence (first occurrence wins for content), with each
// item's claim links mapped onto the kept claims of the synthesis.
func unionEvidence(g *cns.Graph, sides ...*side) []cns.Evidence {
	var out []cns.Evidence
	at := map[string]int{}
	for _, s := range sides {
		for _, e := range s.sno.Evidence {
			if e.ID == "" {
				continue
			}
			var links []string
			for _, c := range e.SupportsClaimIDs {
				if _, ok := g.Claim(s.id(c)); ok {
					links = append(links, s.id(c))
				}
			}
			if i, dup := at[e.ID]; dup {
				out[i].SupportsClaimIDs = append(out[i].SupportsClaimIDs, links...)
				continue
			}
			at[e.ID] = len(out)
			e.SupportsClaimIDs = links
			out = append(out, e)
		}
	}
	return out
}

func sources(k int) string {
	if k == 1 {
		return "source"
	}
	return fmt.Sprintf("%d sources", k)
}

// quote puts a statement in quotation marks without its final punctuation, shortened to maxQuote bytes.
func quote(s string) string {
	s = strings.TrimRightFunc(strings.TrimSpace(s), func(r rune) bool { return r == '.' || r == '!' || r == '?' || unicode.IsSpace(r) })
	if len(s) > maxQuote {
		cut := maxQuote
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = strings.TrimSpace(s[:cut]) + "…"
	}
	return "“" + s + "”"
}

// clause turns a claim into a subordinate clause: no final punctuation, lower-case first letter unless it
// starts an acronym or a name with capitals inside ("DNA", "McDonald").
func clause(s string) string {
	q := strings.TrimSuffix(strings.TrimPrefix(quote(s), "“"), "”")
	r, n := utf8.DecodeRuneInString(q)
	if n == 0 {
		return q
	}
	next, _ := utf8.DecodeRuneInString(q[n:])
	if unicode.IsUpper(r) && !unicode.IsUpper(next) {
		return string(unicode.ToLower(r)) + q[n:]
	}
	return q
}

func capital(s string) string {
	// s starts with an opening quotation mark; capitalise the letter after it.
	const open = "“"
	if !strings.HasPrefix(s, open) {
		return s
	}
	r, n := utf8.DecodeRuneInString(s[len(open):])
	return open + string(unicode.ToUpper(r)) + s[len(open)+n:]
}
