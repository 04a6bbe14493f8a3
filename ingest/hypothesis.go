package ingest

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Conclusion markers, strong and weak, matched against the lower-cased sentence (case-folding regexps are
// several times slower, and these run on every sentence). Abstracts state their point in a closing sentence introduced by a
// marker; a strong marker ("In conclusion", "These results suggest") names the conclusion outright, a
// weak one ("Thus", "Overall") also introduces intermediate steps, so a strong marker anywhere wins.
var (
	strongConclusion = regexp.MustCompile(`\b(?:in conclusion|in summary|to conclude|to summari[sz]e|taken together|we (?:therefore |thus |hence )?conclude|(?:these|our) (?:results|findings|data|observations|analyses|experiments) (?:therefore |thus |collectively |strongly |further |clearly )?(?:suggest|show|indicate|demonstrate|imply|support|confirm)|our findings)\b`)
	// "Overall" counts only with its comma: "Overall survival" is a clinical end point, not a conclusion.
	weakConclusion = regexp.MustCompile(`\b(?:(?:therefore|thus|hence|consequently|collectively|this (?:shows|suggests|indicates|demonstrates))\b|overall\s*,)`)
)

// Words one of which every match of strongConclusion or weakConclusion contains: a substring test rules
// most sentences out far faster than the regexp can.
var (
	strongHints = []string{"conclu", "summar", "together", "results", "findings", "data", "observations", "analyses", "experiments"}
	weakHints   = []string{"therefore", "thus", "hence", "overall", "consequently", "collectively", "this "}
)

func mayMatch(lower string, hints []string) bool {
	for _, h := range hints {
		if strings.Contains(lower, h) {
			return true
		}
	}
	return false
}

// claimVerbs are the verb stems that make a sentence an empirical claim, the fallback when no sentence
// carries a conclusion marker. Stems, matched at the start of a word, so "increased", "reduction" and
// "associated" count.
var claimVerbs = []string{"suggest", "show", "indicat", "demonstrat", "increas", "reduc", "caus", "associat"}

func hasClaimVerb(lower string) bool {
	for _, v := range claimVerbs {
		for off := 0; off < len(lower); {
			i := strings.Index(lower[off:], v)
			if i < 0 {
				break
			}
			at := off + i
			if r, _ := utf8.DecodeLastRuneInString(lower[:at]); at == 0 || !isWordRune(r) {
				return true
			}
			off = at + len(v)
		}
	}
	return false
}

// markerPrefixes are the leading conclusion phrases stripped from the hypothesis so it reads as the claim
// itself: "In conclusion, X." → "X.", "These results suggest that X." → "X.". They are applied repeatedly
// because markers stack ("Taken together, these data indicate that X").
var markerPrefixes = []*regexp.Regexp{
	regexp.MustCompile(`(?i)^(?:(?:in conclusion|in summary|to conclude|to summari[sz]e|taken together|therefore|thus|hence|consequently|collectively|altogether)\b\s*[,:]?|overall\s*,)\s*`),
	regexp.MustCompile(`(?i)^(?:we|the authors) (?:therefore |thus |hence )?conclude[sd]?\b\s*:?\s*(?:that\b\s*)?`),
	regexp.MustCompile(`(?i)^(?:these|our) (?:results|findings|data|observations|analyses|experiments) (?:therefore |thus |collectively |strongly |further |clearly )?(?:suggest|show|indicate|demonstrate|imply|support|confirm)(?:s|ed)?\b\s*(?:that\b\s*)?`),
	regexp.MustCompile(`(?i)^this (?:shows|suggests|indicates|demonstrates)\b\s*(?:that\b\s*)?`),
	regexp.MustCompile(`(?i)^(?:here,? )?we (?:show|demonstrate|report|find|found|propose|hypothesi[sz]e)\b\s*(?:that\b\s*)?`),
}

// chooseHypothesis returns the index (into sents) of the hypothesis among the candidate sentences: the
// last sentence with a strong conclusion marker, else the last with a weak one (abstracts conclude at the
// end; an early "thus" is more often an intermediate step), else the first with a claim verb, else the
// first candidate, else the first sentence at all. It returns -1 only for an empty slice.
func chooseHypothesis(sents []sentence) int {
	strong, weak, verb, first := -1, -1, -1, -1
	for i, s := range sents {
		if !s.candidate {
			continue
		}
		if first < 0 {
			first = i
		}
		switch {
		case s.concludes || mayMatch(s.lower, strongHints) && strongConclusion.MatchString(s.lower):
			strong = i
		case mayMatch(s.lower, weakHints) && weakConclusion.MatchString(s.lower):
			weak = i
		case verb < 0 && hasClaimVerb(s.lower):
			verb = i
		}
	}
	for _, i := range []int{strong, weak, verb, first} {
		if i >= 0 {
			return i
		}
	}
	if len(sents) > 0 {
		return 0
	}
	return -1
}

// stripMarker removes leading conclusion markers from s and capitalises what is left. If nothing with a
// letter or digit would remain ("In conclusion."), s is returned unchanged.
func stripMarker(s string) string {
	out := s
	for range 4 {
		before := out
		for _, re := range markerPrefixes {
			if loc := re.FindStringIndex(out); loc != nil {
				out = out[loc[1]:]
			}
		}
		if out == before {
			break
		}
	}
	if out == s {
		return s
	}
	if !strings.ContainsFunc(out, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return s
	}
	return capitalise(out)
}

// capitalise upper-cases the first letter when the first word has no upper-case letter and no digit
// ("coffee" → "Coffee", "long-term" → "Long-term"); words such as "mRNA", "p53" or "iPSC" are left alone
// because their case is meaningful.
func capitalise(s string) string {
	word := s
	if i := strings.IndexByte(s, ' '); i >= 0 {
		word = s[:i]
	}
	if strings.ContainsFunc(word, func(r rune) bool { return unicode.IsUpper(r) || unicode.IsDigit(r) }) {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	if !unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
