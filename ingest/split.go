package ingest

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxSentences caps how many sentences of a document are considered. Scientific abstracts have a dozen;
// the cap bounds the work (and the graph) for a long paper pasted whole, where the opening sentences carry
// the argument anyway.
const maxSentences = 200

// abbreviations never end a sentence even when a capitalised word follows ("Smith et al. Showed" is rare,
// "Dr. Smith", "Fig. 2" and "vs. Placebo" are common). Keys are lower case, without the final dot. "etc" is
// missing on purpose: it ends sentences often enough.
var abbreviations = map[string]bool{
	"al": true, "e.g": true, "i.e": true, "cf": true, "vs": true, "viz": true, "approx": true, "ca": true,
	"dr": true, "mr": true, "mrs": true, "ms": true, "prof": true, "st": true, "jr": true, "sr": true,
	"fig": true, "figs": true, "eq": true, "eqs": true, "ref": true, "refs": true, "resp": true,
	"inc": true, "ltd": true, "corp": true, "dept": true, "univ": true, "incl": true, "suppl": true,
}

// numberAbbreviations end a sentence unless a number follows: "No. 5" and "p. 12" are abbreviations,
// "the answer was no. We" is not.
var numberAbbreviations = map[string]bool{
	"no": true, "nos": true, "vol": true, "p": true, "pp": true, "sec": true, "ch": true, "tab": true,
	"n": true, "jan": true, "feb": true, "mar": true, "apr": true, "jun": true, "jul": true, "aug": true,
	"sep": true, "sept": true, "oct": true, "nov": true, "dec": true,
}

// splitSentences splits the paragraphs into sentences, at most max of them. Paragraph ends always end a
// sentence.
func splitSentences(paragraphs []string, max int) []string {
	var out []string
	for _, p := range paragraphs {
		if len(out) >= max {
			break
		}
		out = splitParagraph(p, out, max)
	}
	return out
}

// splitParagraph appends the sentences of one paragraph (single-spaced, as normalize leaves it) to out.
//
// A sentence ends at a run of '.', '!' or '?' (plus closing quotes or brackets) that is followed by a
// space and then by something that can start a sentence (not a lower-case letter, not a comma). Requiring
// the space is what keeps decimals (3.5), DOIs (10.1000/x.y), URLs (example.org/a.b) and "e.g.," whole;
// requiring a non-lower-case start keeps unknown abbreviations ("approx. five") whole. A single '.' after a
// known abbreviation, or after a dotted initialism (U.S., Ph.D.), does not end a sentence; the price is
// that a sentence ending in "U.S." runs on into the next one, which loses nothing.
func splitParagraph(p string, out []string, max int) []string {
	start := 0
	for i := 0; i < len(p) && len(out) < max; i++ {
		c := p[i]
		if c != '.' && c != '!' && c != '?' {
			continue
		}
		j := i + 1
		for j < len(p) && (p[j] == '.' || p[j] == '!' || p[j] == '?') {
			j++
		}
		single := c == '.' && j == i+1 // one '.', not "..." or "?!"
		j = skipClosers(p, j)
		if j < len(p) {
			if p[j] != ' ' {
				i = j - 1
				continue
			}
			next, _ := utf8.DecodeRuneInString(p[j+1:])
			if !canStartSentence(next) {
				i = j - 1
				continue
			}
			if single && isAbbreviation(wordBefore(p, i), next) {
				i = j - 1
				continue
			}
		}
		if s := strings.TrimSpace(p[start:j]); s != "" {
			out = append(out, s)
		}
		start = j
		i = j - 1
	}
	if len(out) < max {
		if s := strings.TrimSpace(p[start:]); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// skipClosers moves past closing quotes and brackets that belong to the sentence just ended
// (`."`, `.)`, `.”`).
func skipClosers(p string, j int) int {
	for j < len(p) {
		r, n := utf8.DecodeRuneInString(p[j:])
		if !strings.ContainsRune(`)]}"'”’»`, r) {
			break
		}
		j += n
	}
	return j
}

// canStartSentence reports whether r may be the first rune of a new sentence: anything but a lower-case
// letter or punctuation that continues a clause. Caseless scripts and digits ("3 groups") qualify.
func canStartSentence(r rune) bool {
	return !unicode.IsLower(r) && !strings.ContainsRune(",;:)]}", r)
}

// wordBefore returns the lower-cased word that ends just before p[i], without leading brackets or quotes.
func wordBefore(p string, i int) string {
	k := strings.LastIndexByte(p[:i], ' ') + 1
	w := strings.TrimLeftFunc(p[k:i], func(r rune) bool { return strings.ContainsRune(`([{"'“‘«`, r) })
	return strings.ToLower(w)
}

// isAbbreviation reports whether a '.' after word w, followed by next, is an abbreviation's dot.
func isAbbreviation(w string, next rune) bool {
	if abbreviations[w] {
		return true
	}
	if numberAbbreviations[w] && unicode.IsDigit(next) {
		return true
	}
	return isInitialism(w)
}

// isInitialism reports whether w is a dotted initialism such as "u.s", "ph.d" or "a.m": two or more
// segments of one or two letters each.
func isInitialism(w string) bool {
	segs := strings.Split(w, ".")
	if len(segs) < 2 {
		return false
	}
	for _, s := range segs {
		n := utf8.RuneCountInString(s)
		if n < 1 || n > 2 || !strings.ContainsFunc(s, unicode.IsLetter) {
			return false
		}
		for _, r := range s {
			if !unicode.IsLetter(r) {
				return false
			}
		}
	}
	return true
}
