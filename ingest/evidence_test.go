package ingest

import (
	"reflect"
	"testing"

	cns "github.com/cns-dev/cns"
)

func TestFindRefs(t *testing.T) {
	tests := []struct {
		name string
		s    string
		want []string // sources in order
	}{
		{"doi forms", "Shown before (doi:10.1000/ABC.123) and at https://doi.org/10.1000/abc.123, also 10.5555/x-y_z.", []string{"10.1000/abc.123", "10.1000/abc.123", "10.5555/x-y_z"}},
		{"url trailing punctuation", "Data (https://example.org/a_(b)/c?q=1). More at http://x.org/y.", []string{"https://example.org/a_(b)/c?q=1", "http://x.org/y"}},
		{"author-year", "As reported (Smith et al., 2020; see Lee and Park 2019a; van der Berg, 2001).", []string{"Smith et al., 2020", "Lee and Park, 2019a", "van der Berg, 2001"}},
		{"narrative", "As shown by Smith et al. (2020) and Jones & Lee (2018), it holds.", []string{"Smith et al., 2020", "Jones & Lee, 2018"}},
		{"numeric", "Known [1], [2, 4–6] and [12].", []string{"[1]", "[2]", "[4-6]", "[12]"}},
		{"not citations", "Values in [0, 1] and (12) and (n = 40) in (March 2020) and (2020) and [Table 1].", nil},
		{"sentence-initial word is not an author", "Recently (2019) things changed.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range findRefs(tt.s) {
				got = append(got, r.source)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEvidenceDedupAndOddDOIs(t *testing.T) {
	text := "Statins lower cholesterol in most adults (doi:10.1000/Stat.1). " +
		"The same trial is at https://doi.org/10.1000/STAT.1 and https://www.example.org/trial/?utm_source=t#top. " +
		"A registry copy is at http://example.org/trial for everyone. " +
		"Escapes such as 10.1234/a%2541 and 10.1234/x%00y and 10.1234/y%FF are odd. " +
		"The source paper 10.5555/self is cited here too."
	in := cns.DocumentInput{Source: "https://doi.org/10.5555/SELF", Text: text}
	r, err := Document(in, cns.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r, cns.DefaultLimits())
	type item struct {
		id, source string
		supports   []string
	}
	var got []item
	for _, e := range r.Evidence[1:] {
		got = append(got, item{e.ID, e.SourceID, e.SupportsClaimIDs})
	}
	want := []item{
		// The first sentence is the hypothesis (no marker, no claim verb anywhere).
		{"doi:10.1000/stat.1", "10.1000/stat.1", []string{"root", "c1"}},
		{"url:https://example.org/trial", "https://www.example.org/trial/?utm_source=t#top", []string{"c1", "c2"}},
		// Percent escapes other than %2F stay as written (cns.NormalizeDOI decodes nothing else), so
		// no escape can smuggle a control character into an id.
		{cns.CanonicalEvidenceID("10.1234/a%2541", ""), "10.1234/a%2541", []string{"c3"}},
		{"doi:10.1234/x%00y", "10.1234/x%00y", []string{"c3"}},
		{"doi:10.1234/y%ff", "10.1234/y%ff", []string{"c3"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if r.Evidence[0].ID != "doi:10.5555/self" {
		t.Errorf("document evidence id %s, want the source's DOI (merged with the in-text citation)", r.Evidence[0].ID)
	}
}
