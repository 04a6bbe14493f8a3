package nlimodel

import (
	"math"
	"strings"

	"github.com/cns-dev/cns/nlp"
	"github.com/cns-dev/cns/nlp/glove"
	"github.com/cns-dev/cns/nlp/wordnet"
)

// Resources are what the features read: GloVe vectors (through the SIF embedder, which also gives word
// weights) and WordNet.
type Resources struct {
	SIF     *glove.SIF
	Lexicon *wordnet.Lexicon
}

// FeatureNames names the features, in order. The model file stores them, and loading refuses a model
// trained on another list.
var FeatureNames = []string{
	"bias_one",         // constant 1: lets a linear model learn class priors with standardised inputs
	"cov_exact",        // weighted share of hypothesis content words found (same stem or lemma) in the premise
	"cov_soft",         // weighted mean over hypothesis words of the best match (exact 1, synonym .95, hypernym .9, else GloVe cosine)
	"min_sim",          // worst-matched hypothesis word
	"unaligned",        // weighted share of hypothesis words with no match above 0.5 and no WordNet relation
	"max_unaligned_w",  // SIF weight of the rarest unaligned hypothesis word (a specific new word → neutral)
	"rev_cov_exact",    // weighted share of premise content words found in the hypothesis
	"rev_cov_soft",     // the same with soft matches
	"wn_syn",           // share of hypothesis words aligned only through a WordNet synonym
	"wn_hyper",         // share aligned through a premise word's hypernym (premise "dog", hypothesis "animal")
	"wn_hypo",          // share that are hyponyms of a premise word (premise "animal", hypothesis "dog")
	"antonym",          // hypothesis words opposed (WordNet or built-in antonyms, un-/non- prefixes) by a premise word, capped at 2
	"antonym_x_cov",    // antonym × cov_soft: an opposite word only matters between aligned sentences
	"neg_p",            // negation cues in the premise (capped at 2)
	"neg_h",            // negation cues in the hypothesis
	"neg_mismatch",     // exactly one side negated
	"neg_mismatch_cov", // neg_mismatch × cov_soft
	"neg_only_h",       // negation only in the hypothesis
	"quant_univ_h",     // universal quantifier in the hypothesis only
	"quant_exist_p",    // existential quantifier in the premise, universal in the hypothesis
	"num_h",            // the hypothesis states a number
	"num_mismatch",     // a hypothesis number absent from a premise that states numbers
	"num_new",          // a hypothesis number and no number in the premise
	"num_match",        // share of hypothesis numbers found in the premise
	"unit_mismatch",    // a unit or month word of the hypothesis absent from a premise that has one
	"len_p",            // log(1 + premise tokens)
	"len_h",            // log(1 + hypothesis tokens)
	"len_ratio",        // hypothesis tokens / premise tokens, capped at 3
	"jaccard",          // token-set Jaccard
	"jaccard_content",  // content-stem-set Jaccard
	"sif_cos",          // cosine of the SIF sentence embeddings
	"bigram_cov",       // share of hypothesis content bigrams present in the premise
	"order_swap",       // share of discordant pairs among exactly aligned words (subject/object swaps)
	"mismatch_x_cov",   // (antonym or negation or number mismatch) × cov_exact²
}

// NumFeatures is len(FeatureNames).
var NumFeatures = len(FeatureNames)

// Token kinds.
const (
	kContent = iota
	kStop
	kNeg
	kUniv
	kExist
)

var cueKinds = func() map[string]uint8 {
	m := map[string]uint8{}
	for _, w := range []string{"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without", "nowhere", "noone", "cannot"} {
		m[w] = kNeg
	}
	for _, w := range []string{"all", "every", "each", "always", "everyone", "everything", "everybody"} {
		m[w] = kUniv
	}
	for _, w := range []string{"some", "several", "many", "most", "few", "sometimes", "often", "usually", "occasionally", "somebody", "someone", "something"} {
		m[w] = kExist
	}
	return m
}()

// unitWords are measurement units and month names: "5 mg" vs "5 g", "May 2003" vs "June 2003".
var unitWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields("mg g kg ug mcg ml l mm cm m km percent mmol mol nm hz kb mb gb " +
		"second seconds minute minutes hour hours day days week weeks month months year years decade decades " +
		"january february march april june july august september october november december " +
		"dollar dollars euro euros pound pounds million billion thousand hundred") {
		unitWords[w] = true
	}
}

type token struct {
	text   string
	stem   string
	row    int32 // GloVe row, -1 when unknown
	w      float32
	kind   uint8
	num    bool
	pos    int
	lemmas []wordnet.Lemma
	// What related reads of the lemmas, computed once per word: their synsets and their ancestors
	// (wordnet.Lexicon.Concepts), and the built-in antonyms of the stem.
	concepts, ancestors []int32
	sig                 *conceptSig // of concepts and ancestors; nil when both are empty
	antStems            []string
}

// conceptSig is a 4096-bit signature of a word's concepts and ancestors (one hashed bit each): a concept
// of one word whose bit is clear in another word's signature is neither a concept nor an ancestor of
// that word. A word has ~5–30 concepts and ~50–300 ancestors, so most pairs of unrelated words are told
// apart by a few bit tests, without the sorted-set intersections (which were a quarter of an ingest
// worker's CPU). Bits only rule out: an intersection still decides what they let through.
type conceptSig [64]uint64

func conceptBit(c int32) (word int, bit uint64) {
	h := uint32(c) * 2654435761 // Fibonacci hashing: the top 12 bits spread consecutive ids
	b := h >> 20
	return int(b >> 6), 1 << (b & 63)
}

func newConceptSig(sets ...[]int32) *conceptSig {
	var s *conceptSig
	for _, set := range sets {
		for _, c := range set {
			if s == nil {
				s = new(conceptSig)
			}
			w, b := conceptBit(c)
			s[w] |= b
		}
	}
	return s
}

// mayHold reports whether some of cs may be in the signed sets (false: none is).
func (s *conceptSig) mayHold(cs []int32) bool {
	if s == nil {
		return false
	}
	for _, c := range cs {
		if w, b := conceptBit(c); s[w]&b != 0 {
			return true
		}
	}
	return false
}

// sentence is the analysis of one text.
type sentence struct {
	toks    []token
	content []int // indexes of content tokens
	neg     int
	univ    bool
	exist   bool
	nums    []string
	units   []string
	sif     []float32
	// Computed on first use (features): a sentence of a batch is compared with many others.
	fin     []float32          // sif after common-component removal
	words   map[string]bool    // token texts
	stems   map[string]bool    // content-token stems
	bigrams map[[2]string]bool // content-stem bigrams
}

// memo is what the pairs of one batch share (NLI.ClassifyBatch): each distinct text is split and
// analysed once, and a sentence's sets, bigrams and finished SIF vector are computed once. An ingested
// document is the premise of every claim drawn from it, and its sentences were analysed once per claim.
// (Keeping the word matches of a batch too was measured and dropped: the pairs of words of a document's
// claims against its sentences rarely repeat, so storing them cost more than it saved.) Not safe for
// concurrent use.
type memo struct {
	splits    map[string][]string
	sentences map[string]*sentence
	held      int // tokens of the sentences kept
}

// memoTokens bounds the tokens a memo keeps (each up to ~600 bytes with its concept signature): a batch
// is one SNO, and an SNO at the request limits (256 evidence items of 64 KB) would otherwise hold
// hundreds of MB of analyses until its grounding ends. Past it, texts are analysed afresh as Classify
// does. An ingested 2 KB document with its claims keeps under 2,000.
var memoTokens = 1 << 16

func newMemo() *memo {
	return &memo{splits: map[string][]string{}, sentences: map[string]*sentence{}}
}

// split is SplitSentences(premise, maxSentences), from m when it has it (m may be nil).
func (m *memo) split(premise string) []string {
	if m == nil {
		return SplitSentences(premise, maxSentences)
	}
	s, ok := m.splits[premise]
	if !ok {
		s = SplitSentences(premise, maxSentences)
		m.splits[premise] = s
	}
	return s
}

// analyzeIn is analyze(text), from m when it has it (m may be nil).
func (r *Resources) analyzeIn(text string, m *memo) *sentence {
	if m == nil {
		return r.analyze(text)
	}
	if s, ok := m.sentences[text]; ok {
		return s
	}
	s := r.analyze(text)
	if m.held+len(s.toks) <= memoTokens {
		m.sentences[text] = s
		m.held += len(s.toks)
	}
	return s
}

func (r *Resources) analyze(text string) *sentence {
	words := nlp.Tokens(text)
	s := &sentence{toks: make([]token, len(words))}
	vecs := r.SIF.Vectors()
	for i, w := range words {
		t := &s.toks[i]
		t.text, t.pos, t.row = w, i, -1
		if k, ok := cueKinds[w]; ok {
			t.kind = k
			switch k {
			case kNeg:
				s.neg++
			case kUniv:
				s.univ = true
			case kExist:
				s.exist = true
			}
			continue
		}
		// "fail to", "lack", "absence of" negate what follows.
		if (strings.HasPrefix(w, "fail") && i+1 < len(words) && words[i+1] == "to") || w == "lack" || w == "lacks" || w == "lacked" || w == "lacking" || w == "absence" {
			t.kind = kNeg
			s.neg++
			continue
		}
		if nlp.IsStopword(w) {
			t.kind = kStop
			continue
		}
		t.kind = kContent
		t.stem = nlp.Stem(w)
		t.num = w[0] >= '0' && w[0] <= '9'
		if row, ok := vecs.Lookup(w); ok {
			t.row = int32(row)
			t.w = r.SIF.Weight(row)
		} else {
			t.w = 1
		}
		if t.num {
			s.nums = append(s.nums, w)
		} else if unitWords[w] {
			s.units = append(s.units, w)
		}
		if !t.num {
			t.antStems = nlp.AntonymStems(t.stem)
			if r.Lexicon != nil {
				t.lemmas = r.Lexicon.Base(nil, w)
				t.concepts = r.Lexicon.Concepts(t.lemmas)
				t.ancestors = r.Lexicon.Ancestors(t.lemmas)
				t.sig = newConceptSig(t.concepts, t.ancestors)
			}
		}
		s.content = append(s.content, i)
	}
	s.sif = make([]float32, r.SIF.Dim())
	r.SIF.Accumulate(s.sif, words)
	return s
}

// relation of a hypothesis word to the premise.
const (
	relNone = iota
	relExact
	relSyn
	relHyper // hypothesis word is more general
	relHypo  // hypothesis word is more specific
)

func (r *Resources) related(h, p *token) (rel int, ant bool) {
	if h.stem == p.stem || h.text == p.text {
		return relExact, false
	}
	lex := r.Lexicon
	for _, a := range h.lemmas {
		for _, b := range p.lemmas {
			if a == b {
				return relExact, false
			}
		}
	}
	if !h.num && !p.num {
		for _, a := range h.antStems {
			if a == p.stem {
				ant = true
			}
		}
		if !ant && (nlp.NegPrefixed(h.stem, p.stem) || nlp.NegPrefixed(p.stem, h.stem)) {
			ant = true
		}
	}
	if lex == nil {
		return relNone, ant
	}
	// Synonyms and antonyms, pair of lemmas after pair: the first synonymous pair ends the search with
	// the antonyms read until then. Most words share no synset, which the words' concepts tell at once.
	hFits := p.sig.mayHold(h.concepts) // some concept of h may be a concept or an ancestor of p
	synonyms := hFits && wordnet.Intersect(h.concepts, p.concepts)
	for _, a := range h.lemmas {
		for _, b := range p.lemmas {
			if !ant && lex.Antonym(a, b) {
				ant = true
			}
			if synonyms && lex.Synonym(a, b) {
				return relSyn, ant
			}
		}
	}
	// Hypernym(a, b) for some lemma a of h and b of p, and then the other way round.
	if hFits && wordnet.Intersect(h.concepts, p.ancestors) {
		return relHyper, ant
	}
	if h.sig.mayHold(p.concepts) && wordnet.Intersect(p.concepts, h.ancestors) {
		return relHypo, ant
	}
	return relNone, ant
}

// match is how well a premise word matches a hypothesis word: the similarity s (exact 1, synonym .95,
// hypernym .9, hyponym .7, else the GloVe cosine, at most .3 between numbers; at most .5 when opposed),
// the WordNet relation, and whether the words are opposed.
type match struct {
	s   float64
	rel int
	ant bool
}

func (r *Resources) match(h, p *token) match {
	rel, ant := r.related(h, p)
	var s float64
	switch rel {
	case relExact:
		s = 1
	case relSyn:
		s = 0.95
	case relHyper:
		s = 0.9
	case relHypo:
		s = 0.7
	default:
		s = r.cosine(h, p)
		if h.num || p.num {
			s = math.Min(s, 0.3) // different numbers are not the same quantity however close
		}
	}
	if ant {
		s = math.Min(s, 0.5)
	}
	return match{s, rel, ant}
}

func (r *Resources) cosine(h, p *token) float64 {
	if h.row < 0 || p.row < 0 {
		return 0
	}
	return float64(r.SIF.Vectors().Cosine(int(h.row), int(p.row)))
}

// Features computes the feature vector of a premise/hypothesis pair into out (len NumFeatures).
func (r *Resources) Features(premise, hypothesis string, out []float64) {
	r.features(r.analyze(premise), r.analyze(hypothesis), out)
}

func (r *Resources) features(p, h *sentence, out []float64) {
	clear(out)
	f := func(name string, v float64) { out[featureIndex[name]] = v }
	f("bias_one", 1)

	var wTot, wExact, wSoft, wUnal, wSyn, wHyper, wHypo float64
	minSim, maxUnalW := 1.0, 0.0
	antonyms := 0
	type align struct{ hp, pp int }
	var exactAl []align
	bestP := make([]float64, len(p.content)) // best soft match of each premise word, for reverse coverage
	for _, hi := range h.content {
		ht := &h.toks[hi]
		w := float64(ht.w)
		wTot += w
		best, bestRel, bestPP, isAnt := 0.0, relNone, -1, false
		for j, pi := range p.content {
			x := r.match(ht, &p.toks[pi])
			s, rel := x.s, x.rel
			if x.ant {
				isAnt = true
			}
			if s > best || (s == best && rel > bestRel) {
				best, bestRel, bestPP = s, rel, pi
			}
			if s > bestP[j] {
				bestP[j] = s
			}
		}
		if isAnt && bestRel != relExact {
			antonyms++
		}
		wSoft += w * best
		minSim = math.Min(minSim, best)
		switch bestRel {
		case relExact:
			wExact += w
			exactAl = append(exactAl, align{ht.pos, bestPP})
		case relSyn:
			wSyn += w
		case relHyper:
			wHyper += w
		case relHypo:
			wHypo += w
		default:
			if best < 0.5 {
				wUnal += w
				maxUnalW = math.Max(maxUnalW, w)
			}
		}
	}
	if len(h.content) == 0 {
		minSim = 1
	}
	covExact, covSoft := 1.0, 1.0
	if wTot > 0 {
		covExact, covSoft = wExact/wTot, wSoft/wTot
		f("unaligned", wUnal/wTot)
		f("wn_syn", wSyn/wTot)
		f("wn_hyper", wHyper/wTot)
		f("wn_hypo", wHypo/wTot)
	}
	f("cov_exact", covExact)
	f("cov_soft", covSoft)
	f("min_sim", minSim)
	f("max_unaligned_w", maxUnalW)

	var pTot, pExact, pSoft float64
	for j, pi := range p.content {
		w := float64(p.toks[pi].w)
		pTot += w
		pSoft += w * bestP[j]
		if bestP[j] >= 1 {
			pExact += w
		}
	}
	if pTot > 0 {
		f("rev_cov_exact", pExact/pTot)
		f("rev_cov_soft", pSoft/pTot)
	}
	ant := math.Min(float64(antonyms), 2)
	f("antonym", ant)
	f("antonym_x_cov", ant*covSoft)

	negP, negH := math.Min(float64(p.neg), 2), math.Min(float64(h.neg), 2)
	f("neg_p", negP)
	f("neg_h", negH)
	mis := 0.0
	if (p.neg > 0) != (h.neg > 0) {
		mis = 1
	}
	f("neg_mismatch", mis)
	f("neg_mismatch_cov", mis*covSoft)
	if h.neg > 0 && p.neg == 0 {
		f("neg_only_h", 1)
	}
	if h.univ && !p.univ {
		f("quant_univ_h", 1)
	}
	if p.exist && !p.univ && h.univ {
		f("quant_exist_p", 1)
	}

	numMis := 0.0
	if len(h.nums) > 0 {
		f("num_h", 1)
		found := 0
		for _, n := range h.nums {
			if contains(p.nums, n) {
				found++
			}
		}
		f("num_match", float64(found)/float64(len(h.nums)))
		if found < len(h.nums) {
			if len(p.nums) > 0 {
				numMis = 1
				f("num_mismatch", 1)
			} else {
				f("num_new", 1)
			}
		}
	}
	if len(p.units) > 0 {
		for _, u := range h.units {
			if !contains(p.units, u) {
				f("unit_mismatch", 1)
				break
			}
		}
	}
	lp, lh := float64(len(p.toks)), float64(len(h.toks))
	f("len_p", math.Log1p(lp))
	f("len_h", math.Log1p(lh))
	f("len_ratio", math.Min(lh/math.Max(lp, 1), 3))
	f("jaccard", jaccard(p, h, false))
	f("jaccard_content", jaccard(p, h, true))
	f("sif_cos", r.sifCos(p, h))
	f("bigram_cov", bigramCov(p, h))
	if n := len(exactAl); n >= 2 {
		disc, tot := 0, 0
		for a := 0; a < n; a++ {
			for b := a + 1; b < n; b++ {
				if exactAl[a].pp == exactAl[b].pp {
					continue
				}
				tot++
				if (exactAl[a].hp < exactAl[b].hp) != (exactAl[a].pp < exactAl[b].pp) {
					disc++
				}
			}
		}
		if tot > 0 {
			f("order_swap", float64(disc)/float64(tot))
		}
	}
	if ant > 0 || mis > 0 || numMis > 0 {
		f("mismatch_x_cov", covExact*covExact)
	}
}

var featureIndex = func() map[string]int {
	m := map[string]int{}
	for i, n := range FeatureNames {
		m[n] = i
	}
	return m
}()

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func jaccard(p, h *sentence, content bool) float64 {
	a, b := p.set(content), h.set(content)
	if len(a)+len(b) == 0 {
		return 0
	}
	inter := 0
	for k := range a {
		if b[k] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// set returns the sentence's content stems (content) or token texts, computed once.
func (s *sentence) set(content bool) map[string]bool {
	if content && s.stems != nil {
		return s.stems
	}
	if !content && s.words != nil {
		return s.words
	}
	m := map[string]bool{}
	for _, t := range s.toks {
		if content {
			if t.kind == kContent {
				m[t.stem] = true
			}
		} else {
			m[t.text] = true
		}
	}
	if content {
		s.stems = m
	} else {
		s.words = m
	}
	return m
}

func bigramCov(p, h *sentence) float64 {
	if len(h.content) < 2 {
		return 0
	}
	if p.bigrams == nil {
		p.bigrams = make(map[[2]string]bool, len(p.content))
		for i := 1; i < len(p.content); i++ {
			p.bigrams[[2]string{p.toks[p.content[i-1]].stem, p.toks[p.content[i]].stem}] = true
		}
	}
	n := 0
	for i := 1; i < len(h.content); i++ {
		if p.bigrams[[2]string{h.toks[h.content[i-1]].stem, h.toks[h.content[i]].stem}] {
			n++
		}
	}
	return float64(n) / float64(len(h.content)-1)
}

// sifCos is the cosine of the two SIF sentence vectors after common-component removal.
func (r *Resources) sifCos(p, h *sentence) float64 {
	return float64(glove.Dot(r.finished(p), r.finished(h)))
}

// finished is s's SIF vector after common-component removal, computed once.
func (r *Resources) finished(s *sentence) []float32 {
	if s.fin == nil {
		s.fin = r.SIF.Finish(append([]float32(nil), s.sif...))
	}
	return s.fin
}
