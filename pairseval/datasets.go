// Package pairseval measures chiral pair discovery on labelled data. It turns a dataset into narratives,
// runs them through the real engine (critics, the store's evidence index, incremental discovery, one SNO
// at a time, as the worker does) and compares the pairs found with the gold pairs. `cns calibrate pairs`
// uses it to calibrate the pair thresholds on a train split and to report on a dev split.
package pairseval

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cns-dev/cns"
)

// Narrative is one submission of a dataset, with the key the gold pairs use.
type Narrative struct {
	Key   string
	Input cns.NarrativeInput
}

// Dataset is narratives and the gold chiral pairs among them (keys ordered A < B).
type Dataset struct {
	Name       string
	Narratives []Narrative
	Gold       map[[2]string]bool
}

func orderKeys(a, b string) [2]string {
	x, y := cns.OrderPair(a, b)
	return [2]string{x, y}
}

type scifactClaim struct {
	ID       int                                 `json:"id"`
	Claim    string                              `json:"claim"`
	Evidence map[string][]struct{ Label string } `json:"evidence"`
	Cited    []int                               `json:"cited_doc_ids"`
}

type scifactDoc struct {
	ID       int      `json:"doc_id"`
	Title    string   `json:"title"`
	Abstract []string `json:"abstract"`
}

func readJSONL[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// LoadSciFact reads a SciFact split ("train" or "dev") from dir (claims_<split>.jsonl and
// corpus_cited.jsonl). Each claim becomes a narrative whose hypothesis is the claim and whose evidence
// is every abstract it cites or is labelled against (source "scifact:<doc id>", content title and
// abstract). Gold pairs are the claims of which one SUPPORTs and the other CONTRADICTs the same abstract.
func LoadSciFact(dir, split string) (*Dataset, error) {
	claims, err := readJSONL[scifactClaim](filepath.Join(dir, "claims_"+split+".jsonl"))
	if err != nil {
		return nil, fmt.Errorf("scifact: %w", err)
	}
	docList, err := readJSONL[scifactDoc](filepath.Join(dir, "corpus_cited.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("scifact: %w", err)
	}
	docs := make(map[int]scifactDoc, len(docList))
	for _, d := range docList {
		docs[d.ID] = d
	}
	ds := &Dataset{Name: "scifact/" + split, Gold: map[[2]string]bool{}}
	labels := map[int]map[string][]string{} // doc → label → claim keys
	for _, c := range claims {
		key := "scifact:" + strconv.Itoa(c.ID)
		ids := map[int]bool{}
		for _, d := range c.Cited {
			ids[d] = true
		}
		for k, sets := range c.Evidence {
			d, err := strconv.Atoi(k)
			if err != nil {
				return nil, fmt.Errorf("scifact: claim %d: evidence doc id %q", c.ID, k)
			}
			ids[d] = true
			if labels[d] == nil {
				labels[d] = map[string][]string{}
			}
			for _, s := range sets {
				labels[d][s.Label] = append(labels[d][s.Label], key)
			}
		}
		sorted := make([]int, 0, len(ids))
		for d := range ids {
			sorted = append(sorted, d)
		}
		sort.Ints(sorted)
		in := cns.NarrativeInput{Hypothesis: c.Claim, Metadata: map[string]string{"dataset": ds.Name, "key": key}}
		for _, d := range sorted {
			doc, ok := docs[d]
			if !ok {
				return nil, fmt.Errorf("scifact: claim %d cites doc %d, which is not in corpus_cited.jsonl", c.ID, d)
			}
			in.Evidence = append(in.Evidence, cns.Evidence{SourceID: "scifact:" + strconv.Itoa(d),
				Content: strings.TrimSpace(doc.Title + " " + strings.Join(doc.Abstract, " "))})
		}
		ds.Narratives = append(ds.Narratives, Narrative{Key: key, Input: in})
	}
	for _, l := range labels {
		for _, s := range l["SUPPORT"] {
			for _, c := range l["CONTRADICT"] {
				if s != c {
					ds.Gold[orderKeys(s, c)] = true
				}
			}
		}
	}
	return ds, nil
}

type perspectrumClaim struct {
	ID           int    `json:"cId"`
	Text         string `json:"text"`
	Perspectives []struct {
		PIDs     []int  `json:"pids"`
		Stance   string `json:"stance_label_3"`
		Evidence []int  `json:"evidence"`
	} `json:"perspectives"`
}

// LoadPerspectrum reads a Perspectrum split ("train", "dev" or "test") from dir. Each perspective cluster
// becomes a narrative: its first perspective is the hypothesis; its evidence is the debated claim
// ("perspectrum:claim:<id>", content the claim's text, so every perspective of a claim shares it) and the
// cluster's evidence paragraphs by id ("perspectrum:evidence:<id>", without content: the paragraphs are
// not in this copy of the data). Gold pairs are a SUPPORT and an UNDERMINE cluster of the same claim.
func LoadPerspectrum(dir, split string) (*Dataset, error) {
	var claims []perspectrumClaim
	var pool []struct {
		ID   int    `json:"pId"`
		Text string `json:"text"`
	}
	splits := map[string]string{}
	for name, v := range map[string]any{"perspectrum_with_answers_v1.0.json": &claims, "perspective_pool_v1.0.json": &pool, "dataset_split_v1.0.json": &splits} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("perspectrum: %w", err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			return nil, fmt.Errorf("perspectrum: %s: %w", name, err)
		}
	}
	text := make(map[int]string, len(pool))
	for _, p := range pool {
		text[p.ID] = p.Text
	}
	ds := &Dataset{Name: "perspectrum/" + split, Gold: map[[2]string]bool{}}
	sort.Slice(claims, func(i, j int) bool { return claims[i].ID < claims[j].ID })
	for _, c := range claims {
		if splits[strconv.Itoa(c.ID)] != split {
			continue
		}
		byStance := map[string][]string{}
		for j, p := range c.Perspectives {
			if len(p.PIDs) == 0 || strings.TrimSpace(text[p.PIDs[0]]) == "" {
				continue
			}
			key := fmt.Sprintf("perspectrum:%d:%d", c.ID, j)
			in := cns.NarrativeInput{Hypothesis: text[p.PIDs[0]], Metadata: map[string]string{"dataset": ds.Name, "key": key},
				Evidence: []cns.Evidence{{SourceID: "perspectrum:claim:" + strconv.Itoa(c.ID), Content: c.Text}}}
			seen := map[int]bool{}
			for _, e := range p.Evidence {
				if !seen[e] {
					seen[e] = true
					in.Evidence = append(in.Evidence, cns.Evidence{SourceID: "perspectrum:evidence:" + strconv.Itoa(e)})
				}
			}
			ds.Narratives = append(ds.Narratives, Narrative{Key: key, Input: in})
			byStance[p.Stance] = append(byStance[p.Stance], key)
		}
		for _, s := range byStance["SUPPORT"] {
			for _, u := range byStance["UNDERMINE"] {
				ds.Gold[orderKeys(s, u)] = true
			}
		}
	}
	if len(ds.Narratives) == 0 {
		return nil, fmt.Errorf("perspectrum: no claims in split %q", split)
	}
	return ds, nil
}
