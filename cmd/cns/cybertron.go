package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/nlpodyssey/cybertron/pkg/converter/bert"
	mbert "github.com/nlpodyssey/cybertron/pkg/models/bert"
	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/configs"
	"github.com/cns-dev/cns/nlp/cybertron"
)

// openCybertronNLP loads the transformer backend: nlp.embedder_model and nlp.nli_model are model
// directories inside nlp.models_dir in cybertron's layout. Nothing is downloaded or converted here; a
// missing, partial or mismatched directory fails the boot with the fix in the message.
func openCybertronNLP(c *configs.Config, log *zap.Logger) (cns.Embedder, cns.NLI, string, error) {
	emb, nli, err := cybertron.New(c.NLP.ModelsDir, c.NLP.EmbedderModel, c.NLP.NLIModel,
		cybertron.Options{Log: log.Named("cybertron")})
	if err != nil {
		return nil, nil, "", fmt.Errorf("nlp.backend cybertron: %w", err)
	}
	log.Info("nlp backend ready", zap.String("embedder", emb.Name()), zap.String("nli", nli.Name()), zap.String("models_dir", c.NLP.ModelsDir))
	return emb, nli, emb.Name() + " + " + nli.Name(), nil
}

// runModels is `cns models convert [--force] DIR`.
func runModels(args []string, stdout, stderr io.Writer) error {
	const use = "usage: cns models convert [--force] DIR"
	if len(args) == 0 || args[0] != "convert" {
		return usageError{use}
	}
	fs := flagSet("models convert", stderr)
	force := fs.Bool("force", false, "convert again even if spago_model.bin exists")
	// Flags may come before or after DIR.
	var dirs []string
	for rest := args[1:]; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		dirs, rest = append(dirs, fs.Arg(0)), fs.Args()[1:]
	}
	if len(dirs) != 1 {
		return usageError{use}
	}
	return convertModel(dirs[0], *force, stdout)
}

// convertModel turns a Hugging Face BERT directory an operator copied in (config.json, vocab.txt,
// tokenizer_config.json, pytorch_model.bin) into cybertron's layout by adding spago_model.bin, with
// cybertron's own converter, then loads the result as the backend will, so a bad conversion is found
// now rather than at the next boot. An existing spago_model.bin is kept unless force is set.
func convertModel(dir string, force bool, stdout io.Writer) (err error) {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("models convert: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("models convert: %s is not a directory", dir)
	}
	exists := func(name string) bool {
		st, err := os.Stat(filepath.Join(dir, name))
		return err == nil && !st.IsDir() && st.Size() > 0
	}
	if exists(cybertron.FileModel) && !force {
		fmt.Fprintf(stdout, "%s already has %s; nothing to do (--force converts again)\n", dir, cybertron.FileModel)
		return nil
	}
	if !exists(cybertron.FileTorch) {
		if exists("model.safetensors") {
			return fmt.Errorf("models convert: %s has model.safetensors but no %s; cybertron v0.2.1 converts PyTorch checkpoints only (save one with torch.save or download pytorch_model.bin from the model repository)", dir, cybertron.FileTorch)
		}
		return fmt.Errorf("models convert: %s has no %s to convert", dir, cybertron.FileTorch)
	}
	for _, f := range []string{cybertron.FileConfig, cybertron.FileVocab, cybertron.FileTokenizer} {
		if !exists(f) {
			return fmt.Errorf("models convert: %s lacks %s: copy it from the model repository next to %s", dir, f, cybertron.FileTorch)
		}
	}
	cfg, err := mbert.ConfigFromFile[mbert.Config](filepath.Join(dir, cybertron.FileConfig))
	if err != nil {
		return fmt.Errorf("models convert: %s: %w", cybertron.FileConfig, err)
	}
	arch := ""
	if len(cfg.Architectures) > 0 {
		arch = cfg.Architectures[0]
	}
	if cfg.ModelType != "bert" || !slices.Contains([]string{"BertModel", "BertForSequenceClassification"}, arch) {
		return fmt.Errorf("models convert: %s describes model_type %q, architecture %q; CNS uses BERT encoders (BertModel) and NLI classifiers (BertForSequenceClassification)",
			cybertron.FileConfig, cfg.ModelType, arch)
	}

	// The converter panics on tensors it cannot map; report that as an error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("models convert: cybertron's converter failed on %s: %v", dir, r)
		}
	}()
	if err := bert.Convert[float32](dir, true); err != nil {
		return fmt.Errorf("models convert: %w", err)
	}
	var name string
	if arch == "BertForSequenceClassification" {
		n, lerr := cybertron.LoadNLI(dir, cybertron.Options{Workers: 1})
		if lerr != nil {
			return fmt.Errorf("models convert: converted, but the result does not load: %w", lerr)
		}
		name = n.Name()
	} else {
		e, lerr := cybertron.LoadEmbedder(dir, cybertron.Options{Workers: 1})
		if lerr != nil {
			return fmt.Errorf("models convert: converted, but the result does not load: %w", lerr)
		}
		name = fmt.Sprintf("%s (dimension %d)", e.Name(), e.Dim())
	}
	fmt.Fprintf(stdout, "converted %s: %s\n", dir, name)
	return nil
}
