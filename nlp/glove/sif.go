package glove

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/nlp"
)

// DefaultSIFA is the SIF smoothing parameter a in a/(a+p(w)). Arora et al. found 1e-4…1e-3 best; 1e-3
// scored higher on SICK TRAIN relatedness (the split the project tunes on).
const DefaultSIFA = 1e-3

// gloveVocab is the size of the GloVe 6B vocabulary, whose ranks the frequency estimate uses.
const gloveVocab = 400000

// WordProb estimates a word's unigram probability from its frequency rank with Zipf's law,
// p(r) = 1 / ((r+1)·H_N): GloVe ships ranks, not counts, and word frequencies in large corpora follow
// Zipf closely enough for SIF weights, which only need the order of magnitude.
func WordProb(rank int) float64 {
	hn := math.Log(gloveVocab) + 0.5772156649
	return 1 / (float64(rank+1) * hn)
}

// SIF is the smooth-inverse-frequency sentence embedder (Arora, Liang, Ma 2017, "A simple but
// tough-to-beat baseline for sentence embeddings"): the average of word vectors weighted by a/(a+p(w)),
// minus its projection on the common component, L2-normalised. Words missing from the table get a
// vector from hashed character n-grams (see OOV), so rare names and typos still count and two texts
// sharing one are closer. Safe for concurrent use.
//
// The common component is computed from the table itself, not from a corpus: it is the direction of the
// expected SIF vector of a random sentence, Σ p(w)·a/(a+p(w))·v(w). Arora et al. estimate it as the first
// principal component of the sentences being embedded, which a service cannot do one request at a time;
// for uncentred sentence vectors that component is dominated by this mean direction (checked on SICK
// TRAIN relatedness: it scores within 0.01 of the corpus estimate).
type SIF struct {
	vecs    *Vectors
	a       float64
	weights []float32 // per row
	oovW    float32
	oovNorm float32
	pc      []float32 // unit common component
	name    string
}

var _ cns.Embedder = (*SIF)(nil)

// NewSIF returns a SIF embedder over v with smoothing a (DefaultSIFA when a <= 0).
func NewSIF(v *Vectors, a float64) *SIF {
	if a <= 0 {
		a = DefaultSIFA
	}
	s := &SIF{vecs: v, a: a, weights: make([]float32, v.Len()), name: fmt.Sprintf("glove-sif@1/%d", v.Dim())}
	for r := range s.weights {
		p := WordProb(v.Rank(r))
		s.weights[r] = float32(a / (a + p))
	}
	// An unknown word is rarer than every word of the table.
	p := WordProb(gloveVocab)
	s.oovW = float32(a / (a + p))
	// Give hashed vectors the typical norm of the rarest tenth of the table, so an unknown word weighs
	// like a rare known one.
	var sum float64
	from := v.Len() * 9 / 10
	for r := from; r < v.Len(); r++ {
		sum += float64(v.Norm(r))
	}
	s.oovNorm = float32(sum / float64(max(1, v.Len()-from)))
	mean := make([]float64, v.Dim())
	for r := 0; r < v.Len(); r++ {
		w := WordProb(v.Rank(r)) * float64(s.weights[r])
		for i, x := range v.Row(r) {
			mean[i] += w * float64(x)
		}
	}
	s.pc = make([]float32, v.Dim())
	for i, x := range mean {
		s.pc[i] = float32(x)
	}
	if norm(s.pc) > 0 {
		cns.Normalize(s.pc)
	}
	return s
}

// Dim returns the vector dimension (the table's).
func (s *SIF) Dim() int { return s.vecs.Dim() }

// Name returns "glove-sif@1/<dim>".
func (s *SIF) Name() string { return s.name }

// Vectors returns the word table.
func (s *SIF) Vectors() *Vectors { return s.vecs }

// Weight returns the SIF weight of a table row.
func (s *SIF) Weight(row int) float32 { return s.weights[row] }

// Embed returns the unit SIF embedding of text. Text without letters or digits is EINVALID.
func (s *SIF) Embed(_ context.Context, text string) ([]float32, error) {
	if strings.TrimSpace(text) == "" {
		return nil, cns.Errorf(cns.EINVALID, "text to embed is empty")
	}
	toks := nlp.Tokens(text)
	if len(toks) == 0 {
		return nil, cns.Errorf(cns.EINVALID, "text to embed has no letters or digits")
	}
	v := make([]float32, s.Dim())
	s.Accumulate(v, toks)
	return s.finish(v), nil
}

// Accumulate adds the weighted vectors of toks to v (the SIF sum before component removal).
func (s *SIF) Accumulate(v []float32, toks []string) {
	var oov []float32
	for _, t := range toks {
		if r, ok := s.vecs.Lookup(t); ok {
			w := s.weights[r]
			for i, x := range s.vecs.Row(r) {
				v[i] += w * x
			}
			continue
		}
		if oov == nil {
			oov = make([]float32, len(v))
		}
		OOV(oov, t, s.oovNorm)
		for i, x := range oov {
			v[i] += s.oovW * x
		}
	}
}

// finish removes the common component and normalises. A vector that lies entirely along the component
// (a one-word text of a very common word) keeps its direction rather than becoming zero.
func (s *SIF) finish(v []float32) []float32 {
	p := dot(v, s.pc)
	raw := norm(v)
	for i := range v {
		v[i] -= p * s.pc[i]
	}
	if n := norm(v); n <= 1e-6*raw || n == 0 {
		for i := range v {
			v[i] += p * s.pc[i]
		}
	}
	if norm(v) == 0 {
		v[0] = 1 // cannot happen with the OOV fallback; keep the unit-vector contract anyway
	}
	return cns.Normalize(v)
}

// OOV writes into dst (overwriting it) the vector of an unknown word: the normalised sum of pseudo-random
// ±1 vectors of its character 3-, 4- and 5-grams (with "<" and ">" marking the ends), scaled to norm.
// Words sharing most n-grams ("interleukin"/"interleukins") get close vectors; the vectors are unrelated
// to the GloVe directions, so an unknown word adds its own direction instead of borrowing a wrong one.
func OOV(dst []float32, word string, norm float32) {
	clear(dst)
	padded := "<" + word + ">"
	n := 0
	for g := 3; g <= 5; g++ {
		for i := 0; i+g <= len(padded); i++ {
			addSigns(dst, padded[i:i+g])
			n++
		}
	}
	if n == 0 {
		addSigns(dst, padded)
	}
	var ss float32
	for _, x := range dst {
		ss += x * x
	}
	if ss == 0 {
		return
	}
	scale := norm / float32(math.Sqrt(float64(ss)))
	for i := range dst {
		dst[i] *= scale
	}
}

// addSigns adds the ±1 vector of gram: one 64-bit hash stream per 64 dimensions (splitmix64 seeded with
// FNV-1a of the gram), one bit per dimension.
func addSigns(dst []float32, gram string) {
	h := uint64(14695981039346656037)
	for i := 0; i < len(gram); i++ {
		h = (h ^ uint64(gram[i])) * 1099511628211
	}
	var bits uint64
	for i := range dst {
		if i%64 == 0 {
			h += 0x9e3779b97f4a7c15
			z := h
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
			z = (z ^ (z >> 27)) * 0x94d049bb133111eb
			bits = z ^ (z >> 31)
		}
		if bits&1 == 1 {
			dst[i]++
		} else {
			dst[i]--
		}
		bits >>= 1
	}
}

// Mean is the plain average of GloVe vectors (unknown words skipped), normalised: the baseline SIF
// improves on. It returns nil when no word is known.
func Mean(v *Vectors, text string) []float32 {
	out := make([]float32, v.Dim())
	n := 0
	for _, t := range nlp.Tokens(text) {
		if r, ok := v.Lookup(t); ok {
			for i, x := range v.Row(r) {
				out[i] += x
			}
			n++
		}
	}
	if n == 0 || norm(out) == 0 {
		return nil
	}
	return cns.Normalize(out)
}

func norm(v []float32) float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return float32(math.Sqrt(s))
}

// Finish turns a sum from Accumulate into the unit embedding (common component removed). It modifies v.
func (s *SIF) Finish(v []float32) []float32 { return s.finish(v) }

// WithComponent returns a copy of the embedder that removes u (normalised) instead of the table-derived
// common component; nil removes nothing. name replaces the embedder's name, since vectors change.
func (s *SIF) WithComponent(u []float32, name string) *SIF {
	c := *s
	if u == nil {
		c.pc = make([]float32, s.Dim())
	} else {
		c.pc = cns.Normalize(append([]float32(nil), u...))
	}
	c.name = name
	return &c
}

// FirstComponent returns the first principal direction (uncentred, by power iteration) of the SIF sums
// of texts: Arora et al.'s estimate of the common component from a corpus.
func (s *SIF) FirstComponent(texts []string) []float32 {
	d := s.Dim()
	var rows [][]float32
	for _, t := range texts {
		toks := nlp.Tokens(t)
		if len(toks) == 0 {
			continue
		}
		v := make([]float32, d)
		s.Accumulate(v, toks)
		rows = append(rows, cns.Normalize(v))
	}
	u := make([]float32, d)
	for i := range u {
		u[i] = 1
	}
	cns.Normalize(u)
	for it := 0; it < 100; it++ {
		next := make([]float32, d)
		for _, r := range rows {
			p := dot(r, u)
			for i, x := range r {
				next[i] += p * x
			}
		}
		u = cns.Normalize(next)
	}
	return u
}
