package ingest

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitSentences(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"abbreviations", "Risk fell in the U.S. and the U.K. after 2010, e.g. in Ohio, i.e. the Midwest. Smith et al. reported it first. Dr. Lee disagreed.",
			[]string{"Risk fell in the U.S. and the U.K. after 2010, e.g. in Ohio, i.e. the Midwest.", "Smith et al. reported it first.", "Dr. Lee disagreed."}},
		{"figures and versus", "Treatment vs. Placebo differed (Fig. 2). See Figs. 3 and 4. It was approx. five times larger.",
			[]string{"Treatment vs. Placebo differed (Fig. 2).", "See Figs. 3 and 4.", "It was approx. five times larger."}},
		{"decimals", "The mean was 3.5 mg (p < 0.05). The odds ratio was 1.25. 3 groups remained.",
			[]string{"The mean was 3.5 mg (p < 0.05).", "The odds ratio was 1.25.", "3 groups remained."}},
		{"DOIs and URLs", "See doi:10.1038/nature12373.v2 for details. Code is at https://github.com/x/y.git. Data at www.example.org/a.b/c.",
			[]string{"See doi:10.1038/nature12373.v2 for details.", "Code is at https://github.com/x/y.git.", "Data at www.example.org/a.b/c."}},
		{"question and exclamation", "Does coffee help? It does! \"Remarkably so.\" (Really.) Yes.",
			[]string{"Does coffee help?", "It does!", "\"Remarkably so.\"", "(Really.)", "Yes."}},
		{"number abbreviation", "See vol. 3, no. 5. The answer was no. We moved on.",
			[]string{"See vol. 3, no. 5.", "The answer was no.", "We moved on."}},
		{"ellipsis and lower case", "It rose... Then it fell. it was odd.. next",
			[]string{"It rose...", "Then it fell. it was odd.. next"}},
		{"no final stop", "One sentence without a stop", []string{"One sentence without a stop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitSentences([]string{tt.text}, maxSentences)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestSplitParagraphsAndCap(t *testing.T) {
	got := splitSentences([]string{"First paragraph without stop", "Second one. Third one."}, 2)
	want := []string{"First paragraph without stop", "Second one."}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		title string
		paras []string
	}{
		{"title then paragraph", "Coffee and diabetes: a cohort study\r\n\r\nCoffee  is\twidely drunk.\nIt is safe.",
			"Coffee and diabetes: a cohort study", []string{"Coffee is widely drunk. It is safe."}},
		{"title line directly above text", "Statins and Dementia\nStatins lower cholesterol.",
			"Statins and Dementia", []string{"Statins lower cholesterol."}},
		{"wrapped first line is not a title", "Coffee consumption was associated with a lower\nrisk of diabetes.",
			"", []string{"Coffee consumption was associated with a lower risk of diabetes."}},
		{"sentence is not a title", "Coffee is widely drunk.\n\nIt is safe.",
			"", []string{"Coffee is widely drunk.", "It is safe."}},
		{"lone line is kept", "Aspirin and cancer", "", []string{"Aspirin and cancer"}},
		{"long first line is kept", "One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty twentyone\n\nBody.",
			"", []string{"One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty twentyone", "Body."}},
		{"unicode spaces and separators", "\uFEFFA\u00a0b\u2003c.\u2029Next\u2028line.", "", []string{"A b c.", "Next line."}},
		{"references heading", "Claims here.\nREFERENCES:\n[1] Smith J. 2020.", "", []string{"Claims here.", "REFERENCES:", "[1] Smith J. 2020."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := normalize(tt.text)
			if got.title != tt.title || !reflect.DeepEqual(got.paragraphs, tt.paras) {
				t.Errorf("got %q %q, want %q %q", got.title, got.paragraphs, tt.title, tt.paras)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"two words", 0, ""},
		{"Habitual coffee consumption", 20, "Habitual coffee"},
		{"Überernährung", 2, "Ü"},
		{"Überernährung", 1, ""},
		{"abcdefghij klm", 8, "abcdefgh"},
	}
	for _, tt := range tests {
		if got := truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestStripMarker(t *testing.T) {
	tests := map[string]string{
		"In conclusion, coffee reduces diabetes risk.":                        "Coffee reduces diabetes risk.",
		"Taken together, these data indicate that C1q tags synapses.":         "C1q tags synapses.",
		"We therefore conclude that mRNA vaccines are safe.":                  "mRNA vaccines are safe.",
		"Our findings suggest that long-term use is safe.":                    "Long-term use is safe.",
		"Overall, p53 loss drives tumour growth.":                             "p53 loss drives tumour growth.",
		"Thus the association may reflect reverse causation.":                 "The association may reflect reverse causation.",
		"This shows that sleep matters.":                                      "Sleep matters.",
		"Overall survival improved.":                                          "Overall survival improved.",
		"In conclusion.":                                                      "In conclusion.",
		"Coffee therefore reduces risk.":                                      "Coffee therefore reduces risk.",
		"Here we show that complement component C1q is required for pruning.": "Complement component C1q is required for pruning.",
	}
	for in, want := range tests {
		if got := stripMarker(in); got != want {
			t.Errorf("stripMarker(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestChooseHypothesis(t *testing.T) {
	mk := func(texts ...string) []sentence { return classify(texts) }
	tests := []struct {
		name  string
		sents []sentence
		want  int
	}{
		{"strong beats weak and later", mk("We conclude that exercise helps mood.", "Thus the effect is robust overall.", "Patients were followed for years."), 0},
		{"last weak marker", mk("Thus the first step holds here.", "Patients were followed for years.", "Hence the second step holds too."), 2},
		{"claim verb", mk("Patients were followed for years.", "Exercise reduced depressive symptoms.", "Exercise increased sleep time."), 1},
		{"first candidate", mk("Short one.", "Patients were followed for years.", "Mood was measured weekly."), 1},
		{"first sentence", mk("Short one.", "Tiny."), 0},
		{"conclusions label", mk("RESULTS: Mood improved in all groups.", "CONCLUSIONS: Exercise is a cheap treatment."), 1},
	}
	for _, tt := range tests {
		if got := chooseHypothesis(tt.sents); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestRelate(t *testing.T) {
	tests := []struct {
		s    string
		prev string
		from string
		to   string
		rel  string
	}{
		{"However, the effect was small.", "c1", "c2", "c1", "weakens"},
		{"The effect was small but significant in women.", "c1", "c2", "root", "supports"},
		{"The effect was present, but it was small.", "c1", "c2", "c1", "weakens"},
		{"However, coffee does not reduce mortality.", "c1", "c2", "c1", "contradicts"},
		{"We found no evidence of harm in children.", "c1", "c2", "c1", "contradicts"},
		{"Because the cohort was large, the estimate is precise.", "c1", "c2", "root", "supports"},
		{"Since 2010, trials have multiplied.", "c1", "c2", "root", "supports"},
		{"Therefore, the risk is lower in drinkers.", "c1", "c1", "c2", "implies"},
		{"So far, no trial has been published.", "c1", "c2", "root", "supports"},
		{"For example, mice lacking C1q kept more synapses.", "c1", "c2", "c1", "explains"},
		{"E.g. mice lacking C1q kept more synapses.", "c1", "c2", "c1", "explains"},
		{"More broadly, complement shapes circuits.", "c1", "c2", "c1", "generalizes"},
		{"However, the effect was small.", "", "c2", "root", "weakens"},
		{"Thus the first claim holds.", "", "root", "c2", "implies"},
		{"The cohort included 3,000 adults.", "c1", "c2", "root", "supports"},
	}
	for _, tt := range tests {
		e := relate("c2", strings.ToLower(tt.s), tt.prev)
		if e.From != tt.from || e.To != tt.to || e.Relation.String() != tt.rel {
			t.Errorf("relate(%q, prev %q) = %s -%s-> %s, want %s -%s-> %s", tt.s, tt.prev, e.From, e.Relation, e.To, tt.from, tt.rel, tt.to)
		}
	}
}
