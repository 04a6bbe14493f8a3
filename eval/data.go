package eval

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// NLI labels, in the order of the model's outputs.
const (
	Entail = iota
	Neutral
	Contradict
)

// LabelNames names the labels.
var LabelNames = [3]string{"entailment", "neutral", "contradiction"}

// Pair is one labelled premise/hypothesis pair.
type Pair struct {
	ID         string
	Premise    string
	Hypothesis string
	Label      int     // Entail, Neutral or Contradict
	Score      float64 // graded similarity where the dataset has one (SICK relatedness, STS-B)
	Split      string
}

// Dataset file locations relative to the data root (../shared/data).
const (
	SICKFile         = "sick/SICK.txt"
	RTE3File         = "rte3/rte3_dev.xml"
	STSBFile         = "stsb/dev.tsv"
	ClimateFEVERFile = "climate_fever/climate-fever.jsonl"
	SciFactDir       = "scifact"
)

// ReadSICK reads SICK.txt: premise sentence_A, hypothesis sentence_B, entailment_label, relatedness_score
// and SemEval_set (TRAIN, TRIAL, TEST).
func ReadSICK(path string) ([]Pair, error) {
	var out []Pair
	err := readTSV(path, 12, func(line int, f []string) error {
		lab, ok := map[string]int{"ENTAILMENT": Entail, "NEUTRAL": Neutral, "CONTRADICTION": Contradict}[f[3]]
		if !ok {
			return fmt.Errorf("unknown label %q", f[3])
		}
		score, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			return fmt.Errorf("relatedness %q: %w", f[4], err)
		}
		out = append(out, Pair{ID: f[0], Premise: f[1], Hypothesis: f[2], Label: lab, Score: score, Split: f[11]})
		return nil
	})
	return out, err
}

// ReadSTSB reads the GLUE STS-B dev.tsv: sentence1, sentence2 and the gold score (0–5).
func ReadSTSB(path string) ([]Pair, error) {
	var out []Pair
	err := readTSV(path, 10, func(line int, f []string) error {
		score, err := strconv.ParseFloat(f[9], 64)
		if err != nil {
			return fmt.Errorf("score %q: %w", f[9], err)
		}
		out = append(out, Pair{ID: f[0], Premise: f[7], Hypothesis: f[8], Score: score, Split: "dev"})
		return nil
	})
	return out, err
}

// readTSV calls fn for every data row of a tab-separated file with a header (no quoting, as the
// datasets' READMEs prescribe).
func readTSV(path string, cols int, fn func(line int, f []string) error) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\r\n"), "\n")
	if len(lines) < 2 {
		return fmt.Errorf("%s: no data rows", path)
	}
	for i, line := range lines[1:] {
		f := strings.Split(strings.TrimRight(line, "\r"), "\t")
		if len(f) < cols {
			return fmt.Errorf("%s line %d: %d columns, want %d", path, i+2, len(f), cols)
		}
		if err := fn(i+2, f); err != nil {
			return fmt.Errorf("%s line %d: %w", path, i+2, err)
		}
	}
	return nil
}

// ReadRTE3 reads the RTE-3 development set: text → Premise, hypothesis, entailment YES → Entail and NO →
// Neutral (RTE is two-way: "not entailed" covers both neutral and contradiction).
func ReadRTE3(path string) ([]Pair, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	var doc struct {
		Pairs []struct {
			ID         string `xml:"id,attr"`
			Entailment string `xml:"entailment,attr"`
			Task       string `xml:"task,attr"`
			T          string `xml:"t"`
			H          string `xml:"h"`
		} `xml:"pair"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	out := make([]Pair, 0, len(doc.Pairs))
	for _, p := range doc.Pairs {
		lab := Neutral
		switch p.Entailment {
		case "YES":
			lab = Entail
		case "NO":
		default:
			return nil, fmt.Errorf("%s pair %s: entailment %q, want YES or NO", path, p.ID, p.Entailment)
		}
		out = append(out, Pair{ID: p.ID, Premise: strings.TrimSpace(p.T), Hypothesis: strings.TrimSpace(p.H), Label: lab, Split: "dev"})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no pairs", path)
	}
	return out, nil
}

// SciFact structures (the official schema).
type (
	// SciFactClaim is one claim with its evidence per cited document.
	SciFactClaim struct {
		ID       int                          `json:"id"`
		Claim    string                       `json:"claim"`
		Evidence map[string][]SciFactEvidence `json:"evidence"`
		Cited    []int                        `json:"cited_doc_ids"`
	}
	// SciFactEvidence is one rationale: sentence indexes into the abstract and a label.
	SciFactEvidence struct {
		Sentences []int  `json:"sentences"`
		Label     string `json:"label"` // SUPPORT or CONTRADICT
	}
	// SciFactDoc is one abstract.
	SciFactDoc struct {
		ID       int      `json:"doc_id"`
		Title    string   `json:"title"`
		Abstract []string `json:"abstract"`
	}
)

// SciFact is one split with the abstracts it cites.
type SciFact struct {
	Claims []SciFactClaim
	Corpus map[int]SciFactDoc
}

// ReadSciFact reads claims_<split>.jsonl (split "train" or "dev") and corpus_cited.jsonl from dir.
func ReadSciFact(dir, split string) (*SciFact, error) {
	sf := &SciFact{Corpus: map[int]SciFactDoc{}}
	if err := readJSONL(filepath.Join(dir, "claims_"+split+".jsonl"), func(line []byte) error {
		var c SciFactClaim
		if err := json.Unmarshal(line, &c); err != nil {
			return err
		}
		sf.Claims = append(sf.Claims, c)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := readJSONL(filepath.Join(dir, "corpus_cited.jsonl"), func(line []byte) error {
		var d SciFactDoc
		if err := json.Unmarshal(line, &d); err != nil {
			return err
		}
		sf.Corpus[d.ID] = d
		return nil
	}); err != nil {
		return nil, err
	}
	for _, c := range sf.Claims {
		for id, evs := range c.Evidence {
			n, err := strconv.Atoi(id)
			if err != nil {
				return nil, fmt.Errorf("scifact claim %d: evidence doc id %q is not a number", c.ID, id)
			}
			d, ok := sf.Corpus[n]
			if !ok {
				return nil, fmt.Errorf("scifact claim %d: evidence doc %d is not in the corpus", c.ID, n)
			}
			for _, ev := range evs {
				if ev.Label != "SUPPORT" && ev.Label != "CONTRADICT" {
					return nil, fmt.Errorf("scifact claim %d doc %d: label %q", c.ID, n, ev.Label)
				}
				for _, s := range ev.Sentences {
					if s < 0 || s >= len(d.Abstract) {
						return nil, fmt.Errorf("scifact claim %d doc %d: sentence %d outside the abstract", c.ID, n, s)
					}
				}
			}
		}
	}
	return sf, nil
}

func readJSONL(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := fn(line); err != nil {
			return fmt.Errorf("%s line %d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// RationalePairs returns one pair per evidence set: the rationale sentences joined as premise, the claim
// as hypothesis, SUPPORT → Entail and CONTRADICT → Contradict. Sorted by claim and document.
func (sf *SciFact) RationalePairs() []Pair {
	var out []Pair
	for _, c := range sf.Claims {
		for _, id := range sortedKeys(c.Evidence) {
			n, _ := strconv.Atoi(id)
			d := sf.Corpus[n]
			for k, ev := range c.Evidence[id] {
				var sents []string
				for _, s := range ev.Sentences {
					sents = append(sents, d.Abstract[s])
				}
				out = append(out, Pair{ID: fmt.Sprintf("%d/%s/%d", c.ID, id, k), Premise: strings.Join(sents, " "),
					Hypothesis: c.Claim, Label: sciLabel(ev.Label)})
			}
		}
	}
	return out
}

// AbstractPairs returns one pair per (claim, evidence document): the whole abstract as premise, labelled
// by the document's evidence (a document whose sets disagree is skipped: it has no single label).
func (sf *SciFact) AbstractPairs() []Pair {
	var out []Pair
	for _, c := range sf.Claims {
		for _, id := range sortedKeys(c.Evidence) {
			n, _ := strconv.Atoi(id)
			evs := c.Evidence[id]
			lab := sciLabel(evs[0].Label)
			mixed := false
			for _, ev := range evs {
				mixed = mixed || sciLabel(ev.Label) != lab
			}
			if mixed || len(evs) == 0 {
				continue
			}
			out = append(out, Pair{ID: fmt.Sprintf("%d/%s", c.ID, id), Premise: strings.Join(sf.Corpus[n].Abstract, " "),
				Hypothesis: c.Claim, Label: lab})
		}
	}
	return out
}

func sciLabel(s string) int {
	if s == "CONTRADICT" {
		return Contradict
	}
	return Entail
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, ea := strconv.Atoi(keys[i])
		b, eb := strconv.Atoi(keys[j])
		if ea == nil && eb == nil {
			return a < b
		}
		return keys[i] < keys[j]
	})
	return keys
}

// ClimateClaim is one Climate-FEVER claim with its five evidence sentences.
type ClimateClaim struct {
	ID        string `json:"claim_id"`
	Claim     string `json:"claim"`
	Label     string `json:"claim_label"`
	Evidences []struct {
		ID       string `json:"evidence_id"`
		Label    string `json:"evidence_label"`
		Article  string `json:"article"`
		Evidence string `json:"evidence"`
	} `json:"evidences"`
}

// ClimateTestPercent is the share of Climate-FEVER claims held out as its test part. The dataset has no
// official split; a claim is in the test part when the first 8 bytes of SHA-256("climate-fever:" + id),
// read big-endian, modulo 100 fall below this, so the split is fixed, reproducible and independent of
// file order.
const ClimateTestPercent = 30

// ClimateSplit returns "test" or "train" for a claim id.
func ClimateSplit(id string) string {
	h := sha256.Sum256([]byte("climate-fever:" + id))
	if binary.BigEndian.Uint64(h[:8])%100 < ClimateTestPercent {
		return "test"
	}
	return "train"
}

// ReadClimateFEVER reads climate-fever.jsonl into claim–evidence pairs: SUPPORTS → Entail, REFUTES →
// Contradict, NOT_ENOUGH_INFO → Neutral, with Split from ClimateSplit.
func ReadClimateFEVER(path string) ([]Pair, error) {
	var out []Pair
	err := readJSONL(path, func(line []byte) error {
		var c ClimateClaim
		if err := json.Unmarshal(line, &c); err != nil {
			return err
		}
		split := ClimateSplit(c.ID)
		for _, e := range c.Evidences {
			lab, ok := map[string]int{"SUPPORTS": Entail, "NOT_ENOUGH_INFO": Neutral, "REFUTES": Contradict}[e.Label]
			if !ok {
				return fmt.Errorf("claim %s: evidence label %q", c.ID, e.Label)
			}
			out = append(out, Pair{ID: c.ID + "/" + e.ID, Premise: e.Evidence, Hypothesis: c.Claim, Label: lab, Split: split})
		}
		return nil
	})
	if err == nil && len(out) == 0 {
		err = errors.New("climate-fever: no pairs")
	}
	return out, err
}

// Filter returns the pairs of one split.
func Filter(ps []Pair, split string) []Pair {
	var out []Pair
	for _, p := range ps {
		if p.Split == split {
			out = append(out, p)
		}
	}
	return out
}
