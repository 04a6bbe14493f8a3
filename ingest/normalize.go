package ingest

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Title detection bounds. A title is "clearly" one only when it is short; anything longer is more likely
// the first sentence of a hard-wrapped paragraph, which we must not lose.
const (
	maxTitleWords = 20
	maxTitleBytes = 250
)

// text is a normalised document: its paragraphs (each a single line with single spaces) and the title
// line that was split off, if any.
type text struct {
	title      string
	paragraphs []string
}

// String renders the normalised document: the title and the paragraphs separated by blank lines. This is
// what the document's own evidence item carries, so the title is kept there even though it is not a
// sentence.
func (t text) String() string {
	parts := t.paragraphs
	if t.title != "" {
		parts = append([]string{t.title}, parts...)
	}
	return strings.Join(parts, "\n\n")
}

// normalize collapses whitespace and groups lines into paragraphs. A blank line (or U+2029) ends a
// paragraph; a single newline inside a paragraph is only line wrapping (PDF and e-mail extractions wrap
// mid-sentence) and becomes a space. The first line is split off as the title when looksLikeTitle says so.
func normalize(s string) text {
	s = strings.TrimPrefix(s, "\uFEFF") // a byte-order mark is not content
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u2028", "\n", "\u2029", "\n\n").Replace(s)

	var paras [][]string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			paras = append(paras, cur)
			cur = nil
		}
	}
	for _, line := range strings.Split(s, "\n") {
		// strings.Fields splits on every Unicode space (tabs, NBSP, thin spaces), so this also folds
		// them into one ASCII space.
		f := strings.Fields(line)
		if len(f) == 0 {
			flush()
			continue
		}
		line = strings.Join(f, " ")
		if isReferenceHeading(line) {
			// A "References" line is a heading even without a blank line around it; joined to the first
			// entry it would hide where the reference list starts.
			flush()
			paras = append(paras, []string{line})
			continue
		}
		cur = append(cur, line)
	}
	if len(cur) > 0 {
		paras = append(paras, cur)
	}

	var t text
	if len(paras) > 0 {
		first := paras[0]
		var next string // the line that follows the candidate title within its paragraph
		if len(first) > 1 {
			next = first[1]
		}
		more := len(first) > 1 || len(paras) > 1
		if more && looksLikeTitle(first[0], next) {
			t.title = first[0]
			paras[0] = first[1:]
			if len(paras[0]) == 0 {
				paras = paras[1:]
			}
		}
	}
	for _, p := range paras {
		t.paragraphs = append(t.paragraphs, strings.Join(p, " "))
	}
	return t
}

// referenceHeadings start a reference list: what follows is citations, not argument.
var referenceHeadings = map[string]bool{
	"references": true, "bibliography": true, "literature cited": true, "works cited": true,
	"reference list": true, "references and notes": true, "cited literature": true,
}

// isReferenceHeading reports whether a line or sentence is a reference-list heading ("References",
// "REFERENCES:").
func isReferenceHeading(s string) bool {
	if len(s) > 40 {
		return false
	}
	return referenceHeadings[strings.ToLower(strings.TrimRight(s, ".: "))]
}

// looksLikeTitle reports whether the first line of a document is clearly a title: it has a letter, is at
// most maxTitleWords words and maxTitleBytes bytes, does not end like a sentence or a clause (., ;) and
// holds no sentence boundary inside. When the title shares its paragraph with the next line (no blank line
// after it), that line must not start in lower case: a lower-case start means the first line was only
// wrapped mid-sentence. The rule is conservative on purpose; a title left in place is merely one more short
// sentence, a sentence wrongly dropped is lost content.
func looksLikeTitle(line, next string) bool {
	if len(line) > maxTitleBytes || len(strings.Fields(line)) > maxTitleWords {
		return false
	}
	if !strings.ContainsFunc(line, unicode.IsLetter) {
		return false
	}
	last, _ := utf8.DecodeLastRuneInString(line)
	if strings.ContainsRune(".,;", last) {
		return false
	}
	if strings.Contains(line, ". ") || strings.Contains(line, "! ") || strings.Contains(line, "? ") {
		return false
	}
	if next != "" {
		r, _ := utf8.DecodeRuneInString(next)
		if unicode.IsLower(r) {
			return false
		}
	}
	return true
}

// truncate cuts s to at most n bytes without splitting a rune, and at a space when one lies in the
// second half of the kept part, so a cut claim ends on a whole word. Limits are byte limits (they bound
// storage and messages); a cut inside a multi-byte rune would leave invalid UTF-8.
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	if s[n] != ' ' {
		if sp := strings.LastIndexByte(s[:n], ' '); sp > n/2 {
			n = sp
		}
	}
	return strings.TrimRight(s[:n], " ")
}
