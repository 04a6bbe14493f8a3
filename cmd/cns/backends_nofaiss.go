//go:build !faiss

package main

import (
	"errors"

	"go.uber.org/zap"

	"github.com/cns-dev/cns/configs"
)

// newFaissBackend fails in the default, pure-Go build: FAISS is a native library linked only with the
// faiss build tag.
func newFaissBackend(*configs.Config, string, *zap.Logger) (vectorBackend, error) {
	return vectorBackend{}, errors.New("this binary was built without FAISS; build with -tags faiss after make faiss")
}
