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
	case "cybertron":
		return openCybertronNLP(c, log)
	}
	return nil, nil, "", fmt.Errorf("nlp.backend %q is not available in this build", c.NLP.Backend)
}

// newIndexFactory returns the constructor of per-project vector indexes (nil = exact pure Go), without
// persistence.
func newIndexFactory(c *configs.Config) (func(dim int) cns.VectorIndex, error) {
	b, err := newVectorBackend(c, "", zap.NewNop())
	return b.NewIndex, err
}

// vectorBackend is the configured vector index backend and its lifecycle hooks.
type vectorBackend struct {
	NewIndex func(dim int) cns.VectorIndex // nil = exact pure Go
	// Loaded, if set, runs after the first rebuild from the store: indexes loaded from disk drop the
	// entries the store did not confirm.
	Loaded func()
	// Close, if set, runs at shutdown once nothing writes to the indexes: it saves and frees them.
	Close func() error
}

// newVectorBackend builds the configured vector backend. persistDir is where indexes that persist (FAISS)
// keep their files; "" keeps them in memory only. "faiss" needs a binary built with -tags faiss.
func newVectorBackend(c *configs.Config, persistDir string, log *zap.Logger) (vectorBackend, error) {
	switch c.Vector.Backend {
	case "exact":
		return vectorBackend{}, nil
	case "faiss":
		return newFaissBackend(c, persistDir, log)
	}
	return vectorBackend{}, fmt.Errorf("vector.backend %q is not available in this build", c.Vector.Backend)
}
