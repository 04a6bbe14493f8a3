package wordnet_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cns-dev/cns/nlp/assets/assetstest"
	"github.com/cns-dev/cns/nlp/wordnet"
)

func load(t *testing.T) *wordnet.Lexicon {
	t.Helper()
	src := t.TempDir()
	assetstest.WriteWordNet(t, src)
	dir := t.TempDir()
	info, err := wordnet.Convert(src, dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Synsets != 17 || info.Antonyms != 3 {
		t.Errorf("info = %+v, want 17 synsets and 3 antonym pairs (increase/decrease, hot/cold, hot/icy)", info)
	}
	l, err := wordnet.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestRelations(t *testing.T) {
	l := load(t)
	base := func(w string) wordnet.Lemma {
		b := l.Base(nil, w)
		if len(b) == 0 {
			t.Fatalf("no base form for %q", w)
		}
		return b[0]
	}
	for _, c := range []struct{ word, base string }{{"dogs", "dog"}, {"mice", "mouse"}, {"increased", "increase"}, {"increases", "increase"}, {"playing", "play"}, {"colder", "cold"}} {
		if got := l.LemmaString(base(c.word)); got != c.base {
			t.Errorf("Base(%q) = %q, want %q", c.word, got, c.base)
		}
	}
	if len(l.Base(nil, "zebras")) != 0 {
		t.Error("Base invented a lemma")
	}
	if !l.Synonym(base("decrease"), base("lessen")) || l.Synonym(base("dog"), base("cat")) {
		t.Error("synonymy wrong")
	}
	if !l.Antonym(base("increase"), base("decrease")) || !l.Antonym(base("icy"), base("hot")) || l.Antonym(base("hot"), base("dog")) {
		t.Error("antonymy wrong (direct, satellite)")
	}
	if !l.Hypernym(base("animal"), base("dog")) || l.Hypernym(base("dog"), base("animal")) || !l.Hypernym(base("person"), base("man")) {
		t.Error("hypernymy wrong")
	}
	if l.Hypernym(base("instrument"), base("dog")) {
		t.Error("instrument is not a hypernym of dog")
	}
}

func TestLoadErrors(t *testing.T) {
	src := t.TempDir()
	assetstest.WriteWordNet(t, src)
	dir := t.TempDir()
	if _, err := wordnet.Convert(src, dir); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, wordnet.SynsetsFile)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)-1], 0o644)
	if _, err := wordnet.Load(dir); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated synsets: %v", err)
	}
	os.WriteFile(p, []byte("n\tdog\t99\t\n"), 0o644)
	if _, err := wordnet.Load(dir); err == nil || !strings.Contains(err.Error(), "bad synset number") {
		t.Errorf("dangling hypernym: %v", err)
	}
	os.Remove(filepath.Join(src, "data.verb"))
	if _, err := wordnet.Convert(src, t.TempDir()); err == nil {
		t.Error("Convert without data.verb succeeded")
	}
}

// TestConceptSets: Intersect(Concepts(as), Ancestors(bs)) is Hypernym over every pair of lemmas, and
// Intersect(Concepts(as), Concepts(bs)) is Synonym over every pair (what the NLI features read once per
// word instead of once per pair).
func TestConceptSets(t *testing.T) {
	l := load(t)
	words := []string{"dog", "animal", "cat", "man", "person", "instrument", "decrease", "lessen", "increase", "hot", "icy", "play", "mouse"}
	var all []wordnet.Lemma
	for _, w := range words {
		all = append(all, l.Base(nil, w)...)
	}
	sets := [][]wordnet.Lemma{nil}
	for i := range all {
		sets = append(sets, all[i:i+1])
		if i+2 <= len(all) {
			sets = append(sets, all[i:i+2])
		}
	}
	for _, as := range sets {
		for _, bs := range sets {
			hyper, syn := false, false
			for _, a := range as {
				for _, b := range bs {
					hyper = hyper || l.Hypernym(a, b)
					syn = syn || l.Synonym(a, b)
				}
			}
			if got := wordnet.Intersect(l.Concepts(as), l.Ancestors(bs)); got != hyper {
				t.Errorf("concepts of %v ∩ ancestors of %v = %v, Hypernym over the pairs %v", as, bs, got, hyper)
			}
			if got := wordnet.Intersect(l.Concepts(as), l.Concepts(bs)); got != syn {
				t.Errorf("concepts of %v ∩ concepts of %v = %v, Synonym over the pairs %v", as, bs, got, syn)
			}
		}
	}
	if wordnet.Intersect([]int32{1, 5, 9}, []int32{2, 4, 6, 8, 10}) || !wordnet.Intersect([]int32{9}, []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}) {
		t.Error("Intersect of sorted sets wrong")
	}
}
