package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/cns-dev/cns/eval"
	"github.com/cns-dev/cns/nlp"
	"github.com/cns-dev/cns/nlp/glove"
	"github.com/cns-dev/cns/nlp/nlimodel"
)

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flagSet("eval", stderr)
	data := fs.String("data", eval.DefaultRoot(), "dataset root (default ../shared/data when present)")
	models := fs.String("models", "", "models directory (default nlp.models_dir)")
	cfgFile := fs.String("config", "", "YAML configuration file (env CNS_CONFIG)")
	weights := fs.String("weights", "", "NLI weights file (default: the weights built into this binary)")
	only := fs.String("only", "", "comma-separated task prefixes: sick, rte3, scifact, climate-fever, stsb, grounding")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	whole := fs.Bool("whole-premise", false, "classify multi-sentence premises as one text (default: sentence by sentence)")
	if err := parse(fs, args); err != nil || helpRequested(args) {
		return err
	}
	if *data == "" {
		return usageError{"cns eval: --data is required (no ../shared/data here)"}
	}
	dir, err := modelsDir(*models, *cfgFile, getenv)
	if err != nil {
		return err
	}
	_, res, err := openResources(dir)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	emb, err := glove.NewHybrid(res.SIF, nlp.NewHashedEmbedder(0), glove.DefaultLexicalWeight)
	if err != nil {
		return err
	}
	var m *nlimodel.Model
	if *weights != "" {
		b, err := os.ReadFile(*weights)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		m, err = nlimodel.Decode(b)
		if err != nil {
			return fmt.Errorf("eval: %s: %w", *weights, err)
		}
	} else if m, err = nlimodel.Default(); err != nil {
		return fmt.Errorf("eval: built-in weights: %w", err)
	}
	nli, err := nlimodel.New(res, m)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	nli.Whole = *whole
	var tasks []string
	for _, t := range strings.Split(*only, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tasks = append(tasks, t)
		}
	}
	rep, err := eval.Run(ctx, eval.Options{Root: *data, Resources: res, NLI: nli, Embedder: emb, Only: tasks,
		Log: func(f string, a ...any) { fmt.Fprintf(stderr, "eval: "+f+"\n", a...) }})
	if err != nil {
		return err
	}
	if *asJSON {
		type row struct {
			eval.Row
			Majority *float64 `json:"majority"`
			Jaccard  *float64 `json:"jaccard"`
		}
		nullable := func(x float64) *float64 {
			if math.IsNaN(x) {
				return nil
			}
			return &x
		}
		out := struct {
			Embedder string  `json:"embedder"`
			NLI      string  `json:"nli"`
			Seconds  float64 `json:"seconds"`
			Rows     []row   `json:"rows"`
		}{Embedder: rep.Embedder, NLI: rep.NLI, Seconds: rep.Elapsed.Seconds()}
		for _, r := range rep.Rows {
			out.Rows = append(out.Rows, row{Row: r, Majority: nullable(r.Majority), Jaccard: nullable(r.Jaccard)})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprint(stdout, rep.Format())
	return nil
}
