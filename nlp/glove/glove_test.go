package glove_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/nlp"
	"github.com/cns-dev/cns/nlp/assets/assetstest"
	"github.com/cns-dev/cns/nlp/glove"
)

func convert(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "g.json")
	assetstest.WriteGloVeJSON(t, src)
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	info, err := glove.ConvertWink(f, 1000, dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Dim != assetstest.Dim || info.SourceWords != len(assetstest.Words) {
		t.Fatalf("info = %+v", info)
	}
	return dir
}

func TestConvertLoadRoundTrip(t *testing.T) {
	v, err := glove.Load(convert(t))
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range assetstest.Words {
		r, ok := v.Lookup(w)
		if w == "u.s." || w == "," {
			if ok {
				t.Errorf("%q kept", w)
			}
			continue
		}
		if !ok {
			t.Fatalf("%q missing", w)
		}
		if v.Rank(r) != i {
			t.Errorf("rank of %q = %d, want %d", w, v.Rank(r), i)
		}
		for j, x := range assetstest.Vector(i, w) {
			if got := float64(v.Row(r)[j]); math.Abs(got-x) > 2e-3*math.Max(1, math.Abs(x)) {
				t.Errorf("%q[%d] = %v, want %v (half precision)", w, j, got, x)
			}
		}
	}
	d, _ := v.Lookup("dog")
	a, _ := v.Lookup("animal")
	g, _ := v.Lookup("guitar")
	if v.Cosine(d, a) <= v.Cosine(d, g) {
		t.Errorf("cos(dog, animal) %v <= cos(dog, guitar) %v", v.Cosine(d, a), v.Cosine(d, g))
	}
}

func TestConvertTopN(t *testing.T) {
	src := filepath.Join(t.TempDir(), "g.json")
	assetstest.WriteGloVeJSON(t, src)
	f, _ := os.Open(src)
	defer f.Close()
	info, err := glove.ConvertWink(f, 5, t.TempDir())
	if err != nil || info.Rows != 5 {
		t.Fatalf("ConvertWink top 5 = %+v, %v", info, err)
	}
}

func TestConvertBadInput(t *testing.T) {
	for _, in := range []string{`{`, `{"dimensions": 2, "words": ["a"], "vectors": {"a": [1, 2]}}`, `{"words": [], "vectors": {}}`,
		`{"dimensions": 2, "words": ["a"], "vectors": {"a": [1, 2, 3, 7]}}`} {
		if _, err := glove.ConvertWink(strings.NewReader(in), 10, t.TempDir()); err == nil {
			t.Errorf("ConvertWink(%s) succeeded", in)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := convert(t)
	p := filepath.Join(dir, glove.VectorsFile)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)-2], 0o644)
	if _, err := glove.Load(dir); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated vectors: %v", err)
	}
	os.WriteFile(p, append([]byte("XXXX"), b[4:]...), 0o644)
	if _, err := glove.Load(dir); err == nil || !strings.Contains(err.Error(), "not a vectors file") {
		t.Errorf("bad magic: %v", err)
	}
	os.WriteFile(p, b, 0o644)
	vp := filepath.Join(dir, glove.VocabFile)
	vb, _ := os.ReadFile(vp)
	os.WriteFile(vp, vb[:len(vb)-1], 0o644)
	if _, err := glove.Load(dir); err == nil || !strings.Contains(err.Error(), "final newline") {
		t.Errorf("truncated vocabulary: %v", err)
	}
	os.Remove(vp)
	if _, err := glove.Load(dir); err == nil || !strings.Contains(err.Error(), "vocabulary") {
		t.Errorf("missing vocabulary: %v", err)
	}
}

func TestSIFAndHybrid(t *testing.T) {
	v, err := glove.Load(convert(t))
	if err != nil {
		t.Fatal(err)
	}
	s := glove.NewSIF(v, 0)
	ctx := context.Background()
	e1, err := s.Embed(ctx, "The dog is playing")
	if err != nil {
		t.Fatal(err)
	}
	if n := cns.Cosine(e1, e1); math.Abs(n-1) > 1e-5 || len(e1) != assetstest.Dim {
		t.Fatalf("embedding not unit or wrong dim: %d", len(e1))
	}
	e2, _ := s.Embed(ctx, "The dog is playing")
	for i := range e1 {
		if e1[i] != e2[i] {
			t.Fatal("SIF is not deterministic")
		}
	}
	cat, _ := s.Embed(ctx, "a cat playing")
	guitar, _ := s.Embed(ctx, "guitar instrument")
	if cns.Cosine(e1, cat) <= cns.Cosine(e1, guitar) {
		t.Errorf("dog~cat %v <= dog~guitar %v", cns.Cosine(e1, cat), cns.Cosine(e1, guitar))
	}
	// Unknown words get n-gram vectors: shared spelling, close vectors.
	a, _ := s.Embed(ctx, "interleukin")
	b, _ := s.Embed(ctx, "interleukins")
	c, _ := s.Embed(ctx, "zqxj")
	if cns.Cosine(a, b) <= cns.Cosine(a, c) {
		t.Errorf("OOV n-grams: interleukin~interleukins %v <= ~zqxj %v", cns.Cosine(a, b), cns.Cosine(a, c))
	}
	if _, err := s.Embed(ctx, " ?! "); cns.ErrorCode(err) != cns.EINVALID {
		t.Errorf("punctuation only: %v, want EINVALID", err)
	}
	h, err := glove.NewHybrid(s, nlp.NewHashedEmbedder(16), 0.5)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := h.Embed(ctx, "The dog is playing")
	y, _ := h.Embed(ctx, "a cat playing")
	hx, _ := nlp.NewHashedEmbedder(16).Embed(ctx, "The dog is playing")
	hy, _ := nlp.NewHashedEmbedder(16).Embed(ctx, "a cat playing")
	want := 0.5*cns.Cosine(e1, cat) + 0.5*cns.Cosine(hx, hy)
	if h.Dim() != assetstest.Dim+16 || math.Abs(cns.Cosine(x, y)-want) > 1e-5 {
		t.Errorf("hybrid cosine %v, want %v (dim %d)", cns.Cosine(x, y), want, h.Dim())
	}
	if _, err := glove.NewHybrid(s, nlp.NewHashedEmbedder(16), 1.5); err == nil {
		t.Error("lexical weight 1.5 accepted")
	}
}
