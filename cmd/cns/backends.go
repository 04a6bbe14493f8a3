package main

import (
	"fmt"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/configs"
	"github.com/cns-dev/cns/nlp"
)

// newNLP builds the configured embedder and NLI. Backends are chosen here, in the composition root, so
// the nlp package does not import every model backend.
func newNLP(c *configs.Config) (cns.Embedder, cns.NLI, error) {
	switch c.NLP.Backend {
	case "builtin":
		return nlp.New(nlp.BackendBuiltin, c.NLP.Dim)
	}
	return nil, nil, fmt.Errorf("nlp.backend %q is not available in this build", c.NLP.Backend)
}

// newIndexFactory returns the constructor of per-project vector indexes (nil = exact pure Go).
func newIndexFactory(c *configs.Config) (func(dim int) cns.VectorIndex, error) {
	switch c.Vector.Backend {
	case "exact":
		return nil, nil
	}
	return nil, fmt.Errorf("vector.backend %q is not available in this build", c.Vector.Backend)
}
