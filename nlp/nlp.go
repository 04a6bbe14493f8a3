// Package nlp holds the NLP backends behind cns.Embedder and cns.NLI, starting with the built-in offline
// one: a feature-hashing n-gram embedder (HashedEmbedder) and a lexical-cue NLI (LexicalNLI). The built-in
// backend needs no download, no network and no native library, so the service runs anywhere, tests are
// hermetic, and results are reproducible (identical run to run, equal up to float rounding across
// architectures). Model-based backends can be added behind the same ports and chosen by name with New.
//
// The package also exports its tokenizer (Tokens, ContentWords) so other packages compare words the
// same way the backends do.
package nlp

import (
	"strings"

	"github.com/cns-dev/cns"
)

// Backend names accepted by New.
const (
	BackendBuiltin = "builtin"
)

// Backends returns the valid backend names, for configuration errors and help texts.
func Backends() []string { return []string{BackendBuiltin} }

// MaxDim bounds the embedding dimension New accepts, so a configuration typo cannot allocate gigabytes
// per vector.
const MaxDim = 1 << 16

// New returns the embedder and NLI of the named backend. "" means the default, "builtin". dim is the
// embedding dimension (DefaultDim when <= 0). An unknown backend or a dimension above MaxDim is EINVALID.
func New(backend string, dim int) (cns.Embedder, cns.NLI, error) {
	if dim > MaxDim {
		return nil, nil, cns.Errorf(cns.EINVALID, "embedding dimension %d exceeds the maximum %d", dim, MaxDim)
	}
	switch backend {
	case "", BackendBuiltin:
		return NewHashedEmbedder(dim), NewLexicalNLI(), nil
	}
	return nil, nil, cns.Errorf(cns.EINVALID, "unknown NLP backend %q; valid backends: %s", backend, strings.Join(Backends(), ", "))
}
