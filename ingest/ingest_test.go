package ingest

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	cns "github.com/cns-dev/cns"
)

// Abstracts written for these tests in the style of SciFact / PubMed abstracts.
const (
	coffeeAbstract = `Coffee consumption and risk of type 2 diabetes: a prospective cohort study

Coffee is among the most widely consumed beverages in the U.S. and Europe (Smith et al., 2020). Several
studies have reported an inverse association between coffee intake and diabetes risk [1, 3-5]. However, the
dose-response relationship remains unclear. We followed 45,000 adults (mean age 52.3 years) for 12 years.
Dr. Lee analysed the data with Cox models (see Fig. 2). Each additional cup per day was associated with a
7% lower risk (HR 0.93, 95% CI 0.90-0.96). For example, participants drinking 4 cups daily had a 25% lower
risk. Data are available at https://example.org/data/coffee.csv. The full protocol is at doi:10.1234/ABC.2020.55.

In conclusion, habitual coffee consumption reduces the risk of type 2 diabetes in adults.`

	statinAbstract = `Statins lower low-density lipoprotein cholesterol and reduce cardiovascular events (Baigent et al., 2010). However, their effect on incident dementia remains controversial. We analysed 120,000 patients from a national registry (https://registry.example.org/statins?utm_source=x&id=7). Statin users had a lower incidence of dementia than non-users (HR 0.82). Because the association persisted after adjustment for 24 covariates, confounding by indication is unlikely. These results suggest that long-term statin therapy lowers the risk of dementia in older adults.`

	vitaminDAbstract = `BACKGROUND: Vitamin D deficiency has been linked to depression in observational studies (Anglin et al. 2013; Ju and Lee, 2013).
METHODS: We randomised 300 adults to 4000 IU/day or placebo for 6 months. Primary outcome was the PHQ-9 score.
RESULTS: Mean PHQ-9 scores were similar between the two groups (p = 0.42). Contrary to earlier reports, supplementation did not reduce depressive symptoms. Thus the observational association may reflect reverse causation.
CONCLUSIONS: Vitamin D supplementation does not prevent depression in adults without deficiency (doi: 10.1001/JAMA.2019.1234).`

	microgliaAbstract = `Microglia are the resident immune cells of the central nervous
system and take part in synaptic pruning. Here we show that complement
component C1q is required for microglial engulfment of synapses in the
developing visual system. Mice lacking C1q retained twice as many synapses at postnatal day 10.
In general, complement proteins tag weak synapses for elimination.`

	sleepAbstract = `Short sleep duration is common among adolescents. It is associated with poorer academic performance [7]. For instance, students sleeping less than 6 h scored 12% lower on standardised tests. Why does this matter? Sleep loss impairs memory consolidation as shown by polysomnography studies (Walker and Stickgold, 2006). Overall, later school start times would improve adolescent health.

References
[7] Wolfson AR, Carskadon MA. Sleep schedules and daytime functioning in adolescents. Child Dev 1998;69:875-87. https://doi.org/10.1111/j.1467-8624.1998.tb06149.x`
)

type wantEdge struct {
	from, to string
	rel      cns.Relation
	strength float64
}

type wantEvidence struct {
	sourceID   string
	confidence float64
	supports   []string
}

func TestDocument(t *testing.T) {
	tests := []struct {
		name       string
		source     string
		text       string
		hypothesis string
		claims     int
		edges      []wantEdge
		evidence   []wantEvidence // extracted items, in order, after the document itself
		claimTexts map[string]string
	}{
		{
			name:       "in conclusion",
			source:     "https://doi.org/10.5555/coffee.2024",
			text:       coffeeAbstract,
			hypothesis: "Habitual coffee consumption reduces the risk of type 2 diabetes in adults.",
			claims:     9,
			edges: []wantEdge{
				{"c1", "root", cns.RelationSupports, 0.5},
				{"c3", "c2", cns.RelationWeakens, 0.8},  // However, …
				{"c7", "c6", cns.RelationExplains, 0.8}, // For example, …
			},
			evidence: []wantEvidence{
				{"Smith et al., 2020", 0.5, []string{"c1"}},
				{"[1]", 0.5, []string{"c2"}},
				{"[3-5]", 0.5, []string{"c2"}},
				{"https://example.org/data/coffee.csv", 0.8, []string{"c8"}},
				{"10.1234/abc.2020.55", 0.8, []string{"c9"}},
			},
			claimTexts: map[string]string{
				"c1": "Coffee is among the most widely consumed beverages in the U.S. and Europe (Smith et al., 2020).",
				"c5": "Dr. Lee analysed the data with Cox models (see Fig. 2).",
				"c6": "Each additional cup per day was associated with a 7% lower risk (HR 0.93, 95% CI 0.90-0.96).",
			},
		},
		{
			name:       "however",
			text:       statinAbstract,
			hypothesis: "Long-term statin therapy lowers the risk of dementia in older adults.",
			claims:     5,
			edges: []wantEdge{
				{"c1", "root", cns.RelationSupports, 0.5},
				{"c2", "c1", cns.RelationWeakens, 0.8},
				{"c5", "root", cns.RelationSupports, 0.8}, // Because …
			},
			evidence: []wantEvidence{
				{"Baigent et al., 2010", 0.5, []string{"c1"}},
				{"https://registry.example.org/statins?utm_source=x&id=7", 0.8, []string{"c3"}},
			},
		},
		{
			name:       "structured abstract",
			text:       vitaminDAbstract,
			hypothesis: "Vitamin D supplementation does not prevent depression in adults without deficiency (doi: 10.1001/JAMA.2019.1234).",
			claims:     6,
			edges: []wantEdge{
				{"c5", "c4", cns.RelationContradicts, 0.8}, // Contrary to …
				{"c5", "c6", cns.RelationImplies, 0.8},     // Thus …
			},
			evidence: []wantEvidence{
				{"Anglin et al., 2013", 0.5, []string{"c1"}},
				{"Ju and Lee, 2013", 0.5, []string{"c1"}},
				{"10.1001/jama.2019.1234", 0.8, []string{"root"}},
			},
			claimTexts: map[string]string{
				"c2": "We randomised 300 adults to 4000 IU/day or placebo for 6 months.",
			},
		},
		{
			name:       "claim verb fallback, hard-wrapped",
			text:       microgliaAbstract,
			hypothesis: "Complement component C1q is required for microglial engulfment of synapses in the developing visual system.",
			claims:     3,
			edges: []wantEdge{
				{"c1", "root", cns.RelationSupports, 0.5},
				{"c2", "root", cns.RelationSupports, 0.5},
				{"c3", "c2", cns.RelationGeneralizes, 0.8}, // In general, …
			},
			claimTexts: map[string]string{
				"c1": "Microglia are the resident immune cells of the central nervous system and take part in synaptic pruning.",
			},
		},
		{
			name:       "example, question and references",
			text:       sleepAbstract,
			hypothesis: "Later school start times would improve adolescent health.",
			claims:     4,
			edges: []wantEdge{
				{"c3", "c2", cns.RelationExplains, 0.8}, // For instance, …
				{"c4", "root", cns.RelationSupports, 0.8},
			},
			evidence: []wantEvidence{
				{"[7]", 0.5, []string{"c2", "root"}},
				{"Walker and Stickgold, 2006", 0.5, []string{"c4"}},
				{"10.1111/j.1467-8624.1998.tb06149.x", 0.8, []string{"root"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := cns.DocumentInput{Source: tt.source, Text: tt.text}
			l := cns.DefaultLimits()
			r, err := Document(in, l)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, r, l)
			if r.Hypothesis != tt.hypothesis {
				t.Errorf("hypothesis = %q, want %q", r.Hypothesis, tt.hypothesis)
			}
			if root, _ := r.Graph.Claim(cns.RootClaimID); root.Text != r.Hypothesis {
				t.Errorf("root claim %q is not the hypothesis", root.Text)
			}
			if got := len(r.Graph.Claims) - 1; got != tt.claims {
				t.Errorf("claims = %d, want %d: %v", got, tt.claims, r.Graph.Claims)
			}
			for i, c := range r.Graph.Claims[1:] {
				if want := "c" + string(rune('1'+i)); i < 9 && c.ID != want {
					t.Errorf("claim %d id %q, want %q", i, c.ID, want)
				}
			}
			if len(r.Graph.Edges) != len(r.Graph.Claims)-1 {
				t.Errorf("%d edges for %d claims, want one each", len(r.Graph.Edges), len(r.Graph.Claims)-1)
			}
			for _, w := range tt.edges {
				if !hasEdge(r.Graph, w) {
					t.Errorf("missing edge %s -%s(%v)-> %s; edges: %v", w.from, w.rel, w.strength, w.to, r.Graph.Edges)
				}
			}
			for id, text := range tt.claimTexts {
				if c, ok := r.Graph.Claim(id); !ok || c.Text != text {
					t.Errorf("claim %s = %q, want %q", id, c.Text, text)
				}
			}

			doc := r.Evidence[0]
			if want := cns.CanonicalEvidenceID(tt.source, tt.text); doc.ID != want || doc.SourceID != tt.source || doc.Confidence != 1 {
				t.Errorf("document evidence = %+v, want id %s", doc, want)
			}
			if len(doc.SupportsClaimIDs) != len(r.Graph.Claims) {
				t.Errorf("document evidence supports %v, want every claim", doc.SupportsClaimIDs)
			}
			if tt.source == "" && !strings.HasPrefix(doc.ID, "sha256:") {
				t.Errorf("document without source has id %s, want a content hash", doc.ID)
			}
			got := r.Evidence[1:]
			if len(got) != len(tt.evidence) {
				t.Fatalf("evidence = %+v, want %d extracted items", got, len(tt.evidence))
			}
			for i, w := range tt.evidence {
				e := got[i]
				wantID := cns.CanonicalEvidenceID(w.sourceID, "")
				if strings.HasPrefix(w.sourceID, "[") {
					wantID = doc.ID + "#" + w.sourceID // numeric references are scoped to their document
				}
				if e.SourceID != w.sourceID || e.ID != wantID ||
					e.Confidence != w.confidence || !reflect.DeepEqual(e.SupportsClaimIDs, w.supports) {
					t.Errorf("evidence[%d] = %+v, want %+v", i, e, w)
				}
				if e.Content == "" {
					t.Errorf("evidence[%d] has no content", i)
				}
			}

			again, err := Document(in, l)
			if err != nil || !reflect.DeepEqual(r, again) {
				t.Errorf("not deterministic:\n%+v\n%+v", r, again)
			}
		})
	}
}

func hasEdge(g cns.Graph, w wantEdge) bool {
	for _, e := range g.Edges {
		if e.From == w.from && e.To == w.to && e.Relation == w.rel && e.Strength == w.strength {
			return true
		}
	}
	return false
}

// checkResult asserts the invariants every result must hold, whatever the input.
func checkResult(t *testing.T, r Result, l cns.Limits) {
	t.Helper()
	if err := r.Graph.Validate(); err != nil {
		t.Fatalf("graph does not validate: %v", err)
	}
	conn := r.Graph.ConnectedToRoot()
	for _, c := range r.Graph.Claims {
		if !conn[c.ID] {
			t.Errorf("claim %s is not connected to the root", c.ID)
		}
		if !utf8.ValidString(c.Text) || len(c.Text) > max(l.MaxClaimBytes, l.MaxHypothesisBytes) {
			t.Errorf("claim %s text %q invalid or too long", c.ID, c.Text)
		}
	}
	if len(r.Graph.Claims) > max(l.MaxClaims, 1) {
		t.Errorf("%d claims, limit %d", len(r.Graph.Claims), l.MaxClaims)
	}
	if len(r.Graph.Edges) > max(l.MaxEdges, 0) {
		t.Errorf("%d edges, limit %d", len(r.Graph.Edges), l.MaxEdges)
	}
	if len(r.Evidence) > max(l.MaxEvidence, 0) {
		t.Errorf("%d evidence items, limit %d", len(r.Evidence), l.MaxEvidence)
	}
	if !utf8.ValidString(r.Hypothesis) || len(r.Hypothesis) > max(l.MaxHypothesisBytes, 0) {
		t.Errorf("hypothesis %q invalid or too long", r.Hypothesis)
	}
	seen := map[string]bool{}
	for _, e := range r.Evidence {
		if e.ID == "" || seen[e.ID] {
			t.Errorf("evidence id %q empty or duplicated", e.ID)
		}
		seen[e.ID] = true
		if !utf8.ValidString(e.ID) || !utf8.ValidString(e.SourceID) || !utf8.ValidString(e.Content) {
			t.Errorf("evidence %+v is not valid UTF-8", e)
		}
		if len(e.Content) > max(l.MaxEvidenceBytes, 0) {
			t.Errorf("evidence %s content %d bytes, limit %d", e.ID, len(e.Content), l.MaxEvidenceBytes)
		}
		if e.Confidence <= 0 || e.Confidence > 1 {
			t.Errorf("evidence %s confidence %v", e.ID, e.Confidence)
		}
		for _, id := range e.SupportsClaimIDs {
			if _, ok := r.Graph.Claim(id); !ok {
				t.Errorf("evidence %s supports unknown claim %q", e.ID, id)
			}
		}
	}
	for _, s := range r.Sentences {
		if !utf8.ValidString(s) {
			t.Errorf("sentence %q is not valid UTF-8", s)
		}
	}
	if len(r.Sentences) > maxSentences {
		t.Errorf("%d sentences, cap %d", len(r.Sentences), maxSentences)
	}
}

func TestDocumentInvalid(t *testing.T) {
	small := cns.DefaultLimits()
	small.MaxDocumentBytes = 64
	tests := []struct {
		name string
		text string
		l    cns.Limits
	}{
		{"empty", "", cns.DefaultLimits()},
		{"blank", " \n\t\u00a0", cns.DefaultLimits()},
		{"oversized", strings.Repeat("Coffee reduces risk. ", 4), small},
		{"not UTF-8", "Coffee \xff reduces risk.", cns.DefaultLimits()},
		{"control character", "Coffee\x00 reduces risk.", cns.DefaultLimits()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Document(cns.DocumentInput{Text: tt.text}, tt.l)
			var e *cns.Error
			if !errors.As(err, &e) || e.Code != cns.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
			if len(e.Violations) == 0 || e.Violations[0].Field != "text" {
				t.Errorf("violations = %+v, want one on field text", e.Violations)
			}
			if want := cns.ValidateDocument(cns.DocumentInput{Text: tt.text}, tt.l); !reflect.DeepEqual(err, want) {
				t.Errorf("err = %v, want ValidateDocument's %v unchanged", err, want)
			}
		})
	}
}

func TestDocumentLimits(t *testing.T) {
	l := cns.DefaultLimits()
	l.MaxClaims = 3
	l.MaxEvidence = 3
	l.MaxEvidenceBytes = 40
	l.MaxClaimBytes = 30
	l.MaxHypothesisBytes = 25
	r, err := Document(cns.DocumentInput{Text: coffeeAbstract}, l)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r, l)
	if len(r.Graph.Claims) != 3 || len(r.Evidence) != 3 {
		t.Errorf("got %d claims and %d evidence items, want 3 and 3", len(r.Graph.Claims), len(r.Evidence))
	}
	if r.Hypothesis != "Habitual coffee" {
		t.Errorf("hypothesis %q, want it cut at a word boundary within 25 bytes", r.Hypothesis)
	}

	// Multi-byte runes are never split by a cut.
	l.MaxHypothesisBytes = 8
	r, err = Document(cns.DocumentInput{Text: "Überernährung führt zu Übergewicht bei Kindern."}, l)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r, l)

	// A claim limit of one leaves only the root; every reference then supports it.
	l = cns.DefaultLimits()
	l.MaxClaims = 1
	r, err = Document(cns.DocumentInput{Text: statinAbstract}, l)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r, l)
	if len(r.Graph.Claims) != 1 || len(r.Graph.Edges) != 0 {
		t.Errorf("graph = %+v, want the root alone", r.Graph)
	}
	for _, e := range r.Evidence {
		if !reflect.DeepEqual(e.SupportsClaimIDs, []string{"root"}) {
			t.Errorf("evidence %s supports %v, want [root]", e.ID, e.SupportsClaimIDs)
		}
	}
}

func TestDocumentSentenceCap(t *testing.T) {
	text := strings.Repeat("Exercise improves mood in older adults. ", 500)
	r, err := Document(cns.DocumentInput{Text: text}, cns.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r, cns.DefaultLimits())
	if len(r.Sentences) != maxSentences {
		t.Errorf("%d sentences, want the cap %d", len(r.Sentences), maxSentences)
	}
	if len(r.Graph.Claims) != maxSentences {
		t.Errorf("%d claims, want one per sentence considered (%d)", len(r.Graph.Claims), maxSentences)
	}
}

func TestDocumentSingleSentence(t *testing.T) {
	for _, text := range []string{"Aspirin", "In conclusion.", "\uFEFF", "Aspirin prevents colorectal cancer"} {
		r, err := Document(cns.DocumentInput{Text: text}, cns.DefaultLimits())
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		checkResult(t, r, cns.DefaultLimits())
		if r.Hypothesis != text {
			t.Errorf("%q: hypothesis %q", text, r.Hypothesis)
		}
		if len(r.Graph.Claims) != 1 {
			t.Errorf("%q: claims %v, want the root only", text, r.Graph.Claims)
		}
	}
}

func TestDocumentConcurrent(t *testing.T) {
	want, err := Document(cns.DocumentInput{Text: coffeeAbstract}, cns.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				got, err := Document(cns.DocumentInput{Text: coffeeAbstract}, cns.DefaultLimits())
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Error("concurrent call gave a different result")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNarrative(t *testing.T) {
	in := cns.NarrativeInput{
		Hypothesis: "Statins lower dementia risk.",
		Claims:     []cns.Claim{{ID: "a", Text: "Statin users had fewer dementia diagnoses."}},
		Edges:      []cns.Edge{{From: "a", To: cns.RootClaimID, Relation: cns.RelationSupports}},
		Evidence:   []cns.Evidence{{SourceID: "https://doi.org/10.1000/Statins", SupportsClaimIDs: []string{"a"}}},
	}
	r, err := Narrative(in, cns.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if r.Hypothesis != in.Hypothesis || len(r.Sentences) != 0 || len(r.Graph.Claims) != 2 ||
		len(r.Evidence) != 1 || r.Evidence[0].ID != "doi:10.1000/statins" {
		t.Errorf("result = %+v", r)
	}
	checkResult(t, r, cns.DefaultLimits())

	in.Edges[0].To = "missing"
	_, err = Narrative(in, cns.DefaultLimits())
	_, _, want := cns.BuildNarrative(in, cns.DefaultLimits())
	if cns.ErrorCode(err) != cns.EINVALID || !reflect.DeepEqual(err, want) {
		t.Errorf("err = %v, want BuildNarrative's %v", err, want)
	}
}

func BenchmarkDocument(b *testing.B) {
	text := coffeeAbstract + "\n\n" + statinAbstract + "\n\n" + vitaminDAbstract
	for len(text) < 2048 {
		text += "\n\n" + microgliaAbstract
	}
	text = text[:2048]
	in := cns.DocumentInput{Source: "https://example.org/abstract", Text: text}
	l := cns.DefaultLimits()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Document(in, l); err != nil {
			b.Fatal(err)
		}
	}
}
