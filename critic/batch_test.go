package critic_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/critic"
)

// batchNLI is a fakeNLI that also classifies in batches, recording each batch; Classify must then not be
// used by the grounding critic.
type batchNLI struct {
	*fakeNLI
	err   error
	short bool // return one result too few

	mu      sync.Mutex
	batches [][][2]string
}

func (b *batchNLI) ClassifyBatch(ctx context.Context, premises, hypotheses []string) ([]cns.Entailment, error) {
	b.mu.Lock()
	var pairs [][2]string
	for i := range premises {
		pairs = append(pairs, [2]string{premises[i], hypotheses[i]})
	}
	b.batches = append(b.batches, pairs)
	b.mu.Unlock()
	if b.err != nil {
		return nil, b.err
	}
	out := make([]cns.Entailment, len(premises))
	for i := range premises {
		key := [2]string{premises[i], hypotheses[i]}
		out[i] = cns.Entailment{Neutral: 1}
		if v, ok := b.table[key]; ok {
			out[i] = v
		}
	}
	if b.short {
		out = out[1:]
	}
	return out, nil
}

var _ critic.BatchNLI = (*batchNLI)(nil)

func batchSNO() *cns.SNO {
	g := cns.Graph{Claims: []cns.Claim{{ID: cns.RootClaimID}, {ID: "p1", Text: "A"}, {ID: "p2", Text: "B"}, {ID: "p3", Text: " "}},
		Edges: []cns.Edge{edge("p1", "root", cns.RelationSupports), edge("p2", "root", cns.RelationSupports)}}
	return snoOf(g, evidence("e1", "P", 1), evidence("e2", "Q", 0.5), evidence("e3", "  ", 1))
}

var batchTable = map[[2]string]cns.Entailment{
	{"P", "H"}: p(0.9, 0.1, 0), {"Q", "A"}: p(0.7, 0, 0.3), {"P", "B"}: p(0.1, 0.1, 0.8), {"Q", "B"}: p(0.55, 0.45, 0),
}

// The grounding score is the same whether the NLI answers pair by pair or in one batch, and a batch
// backend gets every readable pair of the SNO in a single call.
func TestGroundingUsesBatches(t *testing.T) {
	t.Parallel()
	seq := &fakeNLI{table: batchTable}
	want, err := newEvaluator(t, critic.DefaultConfig(), seq).Grounding(context.Background(), batchSNO())
	if err != nil {
		t.Fatal(err)
	}
	b := &batchNLI{fakeNLI: &fakeNLI{table: batchTable}}
	got, err := newEvaluator(t, critic.DefaultConfig(), b).Grounding(context.Background(), batchSNO())
	if err != nil {
		t.Fatal(err)
	}
	if got.Score != want.Score || got.Confidence != want.Confidence || got.Explanation != want.Explanation {
		t.Errorf("batched grounding %+v, sequential %+v", got, want)
	}
	for k, v := range want.SubScores {
		if got.SubScores[k] != v {
			t.Errorf("sub-score %s: batched %v, sequential %v", k, got.SubScores[k], v)
		}
	}
	// 3 claims with text (root, p1, p2) × 2 readable evidence items, in one batch; Classify unused.
	if len(b.batches) != 1 || len(b.batches[0]) != 6 || len(b.calls()) != 0 {
		t.Fatalf("batches %v, Classify calls %v: want one batch of 6 pairs and no Classify", b.batches, b.calls())
	}
	if len(seq.calls()) != 6 {
		t.Errorf("sequential path made %d calls, want 6", len(seq.calls()))
	}
}

func TestGroundingBatchErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	_, err := newEvaluator(t, critic.DefaultConfig(), &batchNLI{fakeNLI: &fakeNLI{}, err: boom}).Grounding(context.Background(), batchSNO())
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "grounding: classify 6 claim-evidence pairs") {
		t.Errorf("batch failure: %v", err)
	}
	_, err = newEvaluator(t, critic.DefaultConfig(), &batchNLI{fakeNLI: &fakeNLI{}, short: true}).Grounding(context.Background(), batchSNO())
	if cns.ErrorCode(err) != cns.EINTERNAL || !strings.Contains(err.Error(), "returned 5 results for 6 pairs") {
		t.Errorf("short batch: %v", err)
	}
}
