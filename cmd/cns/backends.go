package main

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/configs"
)

// newNLP builds the configured embedder and NLI and says what is in use. Backends are chosen here, in the
// composition root, so the nlp package does not import every model backend. "builtin" uses GloVe-SIF,
// WordNet and the trained NLI when the assets are in nlp.models_dir and otherwise falls back to the
// hashed n-gram embedder and lexical NLI with a warning; "glove" requires the assets.
func newNLP(c *configs.Config, log *zap.Logger) (cns.Embedder, cns.NLI, string, error) {
	switch c.NLP.Backend {
	case "builtin", "glove":
		return openBuiltinNLP(c, c.NLP.Backend == "glove", log)
	}
	return nil, nil, "", fmt.Errorf("nlp.backend %q is not available in this build", c.NLP.Backend)
}

// newIndexFactory returns the constructor of per-project vector indexes (nil = exact pure Go).
func newIndexFactory(c *configs.Config) (func(dim int) cns.VectorIndex, error) {
	switch c.Vector.Backend {
	case "exact":
		return nil, nil
	}
	return nil, fmt.Errorf("vector.backend %q is not available in this build", c.Vector.Backend)
}
