package eval

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cns-dev/cns/nlp/assets"
	"github.com/cns-dev/cns/nlp/glove"
	"github.com/cns-dev/cns/nlp/nlimodel"
)

// Training set names, for --exclude.
const (
	SetSICK    = "sick"
	SetSciFact = "scifact"
	SetClimate = "climate-fever"
)

// TrainingSets lists the sets BuildTraining knows, with their licences.
var TrainingSets = []struct{ Name, File, License string }{
	{SetSICK, SICKFile, "CC BY-NC-SA 3.0 (non-commercial)"},
	{SetSciFact, SciFactDir + "/claims_train.jsonl", "CC BY 4.0 (claims), ODC-By 1.0 (abstracts)"},
	{SetClimate, ClimateFEVERFile, "no licence stated; evidence is Wikipedia text (CC BY-SA); research use"},
}

// setWeight is the total example weight each set gets, relative to its size. SciFact is small but it is
// the domain the critics judge (claims against scientific evidence), so its examples weigh more; SICK's
// simple captions teach negation and lexical relations cleanly.
var setWeight = map[string]float64{SetSICK: 1, SetSciFact: 3, SetClimate: 0.5}

// Labelled is a pair with the set it came from.
type Labelled struct {
	Pair
	Set string
}

// TrainingPairs reads the TRAIN splits under root, skipping the excluded sets:
//   - SICK: the TRAIN split (premise sentence_A, hypothesis sentence_B, 3-way label);
//   - SciFact train: (rationale sentences, claim) as entailment or contradiction, and, as neutral, the
//     two abstract sentences closest to the claim (SIF cosine) in each document cited by a NOINFO claim;
//   - Climate-FEVER: the claim–evidence pairs of its train part (see ClimateSplit).
//
// It also returns each set's provenance (file checksum, licence, size).
func TrainingPairs(root string, sif *glove.SIF, exclude []string) ([]Labelled, []nlimodel.DataSet, error) {
	for _, e := range exclude {
		if !slices.ContainsFunc(TrainingSets, func(s struct{ Name, File, License string }) bool { return s.Name == e }) {
			return nil, nil, fmt.Errorf("unknown training set %q to exclude; sets: %s, %s, %s", e, SetSICK, SetSciFact, SetClimate)
		}
	}
	var out []Labelled
	var sets []nlimodel.DataSet
	for _, ts := range TrainingSets {
		if slices.Contains(exclude, ts.Name) {
			continue
		}
		var pairs []Pair
		var err error
		switch ts.Name {
		case SetSICK:
			var all []Pair
			all, err = ReadSICK(filepath.Join(root, SICKFile))
			pairs = Filter(all, "TRAIN")
		case SetSciFact:
			pairs, err = sciFactTraining(root, sif)
		case SetClimate:
			var all []Pair
			all, err = ReadClimateFEVER(filepath.Join(root, ClimateFEVERFile))
			pairs = Filter(all, "train")
		}
		if err != nil {
			return nil, nil, fmt.Errorf("training set %s: %w", ts.Name, err)
		}
		sum, _, err := assets.FileSHA256(filepath.Join(root, ts.File))
		if err != nil {
			return nil, nil, fmt.Errorf("training set %s: checksum: %w", ts.Name, err)
		}
		sets = append(sets, nlimodel.DataSet{Name: ts.Name, File: ts.File, SHA256: sum, License: ts.License, Pairs: len(pairs),
			Weight: setWeight[ts.Name] * float64(len(pairs))})
		for _, p := range pairs {
			out = append(out, Labelled{Pair: p, Set: ts.Name})
		}
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("no training data left (every set excluded or empty)")
	}
	return out, sets, nil
}

func sciFactTraining(root string, sif *glove.SIF) ([]Pair, error) {
	sf, err := ReadSciFact(filepath.Join(root, SciFactDir), "train")
	if err != nil {
		return nil, err
	}
	pairs := sf.RationalePairs()
	for _, c := range sf.Claims {
		if len(c.Evidence) > 0 {
			continue
		}
		cv := embed(sif, c.Claim)
		for _, d := range c.Cited {
			doc, ok := sf.Corpus[d]
			if !ok {
				continue
			}
			type scored struct {
				i int
				s float32
			}
			var ss []scored
			for i, s := range doc.Abstract {
				ss = append(ss, scored{i, glove.Dot(cv, embed(sif, s))})
			}
			slices.SortStableFunc(ss, func(a, b scored) int { return cmp.Compare(b.s, a.s) })
			for k := 0; k < len(ss) && k < 2; k++ {
				pairs = append(pairs, Pair{ID: fmt.Sprintf("%d/%d/n%d", c.ID, d, k), Premise: doc.Abstract[ss[k].i],
					Hypothesis: c.Claim, Label: Neutral})
			}
		}
	}
	return pairs, nil
}

func embed(sif *glove.SIF, text string) []float32 {
	v := make([]float32, sif.Dim())
	if strings.TrimSpace(text) == "" {
		return v
	}
	if e, err := sif.Embed(context.Background(), text); err == nil {
		return e
	}
	return v
}

// Featurize computes the features of pairs.
func Featurize(res *nlimodel.Resources, pairs []Pair) [][]float64 {
	out := make([][]float64, len(pairs))
	for i, p := range pairs {
		out[i] = make([]float64, nlimodel.NumFeatures)
		res.Features(p.Premise, p.Hypothesis, out[i])
	}
	return out
}

// TrainNLI builds the training set and trains a model on it.
func TrainNLI(res *nlimodel.Resources, root string, exclude []string, cfg nlimodel.TrainConfig, name string) (*nlimodel.Model, error) {
	pairs, sets, err := TrainingPairs(root, res.SIF, exclude)
	if err != nil {
		return nil, err
	}
	plain := make([]Pair, len(pairs))
	for i, p := range pairs {
		plain[i] = p.Pair
	}
	X := Featurize(res, plain)
	ex := make([]nlimodel.Example, len(pairs))
	for i, p := range pairs {
		ex[i] = nlimodel.Example{X: X[i], Label: p.Label, Weight: setWeight[p.Set]}
	}
	m, err := nlimodel.Train(ex, cfg, name)
	if err != nil {
		return nil, err
	}
	m.Training = &nlimodel.Provenance{Config: cfg, Sets: sets, Examples: len(ex)}
	return m, nil
}
