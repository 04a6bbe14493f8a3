package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cns-dev/cns/eval"
	"github.com/cns-dev/cns/nlp/assets"
	"github.com/cns-dev/cns/nlp/glove"
	"github.com/cns-dev/cns/nlp/nlimodel"
)

// defaultWeightsPath is where `cns train nli` writes by default: the committed weights the binary embeds.
const defaultWeightsPath = "nlp/nlimodel/weights.json"

// openResources verifies and loads the models directory and builds the NLI feature resources.
func openResources(dir string) (*assets.Assets, *nlimodel.Resources, error) {
	a, err := assets.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	return a, &nlimodel.Resources{SIF: glove.NewSIF(a.Vectors, 0), Lexicon: a.Lexicon}, nil
}

// modelsDirFlag resolves --models: the flag, else nlp.models_dir from configuration.
func modelsDir(flagVal, cfgFile string, getenv func(string) string) (string, error) {
	if flagVal != "" {
		return flagVal, nil
	}
	cfg, err := loadConfig(cfgFile, nil, getenv)
	if err != nil {
		return "", err
	}
	return cfg.NLP.ModelsDir, nil
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "nli" {
		return usageError{"usage: cns train nli [--data DIR] [--models DIR] [--exclude sick] [--out FILE]"}
	}
	args = args[1:]
	fs := flagSet("train nli", stderr)
	data := fs.String("data", eval.DefaultRoot(), "dataset root (the folders sick/, scifact/, climate_fever/ …)")
	models := fs.String("models", "", "models directory (default nlp.models_dir)")
	cfgFile := fs.String("config", "", "YAML configuration file (env CNS_CONFIG)")
	exclude := fs.String("exclude", "", "comma-separated training sets to leave out: "+eval.SetSICK+", "+eval.SetSciFact+", "+eval.SetClimate)
	out := fs.String("out", defaultWeightsPath, "weights file to write (a NOTICE is written beside it)")
	cfg := nlimodel.DefaultTrainConfig
	fs.IntVar(&cfg.Hidden, "hidden", cfg.Hidden, "hidden units (0: logistic regression)")
	fs.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "training epochs")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed (initial weights and batch order)")
	if err := parse(fs, args); err != nil || helpRequested(args) {
		return err
	}
	if *data == "" {
		return usageError{"cns train nli: --data is required (no ../shared/data here)"}
	}
	dir, err := modelsDir(*models, *cfgFile, getenv)
	if err != nil {
		return err
	}
	_, res, err := openResources(dir)
	if err != nil {
		return fmt.Errorf("train nli: %w", err)
	}
	var ex []string
	for _, e := range strings.Split(*exclude, ",") {
		if e = strings.TrimSpace(e); e != "" {
			ex = append(ex, e)
		}
	}
	name := "nli-mlp@1"
	if cfg.Hidden == 0 {
		name = "nli-lr@1"
	}
	if len(ex) > 0 {
		name += "-no-" + strings.Join(ex, "-")
	}
	start := time.Now()
	m, err := eval.TrainNLI(res, *data, ex, cfg, name)
	if err != nil {
		return fmt.Errorf("train nli: %w", err)
	}
	b, err := m.Encode()
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return fmt.Errorf("train nli: write weights: %w", err)
	}
	notice := filepath.Join(filepath.Dir(*out), "NOTICE")
	if err := os.WriteFile(notice, []byte(nlimodel.Notice(m)), 0o644); err != nil {
		return fmt.Errorf("train nli: write notice: %w", err)
	}
	fmt.Fprintf(stdout, "trained %s on %d examples in %s; wrote %s (%d bytes) and %s\n",
		m.Name, m.Training.Examples, time.Since(start).Round(time.Millisecond), *out, len(b), notice)
	return nil
}
