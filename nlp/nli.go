package nlp

import (
	"context"
	"math"
	"strings"
	"sync"

	"github.com/cns-dev/cns"
)

// LexicalNLI is the built-in offline NLI: it scores entailment, neutrality and contradiction from lexical
// cues alone — how much of the hypothesis the premise covers, negation mismatch, antonyms, mismatched
// numbers and quantifiers — combined with hand-set weights and a softmax. It needs no model, is
// deterministic, and is safe for concurrent use.
//
// It is a heuristic, not a model: it catches the contradictions the critics care about most ("increases"
// vs "decreases", "is" vs "is not", 20% vs 50%) between sentences about the same thing, and answers
// neutral when the sentences share little. It does not understand paraphrase, world knowledge or scope.
type LexicalNLI struct {
	pool sync.Pool // *nliScratch; the zero LexicalNLI is ready to use
}

var _ cns.NLI = (*LexicalNLI)(nil)

// NewLexicalNLI returns the lexical NLI.
func NewLexicalNLI() *LexicalNLI {
	return &LexicalNLI{}
}

// Name returns "lexical-nli@1".
func (*LexicalNLI) Name() string { return "lexical-nli@1" }

// Logit weights. They were set by hand so the decision boundaries fall where the tests document them:
// entailment needs roughly two thirds of the hypothesis's weighted content covered by the premise; one
// clear contradiction cue on well-aligned sentences outweighs full coverage; without shared content
// neutral wins whatever the cues say.
const (
	entailBias      = -3.0
	entailCoverage  = 6.5 // × coverage in [0,1]
	neutralBias     = 1.0
	contradictBias  = -2.5
	contradictCue   = 6.0 // × cue strength × alignment²; also subtracted from entailment
	doubleFlipCost  = 2.0 // negation and antonym together ("not increase" vs "decrease"): not entailment
	quantifierCost  = 1.5 // "some" in the premise does not entail "all" in the hypothesis
	numberCue       = 0.8 // cue strength of a mismatched number (softer: 20% vs 50% may be rounding or a subgroup)
	quantifierCue   = 0.3
	maxCueStrength  = 1.5
	doubleFlipCue   = 0.2
	minContentCover = 1e-9
)

// Classify returns the entailment probabilities of hypothesis given premise. Empty texts, or texts
// without letters or digits, are EINVALID. ctx is not consulted: the work is microseconds of CPU.
func (n *LexicalNLI) Classify(_ context.Context, premise, hypothesis string) (cns.Entailment, error) {
	if strings.TrimSpace(premise) == "" || strings.TrimSpace(hypothesis) == "" {
		return cns.Entailment{}, cns.Errorf(cns.EINVALID, "premise and hypothesis must not be empty")
	}
	s, _ := n.pool.Get().(*nliScratch)
	if s == nil {
		s = &nliScratch{}
	}
	s.p.analyze(premise)
	s.h.analyze(hypothesis)
	var r cns.Entailment
	var err error
	if len(s.p.spans) == 0 || len(s.h.spans) == 0 {
		err = cns.Errorf(cns.EINVALID, "premise and hypothesis must contain words")
	} else {
		r = judge(&s.p, &s.h)
	}
	if cap(s.p.buf)+cap(s.h.buf) <= maxPooledBytes { // do not pin the buffers of a huge text
		n.pool.Put(s)
	}
	return r, err
}

// judge turns the cues of a premise/hypothesis pair into probabilities.
func judge(p, h *sentence) cns.Entailment {
	var total, covered, aligned float64
	var numMismatch, antonym bool
	for i := range h.items {
		it := &h.items[i]
		w := float64(it.w)
		total += w
		switch {
		case p.has(it.stem):
			covered += w
		case it.num && p.numbers > 0:
			numMismatch = true // a number the premise states differently
			aligned += w
		case !it.stop && !it.num && antonymOf(it.stem, p, h):
			antonym = true
			aligned += w
		}
	}
	cov, align := 1.0, 1.0
	if total > minContentCover {
		cov, align = covered/total, (covered+aligned)/total
	}

	negMismatch := p.neg != h.neg
	var cue, entailCost float64
	switch {
	case negMismatch && antonym:
		cue, entailCost = doubleFlipCue, doubleFlipCost
	case negMismatch || antonym:
		cue = 1
	}
	if numMismatch {
		cue += numberCue
	}
	if p.quant&quantExistential != 0 && p.quant&quantUniversal == 0 && h.quant&quantUniversal != 0 {
		cue += quantifierCue
		entailCost += quantifierCost
	}
	strength := math.Min(cue, maxCueStrength) * align * align

	ze := entailBias + entailCoverage*cov - contradictCue*strength - entailCost
	zn := neutralBias
	zc := contradictBias + contradictCue*strength
	return softmax3(ze, zn, zc)
}

func softmax3(ze, zn, zc float64) cns.Entailment {
	m := math.Max(ze, math.Max(zn, zc))
	e, n, c := math.Exp(ze-m), math.Exp(zn-m), math.Exp(zc-m)
	sum := e + n + c
	e, c = e/sum, c/sum
	// Neutral takes the rounding remainder so the three sum to exactly 1.
	return cns.Entailment{Entail: e, Neutral: 1 - e - c, Contradict: c}
}

// antonymOf reports whether the premise holds an antonym of the hypothesis stem hs that the hypothesis
// itself does not contain ("increase or decrease" on both sides is not a contradiction).
func antonymOf(hs []byte, p, h *sentence) bool {
	for _, a := range antonyms[string(hs)] {
		if p.hasString(a) && !h.hasString(a) {
			return true
		}
	}
	// Productive negative prefixes: unsafe/safe, nonsignificant/significant.
	for i := range p.items {
		ps := p.items[i].stem
		if p.items[i].stop || p.items[i].num {
			continue
		}
		if negPrefixed(hs, ps) || negPrefixed(ps, hs) {
			if !h.has(ps) {
				return true
			}
		}
	}
	return false
}

// negPrefixed reports whether a is b with a negative prefix ("un", "non").
func negPrefixed(a, b []byte) bool {
	if len(b) < 4 {
		return false
	}
	switch len(a) - len(b) {
	case 2:
		return a[0] == 'u' && a[1] == 'n' && string(a[2:]) == string(b)
	case 3:
		return a[0] == 'n' && a[1] == 'o' && a[2] == 'n' && string(a[3:]) == string(b)
	}
	return false
}

// nliScratch is the per-call working memory of Classify.
type nliScratch struct {
	p, h sentence
}

// sentence is the lexical analysis of one text.
type sentence struct {
	buf     []byte
	spans   []span
	items   []item  // every token that is not a cue word, stemmed
	index   []int32 // hash index over items, for long texts (see hasString)
	neg     bool    // some negation cue is present
	quant   uint8   // quantUniversal | quantExistential
	numbers int
}

type item struct {
	stem []byte
	w    float32
	stop bool
	num  bool
}

const (
	quantUniversal = 1 << iota
	quantExistential
)

// Cue words. Negation is presence, not parity: "no patients did not respond" is rare, while "neither …
// nor", "not … and not" are common and must not cancel out.
const (
	cueNeg = iota + 1
	cueUniversal
	cueExistential
	cueFail // negation only when followed by "to": "fails to reduce", but "heart failure" is content
	cueLack
)

var cues = func() map[string]uint8 {
	m := map[string]uint8{}
	for _, w := range []string{"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without", "nowhere"} {
		m[w] = cueNeg
	}
	for _, w := range []string{"lack", "lacks", "lacked", "lacking"} {
		m[w] = cueLack
	}
	for _, w := range []string{"fail", "fails", "failed", "failing"} {
		m[w] = cueFail
	}
	for _, w := range []string{"all", "every", "each", "always", "everyone", "everything", "everybody"} {
		m[w] = cueUniversal
	}
	for _, w := range []string{"some", "several", "many", "most", "few", "sometimes", "often", "usually", "occasionally"} {
		m[w] = cueExistential
	}
	return m
}()

func (s *sentence) analyze(text string) {
	s.buf, s.spans = lex(text, s.buf[:0], s.spans[:0])
	s.items, s.neg, s.quant, s.numbers = s.items[:0], false, 0, 0
	for i, sp := range s.spans {
		tok := s.buf[sp.start:sp.end]
		switch cues[string(tok)] {
		case cueNeg, cueLack:
			s.neg = true
			continue
		case cueFail:
			if i+1 < len(s.spans) && string(s.buf[s.spans[i+1].start:s.spans[i+1].end]) == "to" {
				s.neg = true
				continue
			}
		case cueUniversal:
			s.quant |= quantUniversal
			continue
		case cueExistential:
			s.quant |= quantExistential
			continue
		}
		// Stopwords count a little towards coverage (wordWeight gives them 0.1), so texts made of
		// them still compare.
		_, stop := stopwords[string(tok)]
		it := item{stem: stem(tok), w: wordWeight(tok, stop), stop: stop, num: isNumber(tok)}
		if it.num {
			s.numbers++
		}
		s.items = append(s.items, it)
	}
	s.buildIndex()
}

// linearScanMax is the item count up to which has scans the items; longer texts (an evidence paragraph
// as premise) get a hash index so a lookup stays O(1).
const linearScanMax = 32

func (s *sentence) has(stem []byte) bool { return s.hasString(string(stem)) }

func (s *sentence) hasString(stem string) bool {
	if len(s.items) <= linearScanMax {
		for i := range s.items {
			if string(s.items[i].stem) == stem {
				return true
			}
		}
		return false
	}
	mask := uint64(len(s.index) - 1)
	for i := hashString(stem) & mask; ; i = (i + 1) & mask {
		switch j := s.index[i]; {
		case j == 0:
			return false
		case string(s.items[j-1].stem) == stem:
			return true
		}
	}
}

// buildIndex fills the open-addressing table (item index + 1 per slot, 0 = empty, load ≤ 1/2) used by
// hasString on long texts.
func (s *sentence) buildIndex() {
	if len(s.items) <= linearScanMax {
		return
	}
	n := 64
	for n < 2*len(s.items) {
		n *= 2
	}
	if cap(s.index) >= n {
		s.index = s.index[:n]
		clear(s.index)
	} else {
		s.index = make([]int32, n)
	}
	mask := uint64(n - 1)
	for j := range s.items {
		i := hashString(string(s.items[j].stem)) & mask
		for s.index[i] != 0 {
			i = (i + 1) & mask
		}
		s.index[i] = int32(j + 1)
	}
}

func hashString(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return finish(h)
}
