package synthesis

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cns-dev/cns"
)

// systemPrompt fixes the model's role and the output contract; the user prompt carries the pair.
const systemPrompt = `You are the synthesis engine of a Chiral Narrative Synthesis service. You receive two narratives that disagree while citing shared evidence. You write one new narrative that reconciles them: it states the reconciled position and the conditions under which each original claim holds, keeps the strongest claims of both, and links them through resolution claims. You never invent evidence: you may only cite evidence ids given to you. Answer with one JSON object and nothing else.`

// Bounds on what one prompt carries, so a pair of huge narratives cannot blow the context window.
const (
	promptClaims        = 40  // per narrative
	promptEvidence      = 20  // per narrative
	promptEvidenceChars = 600 // per item's content
)

// Prompt builds the user prompt: the sections NARRATIVE_A, NARRATIVE_B, CONFLICT_ANALYSIS and
// SYNTHESIS_TASK, in that order.
func Prompt(req cns.SynthesisRequest, strategy string) string {
	var b strings.Builder
	narrative(&b, "NARRATIVE_A", req.A)
	narrative(&b, "NARRATIVE_B", req.B)
	p := req.Pair
	b.WriteString("## CONFLICT_ANALYSIS\n")
	fmt.Fprintf(&b, "chirality C = %.3f (how strongly they disagree)\nentanglement E = %.3f (Jaccard of their evidence)\nhypothesis contradiction probability = %.3f\n",
		p.Chirality, p.Entanglement, p.Contradiction)
	fmt.Fprintf(&b, "shared evidence ids: %s\n", strings.Join(p.SharedEvidenceIDs, ", "))
	if len(p.ConflictPoints) == 0 {
		b.WriteString("conflict points: the two hypotheses themselves\n")
	}
	for i, c := range p.ConflictPoints {
		fmt.Fprintf(&b, "conflict %d (p=%.2f): A[%s] %q vs B[%s] %q\n", i+1, c.Contradiction, c.ClaimA, clip(c.TextA, 300), c.ClaimB, clip(c.TextB, 300))
	}
	b.WriteString("\n## SYNTHESIS_TASK\n")
	fmt.Fprintf(&b, "Write a %s synthesis (%s).\n", strategy, strategyHint[strategy])
	b.WriteString(`Return exactly this JSON object:
{"hypothesis": "the reconciled position, stating under which conditions each narrative's claim holds",
 "strategy": "dialectical | evidential | complementary | transcendent",
 "claims": [{"id": "c1", "text": "one claim"}],
 "edges": [{"from": "c1", "to": "root", "relation": "supports | contradicts | implies | weakens | explains | generalizes", "strength": 0.8}],
 "evidence": [{"id": "an evidence id from the narratives above", "supports": ["c1"]}],
 "rationale": "one sentence on how the conflict was resolved"}
Rules: "root" is the hypothesis; claim ids are yours and unique; every edge joins known ids and the edges form no cycle; cite only evidence ids listed above, and cite every shared evidence id; strengths are in [0,1].
If you cannot do this, return {"refusal": "why"}.
`)
	return b.String()
}

var strategyHint = map[string]string{
	StrategyDialectical:   "thesis and antithesis both hold in part; name the conditions that separate them",
	StrategyEvidential:    "the same evidence is read two ways; say which reading each part of the evidence supports",
	StrategyComplementary: "the narratives cover different sides of one question; join them",
	StrategyTranscendent:  "find the wider position from which both are special cases",
}

func narrative(b *strings.Builder, title string, s *cns.SNO) {
	fmt.Fprintf(b, "## %s\nid: %s\ntrust: %.2f\nhypothesis: %s\n", title, s.ID, s.Trust, s.Hypothesis)
	n := 0
	for _, c := range s.Graph.Claims {
		if c.ID == cns.RootClaimID {
			continue
		}
		if n++; n > promptClaims {
			fmt.Fprintf(b, "(%d more claims left out)\n", len(s.Graph.Claims)-promptClaims-1)
			break
		}
		fmt.Fprintf(b, "claim %s: %s\n", c.ID, clip(c.Text, 500))
	}
	for i, e := range s.Graph.Edges {
		if i >= 2*promptClaims {
			break
		}
		fmt.Fprintf(b, "edge: %s %s %s (%.2f)\n", e.From, e.Relation, e.To, e.Strength)
	}
	for i, e := range s.Evidence {
		if i >= promptEvidence {
			fmt.Fprintf(b, "(%d more evidence items left out)\n", len(s.Evidence)-promptEvidence)
			break
		}
		fmt.Fprintf(b, "evidence %s: %s\n", e.ID, clip(e.Content, promptEvidenceChars))
	}
	b.WriteString("\n")
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// output is the JSON object the model is asked for.
type output struct {
	Hypothesis string `json:"hypothesis"`
	Strategy   string `json:"strategy"`
	Claims     []struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	} `json:"claims"`
	Edges []struct {
		From     string   `json:"from"`
		To       string   `json:"to"`
		Relation string   `json:"relation"`
		Strength *float64 `json:"strength"`
	} `json:"edges"`
	Evidence []struct {
		ID       string   `json:"id"`
		Supports []string `json:"supports"`
	} `json:"evidence"`
	Rationale string `json:"rationale"`
	Refusal   string `json:"refusal"`
}

// Output bounds: a synthesis larger than this is not a reconciliation any more.
const (
	maxOutputClaims = 64
	maxOutputEdges  = 256
	maxTextBytes    = 4 << 10
)

// Parse validates a model's answer into a synthesis. The answer may be wrapped in a Markdown code fence
// (some servers ignore response_format). It returns refused=true when the model declined. Every problem
// is EFAILEDPRECOND with the first reason: unknown claim or evidence ids, a cycle, a bad relation or
// strength, an empty or oversized text.
func Parse(content string, req cns.SynthesisRequest) (out *cns.Synthesis, refused bool, err error) {
	content = strings.TrimSpace(content)
	if strings.HasPrefix(content, "```") {
		content = strings.TrimPrefix(strings.TrimPrefix(content, "```json"), "```")
		content = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(content), "```"))
	}
	bad := func(format string, args ...any) (*cns.Synthesis, bool, error) {
		return nil, false, cns.Errorf(cns.EFAILEDPRECOND, "llm output rejected: "+format, args...)
	}
	dec := json.NewDecoder(strings.NewReader(content))
	var o output
	if err := dec.Decode(&o); err != nil {
		return bad("not a JSON object (%v)", err)
	}
	if strings.TrimSpace(o.Refusal) != "" {
		return nil, true, cns.Errorf(cns.EFAILEDPRECOND, "the model refused to synthesize this pair")
	}
	if t := strings.TrimSpace(o.Hypothesis); t == "" || len(t) > maxTextBytes || !utf8.ValidString(t) {
		return bad("the hypothesis must be non-empty UTF-8 of at most %d bytes", maxTextBytes)
	}
	if len(o.Claims) > maxOutputClaims || len(o.Edges) > maxOutputEdges {
		return bad("%d claims and %d edges is more than %d and %d", len(o.Claims), len(o.Edges), maxOutputClaims, maxOutputEdges)
	}
	g := cns.NewGraph(strings.TrimSpace(o.Hypothesis))
	for i, c := range o.Claims {
		t := strings.TrimSpace(c.Text)
		if t == "" || len(t) > maxTextBytes || !utf8.ValidString(t) {
			return bad("claims[%d] needs a non-empty text of at most %d bytes", i, maxTextBytes)
		}
		if c.ID == cns.RootClaimID {
			return bad("claims[%d] uses the reserved id %q", i, cns.RootClaimID)
		}
		if err := g.AddClaim(cns.Claim{ID: c.ID, Text: t}); err != nil {
			return bad("claims[%d]: %s", i, cns.ErrorMessage(err))
		}
	}
	for i, e := range o.Edges {
		rel, ok := cns.ParseRelation(strings.ToLower(strings.TrimSpace(e.Relation)))
		if !ok {
			return bad("edges[%d] has unknown relation %q", i, clip(e.Relation, 40))
		}
		strength := 1.0
		if e.Strength != nil {
			strength = *e.Strength
		}
		// AddEdge rejects unknown ids, strengths outside [0,1], duplicates and cycles.
		if err := g.AddEdge(cns.Edge{From: e.From, To: e.To, Relation: rel, Strength: strength}); err != nil {
			return bad("edges[%d]: %s", i, cns.ErrorMessage(err))
		}
	}
	known := map[string]cns.Evidence{}
	for _, s := range []*cns.SNO{req.A, req.B} {
		for _, e := range s.Evidence {
			if _, dup := known[e.ID]; !dup && e.ID != "" {
				known[e.ID] = e
			}
		}
	}
	var evidence []cns.Evidence
	seen := map[string]bool{}
	for i, e := range o.Evidence {
		item, ok := known[e.ID]
		if !ok {
			return bad("evidence[%d] cites unknown evidence id %q", i, clip(e.ID, 80))
		}
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		for j, c := range e.Supports {
			if _, ok := g.Claim(c); !ok {
				return bad("evidence[%d].supports[%d] names unknown claim %q", i, j, clip(c, 40))
			}
		}
		item.SupportsClaimIDs = append([]string(nil), e.Supports...)
		evidence = append(evidence, item)
	}
	strategy := strings.ToLower(strings.TrimSpace(o.Strategy))
	if _, ok := strategyHint[strategy]; !ok {
		strategy = ""
	}
	return &cns.Synthesis{Hypothesis: g.Claims[0].Text, Graph: g, Evidence: evidence, Strategy: strategy, Rationale: clip(o.Rationale, 500)}, false, nil
}
