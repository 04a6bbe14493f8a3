package ingest

import (
	"errors"
	"testing"

	cns "github.com/cns-dev/cns"
)

// FuzzDocument checks the invariants of Document on any text, under the default limits and under small
// ones (where the caps and cuts are exercised): no panic, and either EINVALID on "text" or a result whose
// graph validates, whose claims all reach the root, whose strings are valid UTF-8 and whose counts respect
// the limits. The seed corpus is in testdata/fuzz/FuzzDocument.
func FuzzDocument(f *testing.F) {
	f.Add(coffeeAbstract)
	f.Add(vitaminDAbstract)
	small := cns.DefaultLimits()
	small.MaxDocumentBytes = 4 << 10
	small.MaxClaims = 4
	small.MaxEdges = 2
	small.MaxEvidence = 3
	small.MaxEvidenceBytes = 50
	small.MaxClaimBytes = 20
	small.MaxHypothesisBytes = 10
	small.MaxIDBytes = 30
	f.Fuzz(func(t *testing.T, text string) {
		for _, l := range []cns.Limits{cns.DefaultLimits(), small} {
			for _, source := range []string{"", "https://doi.org/10.1000/Fuzz"} {
				r, err := Document(cns.DocumentInput{Source: source, Text: text}, l)
				if err != nil {
					var e *cns.Error
					if !errors.As(err, &e) || e.Code != cns.EINVALID || len(e.Violations) == 0 || e.Violations[0].Field != "text" {
						t.Fatalf("error %v, want EINVALID on text", err)
					}
					continue
				}
				checkResult(t, r, l)
				if len(r.Evidence) == 0 || r.Evidence[0].ID != cns.CanonicalEvidenceID(source, text) {
					t.Fatalf("document evidence missing: %+v", r.Evidence)
				}
			}
		}
	})
}
