package ingest

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	cns "github.com/cns-dev/cns"
)

// Confidence of extracted evidence: a DOI or URL names one source exactly; an author-year or numeric
// citation only points at a reference list we do not resolve.
const (
	confidenceLink     = 0.8
	confidenceCitation = 0.5
	confidenceDocument = 1.0
)

// maxCitationBytes bounds how far a bracket is searched for its closing partner, which keeps citation
// scanning linear on pathological input ("((((…").
const maxCitationBytes = 300

// ref is one evidence reference found in a sentence.
type ref struct {
	start, end int    // byte span in the sentence, for ordering and overlap checks
	source     string // the SourceID: bare DOI, URL, or normalised citation
	confidence float64
}

var (
	urlRe = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"]+`)
	// doiRe mirrors the root package's DOI pattern so every match here is one cns.NormalizeDOI accepts.
	doiRe = regexp.MustCompile(`(?i)\b10\.\d{4,9}/[^\s"'<>]+`)

	// An author is a capitalised surname (optionally with a lower-case particle such as "van der"),
	// optionally followed by "et al." or "and/& <surname>".
	namePat        = `(?:(?:van|von|de|der|den|da|di|du|del|la|le)\s+)*\p{Lu}[\p{L}\p{M}'’\-]*`
	authorPat      = namePat + `(?:\s+et\s+al\.?|\s+(?:and|&)\s+` + namePat + `)?`
	authorYearRe   = regexp.MustCompile(`^(` + authorPat + `),?\s+((?:19|20)\d{2}[a-z]?)$`)
	narrativeRe    = regexp.MustCompile(`(?:^|[^\p{L}\p{N}])(` + authorPat + `)\s*$`)
	yearRe         = regexp.MustCompile(`^(?:19|20)\d{2}[a-z]?$`)
	leadInRe       = regexp.MustCompile(`(?i)^(?:see also|see|cf\.|e\.g\.,?|i\.e\.,?|reviewed in|for (?:a )?review,? see)\s+`)
	numericCiteRe  = regexp.MustCompile(`^\d{1,3}(?:\s*[-–]\s*\d{1,3})?(?:\s*,\s*\d{1,3}(?:\s*[-–]\s*\d{1,3})?)*$`)
	etAlRe         = regexp.MustCompile(`\bet al\b\.?`)
	notAuthorWords = map[string]bool{
		"January": true, "February": true, "March": true, "April": true, "May": true, "June": true,
		"July": true, "August": true, "September": true, "October": true, "November": true, "December": true,
		"Spring": true, "Summer": true, "Autumn": true, "Fall": true, "Winter": true,
		"Table": true, "Figure": true, "Fig": true, "Supplementary": true, "Appendix": true,
		"Accessed": true, "Published": true, "Received": true, "Updated": true, "Since": true, "In": true,
	}
)

// findRefs returns the evidence references of one sentence in the order they appear: URLs (a URL that
// contains a DOI counts as that DOI, as cns.CanonicalEvidenceID has it), bare DOIs, parenthetical or
// bracketed author-year citations ("(Smith et al., 2020; Lee 2019)" gives two), narrative citations
// ("Smith et al. (2020)"), and bracketed numeric citations ("[3, 5-7]" gives "[3]" and "[5-7]").
// Parenthesised numbers are not citations: "(12)" is more often a count than a reference.
func findRefs(s string) []ref {
	var refs []ref
	var urls [][2]int
	// The cheap substring checks skip the regexps on the many sentences that cannot match.
	hasURL, hasDOI := strings.Contains(s, "://"), strings.Contains(s, "10.")
	for _, loc := range urlMatches(s, hasURL) {
		u := trimURL(s[loc[0]:loc[1]])
		if i := strings.Index(u, "://"); i < 0 || len(u) <= i+3 {
			continue
		}
		span := [2]int{loc[0], loc[0] + len(u)}
		urls = append(urls, span)
		refs = append(refs, ref{start: span[0], end: span[1], source: doiSource(u), confidence: confidenceLink})
	}
	for _, loc := range doiMatches(s, hasDOI) {
		if inside(loc[0], urls) {
			continue
		}
		raw := s[loc[0]:loc[1]]
		if cns.NormalizeDOI(raw) != "" {
			refs = append(refs, ref{start: loc[0], end: loc[1], source: doiSource(raw), confidence: confidenceLink})
		}
	}
	refs = append(refs, findCitations(s, urls)...)
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].start < refs[j].start })
	return refs
}

func urlMatches(s string, ok bool) [][]int {
	if !ok {
		return nil
	}
	return urlRe.FindAllStringIndex(s, -1)
}

func doiMatches(s string, ok bool) [][]int {
	if !ok {
		return nil
	}
	return doiRe.FindAllStringIndex(s, -1)
}

// doiSource returns the SourceID for a DOI or URL as written: the bare normalised DOI when it holds one
// (so "doi:10.1/X", "10.1/x." and "https://doi.org/10.1/x" read alike), else the URL itself. The source's
// canonical id must be the one cns gives the text as written, which is what another SNO citing the same
// string gets. cns.NormalizeDOI is not idempotent when percent-escapes decode to "%" or whitespace
// ("10.1/a%2541" → "10.1/a%41" → "10.1/aa"); in that rare case the DOI is kept as written.
func doiSource(raw string) string {
	d := cns.NormalizeDOI(raw)
	if d == "" || cns.CanonicalEvidenceID(d, "") != cns.CanonicalEvidenceID(raw, "") {
		return raw
	}
	return d
}

// inside reports whether offset i lies within one of the spans.
func inside(i int, spans [][2]int) bool {
	for _, sp := range spans {
		if i >= sp[0] && i < sp[1] {
			return true
		}
	}
	return false
}

// trimURL drops punctuation that prose puts after a URL: a final period or comma, a closing quote, and a
// closing bracket that has no opening partner inside the URL (Wikipedia's "…_(biology)" keeps its own).
func trimURL(u string) string {
	for u != "" {
		last := u[len(u)-1]
		switch {
		case strings.IndexByte(".,;:!?'*", last) >= 0:
			u = u[:len(u)-1]
		case last == ')' && strings.Count(u, "(") < strings.Count(u, ")"),
			last == ']' && strings.Count(u, "[") < strings.Count(u, "]"),
			last == '}' && strings.Count(u, "{") < strings.Count(u, "}"):
			u = u[:len(u)-1]
		default:
			return u
		}
	}
	return u
}

// findCitations finds bracketed and parenthetical citations outside URLs. Only innermost bracket pairs are
// looked at, each at most maxCitationBytes long.
func findCitations(s string, urls [][2]int) []ref {
	var refs []ref
	for i := 0; i < len(s); i++ {
		open := s[i]
		if (open != '(' && open != '[') || inside(i, urls) {
			continue
		}
		closer := byte(')')
		if open == '[' {
			closer = ']'
		}
		limit := min(len(s), i+1+maxCitationBytes)
		j := strings.IndexAny(s[i+1:limit], "()[]")
		if j < 0 {
			continue
		}
		j += i + 1
		if s[j] != closer {
			continue
		}
		inner := strings.TrimSpace(s[i+1 : j])
		switch {
		case open == '[' && numericCiteRe.MatchString(inner):
			refs = append(refs, numericCitations(inner, i, j+1)...)
		case yearRe.MatchString(inner):
			if src, start, ok := narrativeCitation(s[:i], inner); ok {
				refs = append(refs, ref{start: start, end: j + 1, source: src, confidence: confidenceCitation})
			}
		default:
			for _, part := range strings.Split(inner, ";") {
				if src, ok := authorYear(part); ok {
					refs = append(refs, ref{start: i, end: j + 1, source: src, confidence: confidenceCitation})
				}
			}
		}
	}
	return refs
}

// numericCitations splits "3, 5-7" into "[3]" and "[5-7]". A zero or a leading zero ("[0, 1]", "[01]")
// means an interval or a code, not a reference number, and yields nothing.
func numericCitations(inner string, start, end int) []ref {
	var refs []ref
	for _, item := range strings.Split(inner, ",") {
		item = strings.ReplaceAll(strings.Join(strings.Fields(item), ""), "–", "-")
		for _, n := range strings.Split(item, "-") {
			if strings.HasPrefix(n, "0") {
				return nil
			}
		}
		refs = append(refs, ref{start: start, end: end, source: "[" + item + "]", confidence: confidenceCitation})
	}
	return refs
}

// authorYear parses one author-year citation ("Smith et al., 2020", "see Lee and Park 2019") into its
// normalised form "<authors>, <year>", so "Smith et al. 2020" and "(Smith et al., 2020)" are one source.
func authorYear(part string) (string, bool) {
	part = strings.Join(strings.Fields(part), " ")
	part = leadInRe.ReplaceAllString(part, "")
	m := authorYearRe.FindStringSubmatch(part)
	if m == nil {
		return "", false
	}
	return citationSource(m[1], m[2])
}

// narrativeCitation recognises "Smith et al. (2020)": a year in parentheses right after an author. A lone
// capitalised word at the start of the sentence is not taken for an author ("Recently (2020)").
func narrativeCitation(before, year string) (string, int, bool) {
	from := max(0, len(before)-maxCitationBytes)
	for from > 0 && from < len(before) && !utf8.RuneStart(before[from]) {
		from++
	}
	loc := narrativeRe.FindStringSubmatchIndex(before[from:])
	if loc == nil {
		return "", 0, false
	}
	start := from + loc[2]
	author := before[start : from+loc[3]]
	if start > 0 {
		// The author must start a word: "xSmith (2020)" is not a citation.
		if r, _ := utf8.DecodeLastRuneInString(before[:start]); isWordRune(r) {
			return "", 0, false
		}
	}
	single := !strings.Contains(author, " ")
	if single && !strings.ContainsFunc(before[:start], unicode.IsLetter) {
		return "", 0, false
	}
	src, ok := citationSource(author, year)
	return src, start, ok
}

// citationSource normalises an author and year into "<authors>, <year>", rejecting words that look like
// authors but are not (months, "Table").
func citationSource(author, year string) (string, bool) {
	author = strings.Join(strings.Fields(author), " ")
	first := author
	if i := strings.IndexByte(author, ' '); i >= 0 {
		first = author[:i]
	}
	if notAuthorWords[first] {
		return "", false
	}
	author = etAlRe.ReplaceAllString(author, "et al.")
	return author + ", " + year, true
}
