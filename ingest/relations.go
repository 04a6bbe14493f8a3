package ingest

import (
	"strings"
	"unicode"
	"unicode/utf8"

	cns "github.com/cns-dev/cns"
)

// Edge strengths: an explicit discourse marker is good evidence of the relation; a sentence without one is
// only assumed to support the hypothesis because that is what the sentences of an abstract usually do.
const (
	strengthMarker  = 0.8
	strengthDefault = 0.5
)

// cueKind is the discourse function a marker signals.
type cueKind int

const (
	cueSupport     cueKind = iota + 1 // this claim supports the hypothesis
	cueContrast                       // this claim weakens (or contradicts) the previous claim
	cueConsequence                    // the previous claim implies this one
	cueExample                        // this claim explains the previous one
	cueGeneral                        // this claim generalizes the previous one
)

// Where a cue may stand. Some markers are ambiguous mid-sentence: "small but significant", "since 2010",
// "(e.g., smoking)" and ", so that" do not link sentences.
type cuePlace int

const (
	anywhere      cuePlace = iota
	clauseStart            // at the start of the sentence or after , ; : or a dash
	sentenceStart          // only at the start of the sentence
)

type cue struct {
	phrase string // lower case
	kind   cueKind
	place  cuePlace
	unless []string // what may not follow the phrase ("so far" is not "so")
}

// cues in priority order: when two cues start at the same position, the earlier entry wins.
var cues = []cue{
	{phrase: "on the other hand", kind: cueContrast, place: anywhere},
	{phrase: "in contrast", kind: cueContrast, place: anywhere},
	{phrase: "nevertheless", kind: cueContrast, place: anywhere},
	{phrase: "nonetheless", kind: cueContrast, place: anywhere},
	{phrase: "however", kind: cueContrast, place: anywhere},
	{phrase: "although", kind: cueContrast, place: anywhere},
	{phrase: "despite", kind: cueContrast, place: anywhere},
	{phrase: "but", kind: cueContrast, place: clauseStart},
	{phrase: "for example", kind: cueExample, place: anywhere},
	{phrase: "for instance", kind: cueExample, place: anywhere},
	{phrase: "e.g.", kind: cueExample, place: sentenceStart},
	{phrase: "in general", kind: cueGeneral, place: anywhere},
	{phrase: "generally", kind: cueGeneral, place: anywhere},
	{phrase: "more broadly", kind: cueGeneral, place: anywhere},
	{phrase: "therefore", kind: cueConsequence, place: anywhere},
	{phrase: "thus", kind: cueConsequence, place: anywhere},
	{phrase: "consequently", kind: cueConsequence, place: anywhere},
	{phrase: "so", kind: cueConsequence, place: sentenceStart, unless: []string{" far", " that", " called", " as", " much", " many"}},
	{phrase: "because", kind: cueSupport, place: anywhere},
	{phrase: "since", kind: cueSupport, place: clauseStart, unless: []string{" 1", " 2", " 3", " 4", " 5", " 6", " 7", " 8", " 9", " the 19", " the 20"}}, // "since 2010" is time
	{phrase: "given that", kind: cueSupport, place: anywhere},
	{phrase: "as shown by", kind: cueSupport, place: anywhere},
	{phrase: "data show", kind: cueSupport, place: anywhere},
	{phrase: "we found", kind: cueSupport, place: anywhere},
	{phrase: "evidence", kind: cueSupport, place: anywhere},
	{phrase: "results", kind: cueSupport, place: anywhere},
}

// contradictionCues turn a contrast into a contradiction. The first two are contradictions on their own
// ("Contrary to earlier reports, …", "We found no evidence that …"), whatever other cue the sentence has.
var (
	standaloneContradiction = []string{"contrary to", "no evidence"}
	contradictionCues       = []string{"contrary to", "no evidence", "does not", "do not", "did not"}
)

// relate returns the edge for claim id with the lower-cased sentence lower, given prev, the id of the claim (or root) just
// before it in the document ("" when none). Edges that point at "the previous claim" fall back to the root
// when there is none.
func relate(id, lower, prev string) cns.Edge {
	if prev == "" {
		prev = cns.RootClaimID
	}
	for _, p := range standaloneContradiction {
		if findCue(lower, p, anywhere) >= 0 {
			return cns.Edge{From: id, To: prev, Relation: cns.RelationContradicts, Strength: strengthMarker}
		}
	}
	kind, best := cueKind(0), -1
	for _, c := range cues {
		at := findCue(lower, c.phrase, c.place)
		for _, u := range c.unless {
			if at >= 0 && strings.HasPrefix(lower[at+len(c.phrase):], u) {
				at = -1
			}
		}
		if at >= 0 && (best < 0 || at < best) {
			kind, best = c.kind, at
		}
	}
	switch kind {
	case cueSupport:
		return cns.Edge{From: id, To: cns.RootClaimID, Relation: cns.RelationSupports, Strength: strengthMarker}
	case cueContrast:
		rel := cns.RelationWeakens
		for _, p := range contradictionCues {
			if findCue(lower, p, anywhere) >= 0 {
				rel = cns.RelationContradicts
				break
			}
		}
		return cns.Edge{From: id, To: prev, Relation: rel, Strength: strengthMarker}
	case cueConsequence:
		return cns.Edge{From: prev, To: id, Relation: cns.RelationImplies, Strength: strengthMarker}
	case cueExample:
		return cns.Edge{From: id, To: prev, Relation: cns.RelationExplains, Strength: strengthMarker}
	case cueGeneral:
		return cns.Edge{From: id, To: prev, Relation: cns.RelationGeneralizes, Strength: strengthMarker}
	}
	return cns.Edge{From: id, To: cns.RootClaimID, Relation: cns.RelationSupports, Strength: strengthDefault}
}

// findCue returns the byte offset of the first occurrence of phrase in lower that stands as whole words
// (no letter or digit touching it) and in the required place, or -1.
func findCue(lower, phrase string, place cuePlace) int {
	for off := 0; off < len(lower); {
		i := strings.Index(lower[off:], phrase)
		if i < 0 {
			return -1
		}
		at := off + i
		end := at + len(phrase)
		if wordEdge(lower, at, end) && inPlace(lower[:at], place) {
			return at
		}
		off = at + 1
	}
	return -1
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// wordEdge reports whether lower[at:end] is not glued to a letter or digit on either side. A phrase that
// ends in punctuation ("e.g.") needs no check on its right.
func wordEdge(lower string, at, end int) bool {
	if at > 0 {
		if r, _ := utf8.DecodeLastRuneInString(lower[:at]); isWordRune(r) {
			return false
		}
	}
	if end < len(lower) {
		last, _ := utf8.DecodeLastRuneInString(lower[:end])
		if r, _ := utf8.DecodeRuneInString(lower[end:]); isWordRune(r) && isWordRune(last) {
			return false
		}
	}
	return true
}

// inPlace reports whether a cue preceded by before stands where place requires. Leading quotes or
// brackets do not count as text.
func inPlace(before string, place cuePlace) bool {
	if place == anywhere {
		return true
	}
	t := strings.TrimRightFunc(before, unicode.IsSpace)
	if !strings.ContainsFunc(t, isWordRune) {
		return true
	}
	if place == sentenceStart {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(t)
	return strings.ContainsRune(",;:—–-(", r)
}
