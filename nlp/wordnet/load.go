package wordnet

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
)

// maxHypernymDepth bounds how far up the hypernym graph a "more general" relation is looked for. Seven
// levels reach "animal" from "dog" and "instrument" from "guitar"; beyond that the ancestors ("entity",
// "physical object") are too general to say anything about a pair of sentences.
const maxHypernymDepth = 7

type synset struct {
	pos     byte
	lemmas  []int32
	hyper   []int32
	similar []int32
}

type exception struct {
	pos  byte
	base string
}

// Lexicon is a loaded WordNet: synsets with their lemmas and hypernyms, lemma antonym pairs and the
// morphological exceptions. It is read-only after Load and safe for concurrent use (the per-lemma
// ancestor sets are computed on first use and published atomically).
type Lexicon struct {
	synsets   []synset
	lemmaID   map[string]int32
	lemmas    []string
	lemmaSyn  [][]int32 // lemma → synsets, sorted
	lemmaPOS  []uint8   // lemma → bit set of parts of speech
	antonyms  [][]int32 // lemma → its antonym lemmas, sorted (most lemmas have none: Antonym costs nothing for them)
	exc       map[string][]exception
	ancestors []atomic.Pointer[[]int32] // lemma → sorted synsets reachable by ≤ maxHypernymDepth hypernym steps
}

// Load reads the files Convert wrote into dir. Every inconsistency is an error naming the file and line.
func Load(dir string) (*Lexicon, error) {
	l := &Lexicon{lemmaID: map[string]int32{}, exc: map[string][]exception{}}
	path := filepath.Join(dir, SynsetsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("wordnet: read synsets: %w", err)
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return nil, fmt.Errorf("wordnet: %s: empty or missing final newline (truncated?)", path)
	}
	lines := bytes.Split(b[:len(b)-1], []byte{'\n'})
	l.synsets = make([]synset, len(lines))
	for i, line := range lines {
		f := bytes.Split(line, []byte{'\t'})
		if len(f) != 4 || len(f[0]) != 1 {
			return nil, fmt.Errorf("wordnet: %s line %d: want 4 tab-separated fields", path, i+1)
		}
		s := &l.synsets[i]
		s.pos = f[0][0]
		for _, w := range bytes.Fields(f[1]) {
			s.lemmas = append(s.lemmas, l.intern(string(w)))
		}
		if s.hyper, err = parseInts(f[2], len(lines)); err != nil {
			return nil, fmt.Errorf("wordnet: %s line %d: hypernyms: %w", path, i+1, err)
		}
		if s.similar, err = parseInts(f[3], len(lines)); err != nil {
			return nil, fmt.Errorf("wordnet: %s line %d: similar: %w", path, i+1, err)
		}
	}
	l.lemmaSyn = make([][]int32, len(l.lemmas))
	l.lemmaPOS = make([]uint8, len(l.lemmas))
	for i, s := range l.synsets {
		for _, id := range s.lemmas {
			l.lemmaSyn[id] = append(l.lemmaSyn[id], int32(i))
			l.lemmaPOS[id] |= posBit(s.pos)
		}
	}
	l.ancestors = make([]atomic.Pointer[[]int32], len(l.lemmas))

	path = filepath.Join(dir, AntonymsFile)
	var pairs [][2]int32
	if err := eachLine(path, func(n int, f [][]byte) error {
		if len(f) != 2 {
			return fmt.Errorf("want \"a<TAB>b\"")
		}
		pairs = append(pairs, [2]int32{l.intern(string(f[0])), l.intern(string(f[1]))})
		return nil
	}); err != nil {
		return nil, err
	}
	l.antonyms = make([][]int32, len(l.lemmas))
	for _, p := range pairs {
		l.antonyms[p[0]] = append(l.antonyms[p[0]], p[1])
		l.antonyms[p[1]] = append(l.antonyms[p[1]], p[0])
	}
	for i, a := range l.antonyms {
		if len(a) > 1 {
			slices.Sort(a)
			l.antonyms[i] = slices.Compact(a)
		}
	}
	// Antonym lemmas that are in no synset were interned above; give them empty slots.
	for len(l.lemmaSyn) < len(l.lemmas) {
		l.lemmaSyn = append(l.lemmaSyn, nil)
		l.lemmaPOS = append(l.lemmaPOS, 0)
	}
	if len(l.ancestors) < len(l.lemmas) {
		l.ancestors = make([]atomic.Pointer[[]int32], len(l.lemmas))
	}

	path = filepath.Join(dir, ExceptionsFile)
	if err := eachLine(path, func(n int, f [][]byte) error {
		if len(f) != 3 || len(f[0]) != 1 {
			return fmt.Errorf("want \"pos<TAB>inflected<TAB>base\"")
		}
		w := string(f[1])
		l.exc[w] = append(l.exc[w], exception{pos: f[0][0], base: string(f[2])})
		return nil
	}); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Lexicon) intern(w string) int32 {
	if id, ok := l.lemmaID[w]; ok {
		return id
	}
	id := int32(len(l.lemmas))
	l.lemmaID[w] = id
	l.lemmas = append(l.lemmas, w)
	return id
}

func eachLine(path string, fn func(line int, fields [][]byte) error) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("wordnet: read %s: %w", filepath.Base(path), err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		return fmt.Errorf("wordnet: %s: missing final newline (truncated?)", path)
	}
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte{'\n'}), []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		if err := fn(i+1, bytes.Split(line, []byte{'\t'})); err != nil {
			return fmt.Errorf("wordnet: %s line %d: %w", path, i+1, err)
		}
	}
	return nil
}

func parseInts(b []byte, limit int) ([]int32, error) {
	var out []int32
	for _, f := range bytes.Fields(b) {
		n, err := strconv.Atoi(string(f))
		if err != nil || n < 0 || n >= limit {
			return nil, fmt.Errorf("bad synset number %q", f)
		}
		out = append(out, int32(n))
	}
	return out, nil
}

func posBit(pos byte) uint8 {
	switch pos {
	case 'n':
		return 1
	case 'v':
		return 2
	case 'a':
		return 4
	case 'r':
		return 8
	}
	return 0
}

// Synsets is the number of synsets; Lemmas the number of distinct lemmas.
func (l *Lexicon) Synsets() int { return len(l.synsets) }

// Lemmas is the number of distinct lemmas.
func (l *Lexicon) Lemmas() int { return len(l.lemmas) }

// Lemma is a lemma id (see Base).
type Lemma = int32

// Base returns the lemma ids of a lower-case word's base forms, following WordNet's morphy: the word
// itself when it is a lemma, the exception lists ("mice" → "mouse", "ran" → "run"), then the detachment
// rules of each part of speech ("studies" → "study", "playing" → "play"), keeping only results that are
// lemmas. dst is reused.
func (l *Lexicon) Base(dst []Lemma, word string) []Lemma {
	dst = dst[:0]
	add := func(w string) {
		if id, ok := l.lemmaID[w]; ok && len(l.lemmaSyn[id]) > 0 && !slices.Contains(dst, id) {
			dst = append(dst, id)
		}
	}
	add(word)
	for _, e := range l.exc[word] {
		add(e.base)
	}
	for _, r := range detach {
		if len(word) > len(r.suffix)+1 && word[len(word)-len(r.suffix):] == r.suffix {
			base := word[:len(word)-len(r.suffix)] + r.ending
			if id, ok := l.lemmaID[base]; ok && l.lemmaPOS[id]&posBit(r.pos) != 0 && !slices.Contains(dst, id) {
				dst = append(dst, id)
			}
		}
	}
	return dst
}

// detach are WordNet's morphy rules of detachment.
var detach = []struct {
	pos            byte
	suffix, ending string
}{
	{'n', "s", ""}, {'n', "ses", "s"}, {'n', "xes", "x"}, {'n', "zes", "z"}, {'n', "ches", "ch"},
	{'n', "shes", "sh"}, {'n', "men", "man"}, {'n', "ies", "y"},
	{'v', "s", ""}, {'v', "ies", "y"}, {'v', "es", "e"}, {'v', "es", ""}, {'v', "ed", "e"},
	{'v', "ed", ""}, {'v', "ing", "e"}, {'v', "ing", ""},
	{'a', "er", ""}, {'a', "est", ""}, {'a', "er", "e"}, {'a', "est", "e"},
}

// LemmaString returns a lemma id's text.
func (l *Lexicon) LemmaString(id Lemma) string { return l.lemmas[id] }

// Synonym reports whether two lemmas share a synset.
func (l *Lexicon) Synonym(a, b Lemma) bool {
	return a == b || Intersect(l.lemmaSyn[a], l.lemmaSyn[b])
}

// Antonym reports whether two lemmas are WordNet antonyms (directly, or through an adjective cluster).
func (l *Lexicon) Antonym(a, b Lemma) bool {
	_, ok := slices.BinarySearch(l.antonyms[a], b)
	return ok
}

// Hypernym reports whether general names a more general concept than specific: some synset of general
// is a proper ancestor (within maxHypernymDepth hypernym steps) of some noun or verb synset of specific,
// as "animal" is of "dog".
func (l *Lexicon) Hypernym(general, specific Lemma) bool {
	anc := l.ancestorsOf(specific)
	if len(anc) == 0 {
		return false
	}
	for _, s := range l.lemmaSyn[general] {
		if _, ok := slices.BinarySearch(anc, s); ok {
			return true
		}
	}
	return false
}

// Concepts returns the sorted union of the synsets of lemmas, and Ancestors the sorted union of their
// ancestors (as Hypernym reads them): for words compared with many others, Hypernym(a, b) over every
// a of one word's lemmas and b of the other's is Intersect(Concepts(as), Ancestors(bs)), computed once
// per word instead of once per pair of lemmas.
func (l *Lexicon) Concepts(lemmas []Lemma) []int32 {
	return union(lemmas, func(id Lemma) []int32 { return l.lemmaSyn[id] })
}

// Ancestors: see Concepts.
func (l *Lexicon) Ancestors(lemmas []Lemma) []int32 { return union(lemmas, l.ancestorsOf) }

func union(lemmas []Lemma, of func(Lemma) []int32) []int32 {
	switch len(lemmas) {
	case 0:
		return nil
	case 1:
		return of(lemmas[0]) // sorted already; shared, read-only
	}
	var out []int32
	for _, id := range lemmas {
		out = append(out, of(id)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Intersect reports whether two sorted sets share an element.
func Intersect(a, b []int32) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(a) == 0 {
		return false
	}
	if len(b) > 8*len(a) {
		for _, x := range a {
			if _, ok := slices.BinarySearch(b, x); ok {
				return true
			}
		}
		return false
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			return true
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return false
}

func (l *Lexicon) ancestorsOf(id Lemma) []int32 {
	if p := l.ancestors[id].Load(); p != nil {
		return *p
	}
	var out []int32
	frontier := append([]int32(nil), l.lemmaSyn[id]...)
	seen := map[int32]bool{}
	for depth := 0; depth < maxHypernymDepth && len(frontier) > 0; depth++ {
		var next []int32
		for _, s := range frontier {
			for _, h := range l.synsets[s].hyper {
				if !seen[h] {
					seen[h] = true
					out = append(out, h)
					next = append(next, h)
				}
			}
		}
		frontier = next
	}
	slices.Sort(out)
	l.ancestors[id].Store(&out)
	return out
}
