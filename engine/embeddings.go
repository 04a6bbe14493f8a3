package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/cns-dev/cns"
)

// CheckEmbeddings refuses to start on a store whose SNO embeddings another embedder made: vectors of
// another dimension cannot be searched or compared, and a silent skip would make novelty and search
// quietly wrong. It compares every stored embedding's dimension with the embedder's and, on a mismatch,
// returns an error that names both and the repair (`cns reindex`). SNOs without an embedding are ignored.
// Embedders of equal dimension are not told apart: the stored SNO does not record its embedder's name.
func (e *Engine) CheckEmbeddings(ctx context.Context) error {
	want := e.emb.Dim()
	total, bad := 0, 0
	dims := map[int]int{}
	err := e.store.ScanSNOs(ctx, func(s *cns.SNO) error {
		if len(s.Embedding) == 0 {
			return nil
		}
		total++
		if len(s.Embedding) != want {
			bad++
			dims[len(s.Embedding)]++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("check stored embeddings: %w", err)
	}
	if bad == 0 {
		return nil
	}
	var ds []string
	keys := make([]int, 0, len(dims))
	for d := range dims {
		keys = append(keys, d)
	}
	sort.Ints(keys)
	for _, d := range keys {
		ds = append(ds, fmt.Sprintf("%d of dimension %d", dims[d], d))
	}
	return cns.Errorf(cns.EINVALID, "%d of %d stored SNOs have embeddings from another NLP backend (%s) but the embedder %s makes dimension %d: "+
		"run `cns reindex` with this configuration to re-embed them, or restore the previous nlp.backend / nlp.models_dir",
		bad, total, strings.Join(ds, ", "), e.emb.Name(), want)
}
