package assets_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cns-dev/cns/nlp/assets"
	"github.com/cns-dev/cns/nlp/assets/assetstest"
)

func TestConvertOpenAndReproducible(t *testing.T) {
	dir := assetstest.Build(t)
	a, err := assets.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	// "u.s." and "," cannot come out of the tokenizer and are dropped.
	if got, want := a.Vectors.Len(), len(assetstest.Words)-2; got != want {
		t.Errorf("vectors: %d words, want %d", got, want)
	}
	if _, ok := a.Vectors.Lookup("u.s."); ok {
		t.Error("untokenizable word u.s. was kept")
	}
	if a.Lexicon.Synsets() != 17 {
		t.Errorf("synsets = %d, want 17", a.Lexicon.Synsets())
	}
	dir2 := assetstest.Build(t)
	m1, _ := assets.Verify(dir)
	m2, _ := assets.Verify(dir2)
	for i := range m1.Files {
		if m1.Files[i] != m2.Files[i] {
			t.Errorf("conversion not reproducible: %+v vs %+v", m1.Files[i], m2.Files[i])
		}
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   string
	}{
		{"missing manifest", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, assets.ManifestFile)) }, "models not installed"},
		{"missing file", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "glove", "vocab.txt")) }, "no such file"},
		{"truncated", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "glove", "vectors.f16")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-3], 0o644)
		}, "truncated or replaced"},
		{"wrong checksum", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "wordnet", "antonyms.txt")
			b, _ := os.ReadFile(p)
			b[0] ^= 1
			os.WriteFile(p, b, 0o644)
		}, "corrupt or edited"},
		{"bad manifest", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, assets.ManifestFile), []byte("{"), 0o644)
		}, "re-run make models"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := assetstest.Build(t)
			tc.damage(t, dir)
			_, err := assets.Open(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open = %v, want an error containing %q", err, tc.want)
			}
			if tc.name == "missing manifest" && !errors.Is(err, assets.ErrMissing) {
				t.Errorf("error %v does not wrap ErrMissing", err)
			}
		})
	}
}
