package main

import (
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/configs"
	"github.com/cns-dev/cns/nlp"
	"github.com/cns-dev/cns/nlp/assets"
	"github.com/cns-dev/cns/nlp/glove"
	"github.com/cns-dev/cns/nlp/nlimodel"
)

// openBuiltinNLP builds the built-in backend from the assets in nlp.models_dir: the GloVe-SIF + hashed
// n-gram embedder, and the trained NLI over GloVe and WordNet features. When the assets are missing or
// fail verification, nlp.backend "builtin" falls back to the hashed embedder and the lexical NLI with a
// warning, while "glove" (assets required) fails. The returned description says what is in use, and why
// when it is the fallback; GetSystemStatus and GetConfig show it.
func openBuiltinNLP(c *configs.Config, required bool, log *zap.Logger) (cns.Embedder, cns.NLI, string, error) {
	var err error
	if strings.TrimSpace(c.NLP.ModelsDir) == "" {
		err = fmt.Errorf("nlp.models_dir is empty: %w", assets.ErrMissing)
	} else {
		var emb cns.Embedder
		var nli cns.NLI
		emb, nli, err = loadBuiltinAssets(c)
		if err == nil {
			desc := emb.Name() + " + " + nli.Name() + " (GloVe 6B 100d, WordNet 3.0)"
			log.Info("nlp backend ready", zap.String("embedder", emb.Name()), zap.String("nli", nli.Name()), zap.String("models_dir", c.NLP.ModelsDir))
			return emb, nli, desc, nil
		}
	}
	if required {
		return nil, nil, "", fmt.Errorf("nlp.backend glove needs the model assets (run make models): %w", err)
	}
	emb, nli, ferr := nlp.New(nlp.BackendBuiltin, c.NLP.Dim)
	if ferr != nil {
		return nil, nil, "", ferr
	}
	reason := "assets invalid"
	if errors.Is(err, assets.ErrMissing) {
		reason = "assets missing"
	}
	log.Warn("nlp assets unavailable: falling back to the hashed n-gram embedder and the lexical NLI; run make models",
		zap.String("models_dir", c.NLP.ModelsDir), zap.Error(err))
	return emb, nli, fmt.Sprintf("%s + %s (fallback: %s in %q)", emb.Name(), nli.Name(), reason, c.NLP.ModelsDir), nil
}

func loadBuiltinAssets(c *configs.Config) (cns.Embedder, cns.NLI, error) {
	a, err := assets.Open(c.NLP.ModelsDir)
	if err != nil {
		return nil, nil, err
	}
	sif := glove.NewSIF(a.Vectors, 0)
	emb, err := glove.NewHybrid(sif, nlp.NewHashedEmbedder(c.NLP.Dim), glove.DefaultLexicalWeight)
	if err != nil {
		return nil, nil, err
	}
	m, err := nlimodel.Default()
	if err != nil {
		return nil, nil, fmt.Errorf("built-in NLI weights: %w", err)
	}
	nli, err := nlimodel.New(&nlimodel.Resources{SIF: sif, Lexicon: a.Lexicon}, m)
	if err != nil {
		return nil, nil, err
	}
	return emb, nli, nil
}
