package nlp

import (
	"slices"
	"testing"
)

func TestTokens(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  \t\n ", nil},
		{"!!! ...", nil},
		{"A man is playing a Guitar.", []string{"a", "man", "is", "playing", "a", "guitar"}},
		{"It doesn't work; it can't, won't, isn't.", []string{"it", "does", "not", "work", "it", "can", "not", "will", "not", "is", "not"}},
		{"We cannot CONFIRM it.", []string{"we", "can", "not", "confirm", "it"}},
		{"The patient's dose — they're fine, we'll see, I'm sure, we've done it, he'd go.",
			[]string{"the", "patient", "dose", "they", "fine", "we", "see", "i", "sure", "we", "done", "it", "he", "go"}},
		{"Didn’t help", []string{"did", "not", "help"}}, // typographic apostrophe
		{"rock'n'roll at 5 o'clock", []string{"rock", "n", "roll", "at", "5", "o", "clock"}},
		{"Mortality fell by 20% (p=0.03) in 1,000 patients; groups 1,2 and 3.5mg.",
			[]string{"mortality", "fell", "by", "20", "p", "0.03", "in", "1000", "patients", "groups", "1", "2", "and", "3.5mg"}},
		{"End of sentence 3. Next", []string{"end", "of", "sentence", "3", "next"}},
		{"Über Straße ÉCOLE naïve café", []string{"über", "straße", "école", "naïve", "café"}},
		{"COVID-19 e-mail", []string{"covid", "19", "e", "mail"}},
		{"日本語 text", []string{"日本語", "text"}},
	}
	for _, c := range cases {
		if got := Tokens(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Tokens(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestContentWords(t *testing.T) {
	got := ContentWords("The studies showed that vitamin D doesn't increase bone densities in older adults.")
	want := []string{"stud", "show", "vitamin", "d", "not", "increas", "bon", "densit", "older", "adult"}
	if !slices.Equal(got, want) {
		t.Errorf("ContentWords = %q, want %q", got, want)
	}
	if got := ContentWords("the of and"); len(got) != 0 {
		t.Errorf("ContentWords of stopwords = %q, want none", got)
	}
}

// Stemming only has to be consistent: every inflection of a word must land on the same stem.
func TestStemConsistency(t *testing.T) {
	groups := [][]string{
		{"increase", "increases", "increased", "increasing"},
		{"reduce", "reduces", "reduced", "reducing"},
		{"play", "plays", "played", "playing"},
		{"study", "studies", "studied"},
		{"stop", "stops", "stopped", "stopping"},
		{"run", "runs", "running"},
		{"agree", "agrees", "agreed"},
		{"cause", "causes", "caused", "causing"},
		{"box", "boxes"},
		{"class", "classes"},
		{"match", "matches", "matched"},
		{"use", "uses", "used"},
		{"fall", "falls", "falling"},
		{"density", "densities"},
		{"add", "adds", "added"},
	}
	for _, g := range groups {
		want := string(stem([]byte(g[0])))
		for _, w := range g[1:] {
			if got := string(stem([]byte(w))); got != want {
				t.Errorf("stem(%q) = %q, want %q (as stem(%q))", w, got, want, g[0])
			}
		}
	}
	for _, w := range []string{"virus", "analysis", "glass", "bus", "gas", "20", "3.5"} {
		if got := string(stem([]byte(w))); got != w {
			t.Errorf("stem(%q) = %q, want it unchanged", w, got)
		}
	}
}

func TestAntonymTable(t *testing.T) {
	if len(antonymPairs) < 300 {
		t.Errorf("only %d antonym pairs", len(antonymPairs))
	}
	for _, p := range antonymPairs {
		toks := Tokens(p)
		if len(toks) != 2 {
			t.Errorf("antonym entry %q is not two words", p)
			continue
		}
		for _, w := range toks {
			if _, stop := stopwords[w]; stop {
				t.Errorf("antonym entry %q contains the stopword %q: it would never be compared", p, w)
			}
			if k := cues[w]; k != 0 && k != cueFail {
				t.Errorf("antonym entry %q contains the cue word %q: it would never be compared", p, w)
			}
		}
		a, b := string(stem([]byte(toks[0]))), string(stem([]byte(toks[1])))
		if a == b {
			t.Errorf("antonym entry %q: both words stem to %q", p, a)
		}
		if !slices.Contains(antonyms[a], b) || !slices.Contains(antonyms[b], a) {
			t.Errorf("antonym entry %q is not in the table in both directions", p)
		}
	}
}

func TestLexDoesNotAllocate(t *testing.T) {
	buf, spans := make([]byte, 0, 256), make([]span, 0, 64)
	text := "The drug didn't reduce mortality by 20% in 1,000 older patients; Über-naïve café."
	allocs := testing.AllocsPerRun(100, func() {
		buf, spans = lex(text, buf[:0], spans[:0])
	})
	if allocs != 0 {
		t.Errorf("lex allocates %v times per call", allocs)
	}
}
