package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/cns-dev/cns/critic"
	"github.com/cns-dev/cns/eval"
	"github.com/cns-dev/cns/pairseval"
)

// runCalibrate is `cns calibrate pairs`: it measures pair discovery on SciFact and Perspectrum with the
// configured NLP backend and critics, calibrates λ, μ and the thresholds on SciFact TRAIN, and reports on
// the DEV splits (docs/pairs.md shows its output).
func runCalibrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "pairs" {
		return usageError{"usage: cns calibrate pairs [--data DIR] [--config FILE] [--models DIR|-] [--only scifact|perspectrum]"}
	}
	args = args[1:]
	fs := flagSet("calibrate pairs", stderr)
	data := fs.String("data", eval.DefaultRoot(), "dataset root holding scifact/ and perspectrum/ (default ../shared/data when present)")
	cfgFile := fs.String("config", "", "YAML configuration file (env CNS_CONFIG)")
	models := fs.String("models", "", `models directory (default nlp.models_dir; "-" forces the fallback lexical NLP)`)
	only := fs.String("only", "", "scifact or perspectrum (default both)")
	curve := fs.Bool("curve", false, "also print precision and recall against the chirality threshold (calibrated λ, μ and E threshold)")
	if err := parse(fs, args); err != nil || helpRequested(args) {
		return err
	}
	if *data == "" {
		return usageError{"cns calibrate pairs: --data is required (no ../shared/data here)"}
	}
	set := map[string]string{}
	switch *models {
	case "":
	case "-":
		set["nlp.models_dir"] = ""
	default:
		set["nlp.models_dir"] = *models
	}
	cfg, err := loadConfig(*cfgFile, set, getenv)
	if err != nil {
		return err
	}
	c := &cfg.Config
	log := zap.NewNop()
	emb, nli, inUse, err := newNLP(c, log)
	if err != nil {
		return fmt.Errorf("nlp backend: %w", err)
	}
	w := c.Critics.EffectiveWeights()
	opts := pairseval.Options{
		Embedder: emb, NLI: nli, MinTrust: c.Admission.MinTrust,
		// The adversarial-narrative checks (critics.flood_*, miscitation, restatement) stay off: the datasets
		// are unattributed narratives, and a perspective repeated across Perspectrum debates would read as
		// one source flooding (160 of 2,977 train narratives), which is not what calibration measures.
		Critic: critic.Config{Weights: critic.Weights{Grounding: w.Grounding, Logic: w.Logic, Novelty: w.Novelty},
			NoveltyAlpha: c.Critics.NoveltyAlpha, NoveltyBeta: c.Critics.NoveltyBeta, NoveltyK: c.Critics.NoveltyK,
			TrustFloor: c.Critics.TrustFloor, MaxBranching: c.Critics.MaxBranching},
		Progress: func(done, total int) { fmt.Fprintf(stderr, "  %d/%d\n", done, total) },
	}
	configured := pairseval.Params{Lambda: c.Pairs.NLIWeight, Mu: c.Pairs.EngagementWeight,
		MinChirality: c.Pairs.MinChirality, MinEntanglement: c.Pairs.MinEntanglement}
	collect := func(ds *pairseval.Dataset) (*pairseval.Run, error) {
		dir, err := os.MkdirTemp("", "cns-calibrate-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		o := opts
		o.Dir = dir
		fmt.Fprintf(stderr, "%s: %d narratives\n", ds.Name, len(ds.Narratives))
		return pairseval.Collect(ctx, ds, o)
	}
	fmt.Fprintf(stdout, "NLP in use: %s\n\n", inUse)
	fmt.Fprintf(stdout, "| split | narratives | ACTIVE | gold pairs | candidates (E>0) | gold among candidates | discovery time |\n|---|---|---|---|---|---|---|\n")
	type result struct {
		name string
		run  *pairseval.Run
	}
	var runs []result
	load := func(name string, f func() (*pairseval.Dataset, error)) error {
		ds, err := f()
		if err != nil {
			return err
		}
		r, err := collect(ds)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		s := r.Evaluate(pairseval.Params{})
		fmt.Fprintf(stdout, "| %s | %d | %d | %d | %d | %d | %s (%.2f ms per SNO) |\n", name, r.Narratives, r.Admitted, r.Gold,
			len(r.Candidates), s.CandidateGold, r.DiscoveryTime.Round(1e6), float64(r.DiscoveryTime.Microseconds())/1000/float64(max(r.Admitted, 1)))
		runs = append(runs, result{name, r})
		return nil
	}
	if *only == "" || *only == "scifact" {
		for _, split := range []string{"train", "dev"} {
			if err := load("scifact/"+split, func() (*pairseval.Dataset, error) {
				return pairseval.LoadSciFact(filepath.Join(*data, "scifact"), split)
			}); err != nil {
				return err
			}
		}
	}
	if *only == "" || *only == "perspectrum" {
		for _, split := range []string{"train", "dev"} {
			if err := load("perspectrum/"+split, func() (*pairseval.Dataset, error) {
				return pairseval.LoadPerspectrum(filepath.Join(*data, "perspectrum"), split)
			}); err != nil {
				return err
			}
		}
	}
	find := func(name string) *pairseval.Run {
		for _, r := range runs {
			if r.name == name {
				return r.run
			}
		}
		return nil
	}
	row := func(name string, p pairseval.Params, s pairseval.Score) {
		fmt.Fprintf(stdout, "| %s | λ=%.2f μ=%.2f C≥%.3f E≥%.2f | %d | %d | %.3f | %.3f | %.3f | %.3f | %.2f | %.3f |\n", name, p.Lambda, p.Mu,
			p.MinChirality, p.MinEntanglement, s.Kept, s.TruePositives, s.Precision, s.Recall, s.F1, s.F05, s.P10, s.AP)
	}
	fmt.Fprintf(stdout, "\n| split | parameters | kept | gold kept | precision | recall | F1 | F0.5 | P@10 | AP |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, cal := range []string{"scifact/train", "perspectrum/train"} {
		tr := find(cal)
		if tr == nil {
			continue
		}
		p, s := pairseval.Calibrate(tr)
		row(cal+" (calibrated here)", p, s)
		if *curve {
			defer printCurve(stdout, cal, tr, p)
		}
		dev := strings.Replace(cal, "train", "dev", 1)
		if d := find(dev); d != nil {
			row(dev+" (parameters of "+cal+")", p, d.Evaluate(p))
		}
		if cal == "scifact/train" {
			for _, other := range []string{"perspectrum/dev"} {
				if d := find(other); d != nil {
					row(other+" (parameters of scifact/train)", p, d.Evaluate(p))
				}
			}
		}
	}
	for _, r := range runs {
		row(r.name+" (configured defaults)", configured, r.run.Evaluate(configured))
	}
	return nil
}

// printCurve prints precision, recall and P@10 of a run against the chirality threshold.
func printCurve(w io.Writer, name string, r *pairseval.Run, p pairseval.Params) {
	fmt.Fprintf(w, "\n%s, λ=%.2f μ=%.2f E≥%.2f:\n\n| C ≥ | kept | precision | recall | F1 | P@10 |\n|---|---|---|---|---|---|\n", name, p.Lambda, p.Mu, p.MinEntanglement)
	for c := 0; c <= 20; c++ {
		q := p
		q.MinChirality = float64(c) * 0.05
		s := r.Evaluate(q)
		fmt.Fprintf(w, "| %.2f | %d | %.3f | %.3f | %.3f | %.2f |\n", q.MinChirality, s.Kept, s.Precision, s.Recall, s.F1, s.P10)
	}
}
