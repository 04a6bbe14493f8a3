//go:build faiss

package main

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/cns-dev/cns/configs"
	"github.com/cns-dev/cns/vector/faiss"
)

// newFaissBackend builds FAISS indexes of vector.faiss_index with vector.hnsw_ef_search. With a
// persistDir the indexes are saved there at shutdown and reloaded at the next start (each entry hidden
// until the rebuild from the store confirms it, so a stale file never answers); without one they live in
// memory only.
func newFaissBackend(c *configs.Config, persistDir string, log *zap.Logger) (vectorBackend, error) {
	cfg := faiss.Config{Description: c.Vector.FaissIndex, EfSearch: c.Vector.HNSWEfSearch}
	st, err := faiss.NewStore(persistDir, cfg, log)
	if err != nil {
		return vectorBackend{}, fmt.Errorf("vector.faiss_index %q: %w", c.Vector.FaissIndex, err)
	}
	log.Info("vector backend ready", zap.String("backend", "faiss"), zap.String("index", cfg.Description),
		zap.Int("ef_search", cfg.EfSearch), zap.String("persist_dir", persistDir))
	return vectorBackend{
		NewIndex: st.NewIndex,
		Loaded:   func() { st.Loaded() },
		Close: func() error {
			defer st.Close()
			return st.Save()
		},
	}, nil
}
