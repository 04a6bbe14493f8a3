package ingest

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	cns "github.com/cns-dev/cns"
)

// Result is what ingestion extracts from a document: the parts of an SNO before embedding and critique.
type Result struct {
	Hypothesis string
	Graph      cns.Graph
	Evidence   []cns.Evidence
	// Sentences are the sentences considered (at most 200), in document order and as written: the
	// hypothesis before its marker was stripped, without a title line that was dropped. Empty for a
	// structured submission.
	Sentences []string
}

// sentence is one sentence of the document with what ingestion decided about it.
type sentence struct {
	text      string // as written
	body      string // text without a structured-abstract label ("RESULTS: …"); claims use this
	lower     string // body in lower case, for marker matching
	concludes bool   // it opens a "Conclusions:" section, which marks the conclusion as surely as "In conclusion"
	refs      []ref
	candidate bool   // long enough and not a citation line: may become the hypothesis or a claim
	id        string // "root", "c1", …; "" when it is not part of the graph
}

// minClaimWords is the shortest sentence that can be a claim; shorter ones are headings ("Methods"),
// labels or fragments.
const minClaimWords = 4

// Document extracts the hypothesis, reasoning graph and evidence of a raw document. It first validates the
// document with cns.ValidateDocument and returns that error unchanged; after that it cannot fail on any
// input (an error then would be a bug, reported as EINTERNAL). It is deterministic and safe for concurrent
// use.
//
// The result respects l: at most l.MaxClaims claims including the root (and no more claims than
// l.MaxEdges, since every claim gets exactly one edge), at most l.MaxEvidence evidence items, claim and
// hypothesis texts cut to l.MaxClaimBytes and l.MaxHypothesisBytes, evidence contents to
// l.MaxEvidenceBytes.
func Document(in cns.DocumentInput, l cns.Limits) (Result, error) {
	if err := cns.ValidateDocument(in, l); err != nil {
		return Result{}, err
	}
	norm := normalize(in.Text)
	texts := splitSentences(norm.paragraphs, maxSentences)
	sents := classify(texts)

	h := chooseHypothesis(sents)
	// Only a document of nothing but a byte-order mark has no sentence; its hypothesis is the text itself.
	hypothesis := truncate(strings.TrimSpace(in.Text), l.MaxHypothesisBytes)
	if h >= 0 {
		hypothesis = truncate(stripMarker(sents[h].body), l.MaxHypothesisBytes)
		sents[h].id = cns.RootClaimID
	}
	g := cns.NewGraph(hypothesis)

	claimCap := min(l.MaxClaims-1, l.MaxEdges)
	n := 0
	prev := ""
	for i := range sents {
		s := &sents[i]
		if i == h {
			prev = cns.RootClaimID
			continue
		}
		if !s.candidate || n >= claimCap {
			continue
		}
		n++
		s.id = "c" + strconv.Itoa(n)
		if err := g.AddClaim(cns.Claim{ID: s.id, Text: truncate(s.body, l.MaxClaimBytes)}); err != nil {
			return Result{}, internal("add claim", err)
		}
		if err := link(&g, s.id, relate(s.id, s.lower, prev)); err != nil {
			return Result{}, err
		}
		prev = s.id
	}

	res := Result{
		Hypothesis: hypothesis,
		Graph:      g,
		Evidence:   collectEvidence(in, norm.String(), sents, g, l),
		Sentences:  texts,
	}
	return res, nil
}

// sectionLabel matches the label that opens a section of a structured abstract (PubMed style,
// "RESULTS: …"). The label is not part of the claim, and "Results" must not count as a discourse marker.
var sectionLabel = regexp.MustCompile(`(?i)^(background|context|introduction|objectives?|aims?|purpose|design|setting|participants|patients|interventions?|methods?|materials and methods|methods and findings|measurements|main outcomes?(?: and)? measures?|results|findings|conclusions?|interpretation|significance|discussion|limitations)\s*:\s*`)

// classify finds each sentence's evidence and decides whether it may be a claim. Sentences under
// minClaimWords words, questions (they assert nothing), citation lines (nothing but references once DOIs,
// URLs and citations are removed, or a reference-list entry starting with "[n]") and everything after a
// "References" heading are not claims; their evidence still counts.
func classify(texts []string) []sentence {
	sents := make([]sentence, len(texts))
	inReferences := false
	for i, t := range texts {
		s := sentence{text: t, body: t, refs: findRefs(t)}
		if m := sectionLabel.FindStringSubmatchIndex(t); m != nil && m[1] < len(t) {
			s.body = t[m[1]:]
			label := strings.ToLower(t[m[2]:m[3]])
			s.concludes = strings.HasPrefix(label, "conclusion") || label == "interpretation"
		}
		s.lower = strings.ToLower(s.body)
		if isReferenceHeading(t) {
			inReferences = true
		}
		s.candidate = !inReferences && len(strings.Fields(s.body)) >= minClaimWords &&
			!strings.HasSuffix(strings.TrimRight(s.body, `)]}"'”’»`), "?") && !citationLine(t, s.refs)
		sents[i] = s
	}
	return sents
}

// citationLine reports whether a sentence is only references: it starts with a numeric citation (a
// reference-list entry; in-text citations follow what they support) or fewer than two words with letters
// remain once its references are cut out ("doi: 10.1000/x", "(Smith et al., 2020).").
func citationLine(t string, refs []ref) bool {
	if len(refs) == 0 {
		return false
	}
	if refs[0].start == 0 && strings.HasPrefix(t, "[") {
		return true
	}
	var b strings.Builder
	at := 0
	for _, r := range refs {
		if r.start >= at {
			b.WriteString(t[at:r.start])
			b.WriteByte(' ')
			at = r.end
		} else if r.end > at {
			at = r.end
		}
	}
	b.WriteString(t[at:])
	words := 0
	for _, w := range strings.Fields(b.String()) {
		lw := strings.ToLower(strings.TrimFunc(w, func(r rune) bool { return !isWordRune(r) }))
		if lw == "doi" || lw == "pmid" || lw == "available" || lw == "at" || lw == "see" {
			continue
		}
		if utf8.RuneCountInString(lw) > 1 && strings.ContainsFunc(lw, unicode.IsLetter) {
			words++
		}
	}
	return words < 2
}

// link adds the claim's edge. Discourse-marker edges never close a cycle (every claim gets one edge, and
// "implies" edges only point forward in the document), but the graph enforces acyclicity, so if the edge
// is refused the claim falls back to supporting the root: a claim is never left unconnected.
func link(g *cns.Graph, id string, e cns.Edge) error {
	err := g.AddEdge(e)
	if err == nil {
		return nil
	}
	fallback := cns.Edge{From: id, To: cns.RootClaimID, Relation: cns.RelationSupports, Strength: strengthDefault}
	if e == fallback {
		return internal("link claim", err)
	}
	if err := g.AddEdge(fallback); err != nil {
		return internal("link claim", err)
	}
	return nil
}

func internal(what string, err error) error {
	return cns.Errorf(cns.EINTERNAL, "ingest: %s: %s", what, cns.ErrorMessage(err))
}

// collectEvidence builds the evidence set: the document itself first (it always exists and supports every
// claim), then every DOI, URL and citation in order of first appearance, deduplicated by canonical id with
// the claims they support merged. A reference in a sentence that is not a claim supports the root: it is
// still part of the document's argument. References that cannot make a clean id (too long for
// l.MaxIDBytes, or a DOI whose percent-escapes decode to control characters or invalid UTF-8) are skipped.
func collectEvidence(in cns.DocumentInput, norm string, sents []sentence, g cns.Graph, l cns.Limits) []cns.Evidence {
	if l.MaxEvidence <= 0 {
		return nil
	}
	all := make([]string, 0, len(g.Claims))
	for _, c := range g.Claims {
		all = append(all, c.ID)
	}
	docID := cns.CanonicalEvidenceID(in.Source, in.Text)
	ev := []cns.Evidence{{
		ID:               docID,
		SourceID:         strings.TrimSpace(in.Source),
		Content:          truncate(norm, l.MaxEvidenceBytes),
		Confidence:       confidenceDocument,
		SupportsClaimIDs: all,
	}}
	index := map[string]int{docID: 0}
	for _, s := range sents {
		claim := s.id
		if claim == "" {
			claim = cns.RootClaimID
		}
		for _, r := range s.refs {
			if len(r.source) > l.MaxIDBytes || !clean(r.source) {
				continue
			}
			id := cns.CanonicalEvidenceID(r.source, "")
			if strings.HasPrefix(r.source, "[") {
				// "[12]" means a different paper in every document: scope it to this document so two
				// unrelated SNOs never look entangled through their reference numbers.
				id = docID + "#" + r.source
			}
			if id == "" || !clean(id) {
				continue
			}
			if k, ok := index[id]; ok {
				ev[k].SupportsClaimIDs = addID(ev[k].SupportsClaimIDs, claim)
				ev[k].Confidence = max(ev[k].Confidence, r.confidence)
				continue
			}
			if len(ev) >= l.MaxEvidence {
				continue
			}
			index[id] = len(ev)
			ev = append(ev, cns.Evidence{
				ID:               id,
				SourceID:         r.source,
				Content:          truncate(s.text, l.MaxEvidenceBytes),
				Confidence:       r.confidence,
				SupportsClaimIDs: []string{claim},
			})
		}
	}
	return ev
}

// clean reports whether s is valid UTF-8 without control characters or U+FFFD, as an id must be. The
// input has neither, but cns.NormalizeDOI percent-decodes, so "10.1/x%00" or "10.1/x%FF" would bring them
// back.
func clean(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError })
}

func addID(ids []string, id string) []string {
	for _, x := range ids {
		if x == id {
			return ids
		}
	}
	return append(ids, id)
}

// Narrative turns a structured submission into a Result with cns.BuildNarrative, returning its error
// unchanged. It exists so callers handle both job kinds through one type; Sentences is empty because
// nothing was split.
func Narrative(in cns.NarrativeInput, l cns.Limits) (Result, error) {
	g, ev, err := cns.BuildNarrative(in, l)
	if err != nil {
		return Result{}, err
	}
	return Result{Hypothesis: in.Hypothesis, Graph: g, Evidence: ev}, nil
}
