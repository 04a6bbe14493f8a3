package nlp

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/cns-dev/cns"
)

// DefaultDim is the embedding dimension used when none is configured. 256 signed buckets keep the
// collision noise between unrelated sentences around 1/sqrt(256) ≈ 0.06 in cosine while staying cheap to
// store and search.
const DefaultDim = 256

// Feature weights relative to the word weight. Whole words carry the meaning; bigrams add word order
// ("drug reduces" vs "reduces drug"); character n-grams add morphology and typo tolerance ("supplement" ~
// "supplementation") but are spread over many features, so each one is worth less. The n-gram weights are
// divided by sqrt(number of n-grams of the word) so a long word's n-grams do not outweigh the word.
const (
	bigramWeight = 0.8
	char3Weight  = 0.45
	char4Weight  = 0.55
)

// Feature-kind tags mixed into the hash so a word, a bigram and an n-gram with the same bytes are
// different features.
const (
	tagWord   = 'w'
	tagBigram = 'b'
	tagChar   = 'c'
)

// HashedEmbedder is the built-in offline embedder: signed feature hashing of word unigrams, content-word
// bigrams and character 3/4-grams, weighted by a fixed IDF-like weight and sublinear term frequency, then
// L2-normalised. It needs no model file, is deterministic across runs and machines, and is safe for
// concurrent use (per-call scratch comes from a sync.Pool). Create it with NewHashedEmbedder.
//
// It captures lexical overlap, not meaning: paraphrases that share words score high, synonyms without
// shared characters do not. That is enough for novelty, pair search and deduplication in an offline
// deployment; a model-based backend can replace it behind cns.Embedder.
type HashedEmbedder struct {
	dim  int
	name string
	pool sync.Pool // *embedScratch
}

var _ cns.Embedder = (*HashedEmbedder)(nil)

// NewHashedEmbedder returns an embedder producing dim-dimensional vectors (DefaultDim when dim <= 0).
func NewHashedEmbedder(dim int) *HashedEmbedder {
	if dim <= 0 {
		dim = DefaultDim
	}
	return &HashedEmbedder{dim: dim, name: fmt.Sprintf("hashed-ngram@1/%d", dim)}
}

// Dim returns the vector dimension.
func (e *HashedEmbedder) Dim() int { return e.dim }

// Name returns "hashed-ngram@1/<dim>". The dimension is part of the name because vectors of different
// dimensions (or a future change of features, bumping @1) are not comparable and indexes must be rebuilt.
func (e *HashedEmbedder) Name() string { return e.name }

// Embed returns the unit-length embedding of text. Text without any letter or digit is EINVALID: it has
// no direction, and a zero vector would silently match nothing. ctx is not consulted: the work is a few
// microseconds of CPU with nothing to cancel.
func (e *HashedEmbedder) Embed(_ context.Context, text string) ([]float32, error) {
	if strings.TrimSpace(text) == "" {
		return nil, cns.Errorf(cns.EINVALID, "text to embed is empty")
	}
	s, _ := e.pool.Get().(*embedScratch)
	if s == nil {
		s = newEmbedScratch()
	}
	defer func() {
		if len(s.keys) <= maxPooledSlots { // do not pin the table of a huge text
			e.pool.Put(s)
		}
	}()
	s.reset()
	s.buf, s.spans = lex(text, s.buf, s.spans)
	if len(s.spans) == 0 {
		return nil, cns.Errorf(cns.EINVALID, "text to embed has no letters or digits")
	}
	s.features()

	v := make([]float32, e.dim)
	dim := uint64(e.dim)
	for _, slot := range s.used {
		h := s.keys[slot]
		w := s.weight[slot]
		if tf := s.count[slot]; tf > 1 {
			w *= 1 + float32(math.Log(float64(tf))) // sublinear tf: repetition adds little
		}
		// Bucket from the low bits (via modulo), sign from the top bit: independent after fmix64.
		if h>>63 != 0 {
			w = -w
		}
		v[h%dim] += w
	}
	return cns.Normalize(v), nil
}

// Scratch larger than these (from texts of tens of kilobytes) is dropped after use instead of pooled.
const (
	maxPooledSlots = 1 << 15
	maxPooledBytes = 64 << 10
)

// embedScratch is the per-call working memory: the lexer output, the stemmed tokens and an
// open-addressing table that counts each distinct feature (for tf) and remembers its weight.
type embedScratch struct {
	buf   []byte
	spans []span
	pad   []byte  // "<word>" for character n-grams
	runes []int32 // rune start offsets in pad, for non-ASCII words

	keys   []uint64 // 0 = empty slot
	count  []uint32
	weight []float32
	used   []int32 // occupied slots in insertion order: deterministic summation, O(n) reset
}

func newEmbedScratch() *embedScratch {
	const slots = 1024
	return &embedScratch{
		buf:    make([]byte, 0, 512),
		spans:  make([]span, 0, 64),
		pad:    make([]byte, 0, 64),
		keys:   make([]uint64, slots),
		count:  make([]uint32, slots),
		weight: make([]float32, slots),
		used:   make([]int32, 0, slots/2),
	}
}

func (s *embedScratch) reset() {
	for _, slot := range s.used {
		s.keys[slot] = 0
	}
	s.buf, s.spans, s.used = s.buf[:0], s.spans[:0], s.used[:0]
}

// features adds every feature of the lexed text to the table.
func (s *embedScratch) features() {
	// Size the table for the worst case up front (about two n-grams per byte plus words and bigrams) so
	// inserts never rehash; the table only grows, and is pooled.
	if need := 2 * (2*len(s.buf) + 3*len(s.spans) + 8); need > len(s.keys) {
		n := len(s.keys)
		for n < need {
			n *= 2
		}
		s.keys, s.count, s.weight = make([]uint64, n), make([]uint32, n), make([]float32, n)
	}
	var prev []byte // previous content word's stem, for bigrams
	var prevW float32
	for _, sp := range s.spans {
		tok := s.buf[sp.start:sp.end]
		_, stop := stopwords[string(tok)]
		w := wordWeight(tok, stop)
		st := stem(tok)
		s.add(finish(hashBytes(hashByte(fnvOffset, tagWord), st)), w)
		if stop {
			continue // stopwords break no bigram ("playing a guitar" → "play guitar") and get no n-grams
		}
		if prev != nil {
			h := hashByte(fnvOffset, tagBigram)
			h = hashBytes(h, prev)
			h = hashByte(h, 0)
			h = hashBytes(h, st)
			s.add(finish(h), bigramWeight*0.5*(w+prevW))
		}
		prev, prevW = st, w
		if !isNumber(tok) {
			s.charGrams(tok, sp.ascii, w)
		}
	}
}

// charGrams adds the character 3- and 4-grams of "<tok>" (the markers distinguish prefixes and suffixes
// from word-internal n-grams).
func (s *embedScratch) charGrams(tok []byte, ascii bool, w float32) {
	s.pad = append(append(append(s.pad[:0], '<'), tok...), '>')
	pad := s.pad
	if ascii {
		for n := 3; n <= 4; n++ {
			cnt := len(pad) - n + 1
			if cnt <= 0 {
				continue
			}
			cw := gramWeight(n, cnt, w)
			for i := 0; i < cnt; i++ {
				s.add(finish(hashBytes(hashByte(fnvOffset, tagChar), pad[i:i+n])), cw)
			}
		}
		return
	}
	s.runes = s.runes[:0]
	for i := range string(pad) {
		s.runes = append(s.runes, int32(i))
	}
	s.runes = append(s.runes, int32(len(pad)))
	nr := len(s.runes) - 1
	for n := 3; n <= 4; n++ {
		cnt := nr - n + 1
		if cnt <= 0 {
			continue
		}
		cw := gramWeight(n, cnt, w)
		for i := 0; i < cnt; i++ {
			s.add(finish(hashBytes(hashByte(fnvOffset, tagChar), pad[s.runes[i]:s.runes[i+n]])), cw)
		}
	}
}

func gramWeight(n, cnt int, w float32) float32 {
	base := float32(char3Weight)
	if n == 4 {
		base = char4Weight
	}
	return base * w / float32(math.Sqrt(float64(cnt)))
}

// add counts one occurrence of feature h. A feature seen with different weights (an n-gram shared by a
// short and a long word) keeps the largest, which does not depend on order.
func (s *embedScratch) add(h uint64, w float32) {
	if h == 0 {
		h = 1 // 0 marks an empty slot
	}
	mask := uint64(len(s.keys) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.keys[i] {
		case h:
			s.count[i]++
			if w > s.weight[i] {
				s.weight[i] = w
			}
			return
		case 0:
			s.keys[i], s.count[i], s.weight[i] = h, 1, w
			s.used = append(s.used, int32(i))
			return
		}
	}
}

// FNV-1a 64, followed by the murmur3 fmix64 finaliser: FNV's low bits (the bucket) and top bit (the sign)
// are weakly mixed for short inputs, and the finaliser makes them independent.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

func hashBytes(h uint64, p []byte) uint64 {
	for _, b := range p {
		h = (h ^ uint64(b)) * fnvPrime
	}
	return h
}

func finish(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
