package nlp

import (
	"unicode"
	"unicode/utf8"
)

// span is one token inside a lexer buffer. The hot paths (Embed, Classify) work on these offsets into one
// reused byte buffer instead of allocating a string per token.
type span struct {
	start, end int32
	ascii      bool // every byte < 0x80: character n-grams can then index bytes instead of runes
}

// lex appends the lower-cased word tokens of text to buf and their positions to spans.
//
// A token is a run of Unicode letters and digits (combining marks stay with the letter they modify).
// Three normalisations make later lexical comparisons robust without a dictionary:
//   - "n't" contractions become two tokens, the verb and "not" ("doesn't" → "does not", "can't" → "can
//     not", "won't" → "will not"), and "cannot" becomes "can not", so negation has one spelling;
//   - the other English clitics ('s, 're, 'll, 've, 'd, 'm) are dropped: they carry no content;
//   - a '.' between digits stays ("3.5"), and a ',' grouping thousands is removed ("1,000" → "1000"),
//     so numbers survive as single tokens for the NLI's number-mismatch cue.
func lex(text string, buf []byte, spans []span) ([]byte, []span) {
	start := -1 // start of the open token in buf, -1 when none
	ascii := true
	closeTok := func() {
		if start < 0 {
			return
		}
		tok := buf[start:]
		if string(tok) == "cannot" {
			buf = buf[:start+3]
			spans = append(spans, span{int32(start), int32(start + 3), true})
			s := len(buf)
			buf = append(buf, "not"...)
			spans = append(spans, span{int32(s), int32(len(buf)), true})
		} else {
			spans = append(spans, span{int32(start), int32(len(buf)), ascii})
		}
		start = -1
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			switch {
			case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
				if start < 0 {
					start, ascii = len(buf), true
				}
				buf = append(buf, c)
				i++
				continue
			case 'A' <= c && c <= 'Z':
				if start < 0 {
					start, ascii = len(buf), true
				}
				buf = append(buf, c+('a'-'A'))
				i++
				continue
			case c == '\'' && start >= 0:
				i = clitic(text, i+1, &buf, &spans, &start, ascii)
				continue
			case (c == '.' || c == ',') && start >= 0 && isDigit(buf[len(buf)-1]) && i+1 < len(text) && isDigit(text[i+1]):
				if c == '.' {
					buf = append(buf, '.')
					i++
					continue
				}
				// Only a thousands separator: exactly three digits follow ("1,000" but not "1,2").
				if i+3 < len(text) && isDigit(text[i+2]) && isDigit(text[i+3]) && (i+4 == len(text) || !isDigit(text[i+4])) {
					i++
					continue
				}
			}
			closeTok()
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || (start >= 0 && unicode.Is(unicode.Mn, r)):
			if start < 0 {
				start, ascii = len(buf), true
			}
			buf = utf8.AppendRune(buf, unicode.ToLower(r))
			ascii = false
			i += size
		case r == '\u2019' && start >= 0: // typographic apostrophe
			i = clitic(text, i+size, &buf, &spans, &start, ascii)
		default:
			closeTok()
			i += size
		}
	}
	closeTok()
	return buf, spans
}

// clitic handles an apostrophe inside an open token; j is the index just after the apostrophe. It closes
// the token (expanding "n't") and returns where lexing continues.
func clitic(text string, j int, bufp *[]byte, spansp *[]span, startp *int, ascii bool) int {
	buf, spans, start := *bufp, *spansp, *startp
	k := j
	for k < len(text) && k-j < 3 && isASCIILetter(text[k]) {
		k++
	}
	if k < len(text) && isASCIILetter(text[k]) {
		k = j // a longer word after the apostrophe ("o'clock"): not a clitic
	}
	cl := text[j:k]
	switch {
	case equalFoldASCII(cl, "t") && len(buf)-start >= 2 && buf[len(buf)-1] == 'n':
		word := buf[start : len(buf)-1]
		switch string(word) {
		case "ca": // can't
			// keep "can"
		case "wo": // won't
			buf = append(buf[:start], "will"...)
		case "sha": // shan't
			buf = append(buf[:start], "shall"...)
		case "ai": // ain't
			buf = append(buf[:start], "is"...)
		default:
			buf = buf[:len(buf)-1]
		}
		spans = append(spans, span{int32(start), int32(len(buf)), ascii})
		s := len(buf)
		buf = append(buf, "not"...)
		spans = append(spans, span{int32(s), int32(len(buf)), true})
	case equalFoldASCII(cl, "s") || equalFoldASCII(cl, "re") || equalFoldASCII(cl, "ll") ||
		equalFoldASCII(cl, "ve") || equalFoldASCII(cl, "d") || equalFoldASCII(cl, "m"):
		spans = append(spans, span{int32(start), int32(len(buf)), ascii})
	default:
		// Not a clitic: the apostrophe separates two tokens; lexing resumes at the next word.
		spans = append(spans, span{int32(start), int32(len(buf)), ascii})
		k = j
	}
	*bufp, *spansp, *startp = buf, spans, -1
	return k
}

func isDigit(c byte) bool       { return '0' <= c && c <= '9' }
func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// Tokens returns the lower-cased word tokens of text, normalised as described on lex: runs of letters and
// digits, "n't" and "cannot" expanded to "not", other clitics dropped, decimal numbers kept whole. The
// tokens share one backing string, so the number of allocations does not grow with the text.
func Tokens(text string) []string {
	buf, spans := lex(text, make([]byte, 0, len(text)+8), make([]span, 0, len(text)/5+2))
	if len(spans) == 0 {
		return nil
	}
	s := string(buf)
	out := make([]string, len(spans))
	for i, sp := range spans {
		out[i] = s[sp.start:sp.end]
	}
	return out
}

// ContentWords returns Tokens minus stopwords, each crudely stemmed (see stem), in text order with
// repeats. Negation words such as "not" are content: they change meaning.
func ContentWords(text string) []string {
	toks := Tokens(text)
	out := toks[:0]
	for _, t := range toks {
		if _, stop := stopwords[t]; stop {
			continue
		}
		out = append(out, string(stem([]byte(t))))
	}
	return out
}

// stopwords is deliberately small: function words that carry almost no content. Negations, quantifiers,
// prepositions of direction (up, down, over, under) and comparatives (more, less) are left out because
// they decide entailment and contradiction.
var stopwords = setOf(
	"a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as", "into", "onto",
	"and", "or", "but", "if", "so", "than", "then", "that", "this", "these", "those", "there", "here",
	"which", "who", "whom", "whose", "what", "when", "where", "while", "how", "why",
	"is", "are", "was", "were", "be", "been", "being", "am",
	"has", "have", "had", "having", "do", "does", "did", "doing",
	"will", "would", "shall", "should", "can", "could", "may", "might", "must",
	"it", "its", "itself", "they", "them", "their", "theirs", "he", "him", "his", "she", "her", "hers",
	"we", "us", "our", "ours", "you", "your", "yours", "i", "me", "my", "mine",
	"also", "just", "very", "too", "such", "about", "s",
)

func setOf(words ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(words))
	for _, w := range words {
		m[w] = struct{}{}
	}
	return m
}

// stem strips common English inflections so "increases", "increased", "increasing" and "increase" all
// become "increas". It is crude on purpose (no dictionary, no allocation: the result is a prefix of w)
// and only has to be consistent, because stems are compared with stems, never shown.
func stem(w []byte) []byte {
	if len(w) <= 3 || isDigit(w[0]) {
		return w
	}
	// Plurals and third person.
	switch n := len(w); {
	case hasSuffix(w, "ies") && n >= 5:
		w = w[:n-3] // studies → stud (like study → stud below)
	case hasSuffix(w, "sses"), hasSuffix(w, "xes"), hasSuffix(w, "ches"), hasSuffix(w, "shes"), hasSuffix(w, "zzes"):
		w = w[:n-2] // classes → class, boxes → box
	case hasSuffix(w, "ss"), hasSuffix(w, "us"), hasSuffix(w, "is"):
		// glass, virus, analysis: not plurals
	case w[n-1] == 's':
		w = w[:n-1]
	}
	// Past tense and participles.
	suffixed := true
	switch n := len(w); {
	case hasSuffix(w, "ied") && n >= 5:
		w = w[:n-3] // studied → stud
	case hasSuffix(w, "ed") && n-2 >= 3:
		w = undouble(w[:n-2]) // increased → increas, stopped → stop
	case hasSuffix(w, "ed") && n == 4:
		w = w[:n-1] // used → use, aged → age
	case hasSuffix(w, "ing") && n-3 >= 3:
		w = undouble(w[:n-3]) // playing → play, running → run
	default:
		suffixed = false
	}
	// Final y after a consonant and, on an unsuffixed word, final e: study/studies/studied → stud,
	// increase/increased → increas, agree/agreed → agre.
	if n := len(w); n >= 4 {
		switch c := w[n-1]; {
		case c == 'y' && !isVowel(w[n-2]):
			w = w[:n-1]
		case c == 'e' && !suffixed:
			w = w[:n-1]
		}
	}
	return w
}

// undouble turns "stopp" into "stop" and "runn" into "run" but keeps "fall", "pass", "buzz" and short
// stems like "add".
func undouble(w []byte) []byte {
	n := len(w)
	if n >= 4 && w[n-1] == w[n-2] && !isVowel(w[n-1]) && w[n-1] != 'l' && w[n-1] != 's' && w[n-1] != 'z' {
		return w[:n-1]
	}
	return w
}

func isVowel(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u':
		return true
	}
	return false
}

func hasSuffix(w []byte, suf string) bool {
	return len(w) >= len(suf) && string(w[len(w)-len(suf):]) == suf
}

func isNumber(w []byte) bool { return len(w) > 0 && isDigit(w[0]) }

// wordWeight is the fixed IDF-like weight of a token. Without corpus statistics, length is the best cheap
// proxy for rarity: one- and two-letter tokens are mostly abbreviations and function words, long words are
// specific. Stopwords keep a small weight so a text made only of them still has a direction.
func wordWeight(tok []byte, stop bool) float32 {
	if stop {
		return 0.1
	}
	if isNumber(tok) {
		return 0.8
	}
	switch n := utf8.RuneCount(tok); {
	case n <= 1:
		return 0.4
	case n == 2:
		return 0.6
	case n == 3:
		return 0.85
	case n == 4:
		return 1.0
	case n == 5:
		return 1.1
	default:
		return 1.25
	}
}
