package dispatch_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/dispatch"
	"github.com/cns-dev/cns/population"
	"github.com/cns-dev/cns/pubsub"
	"github.com/cns-dev/cns/store/bolt"
)

// TestSynthesesConcurrentSamePair: many requests for one pair at once — from the API and from discovery
// alike — get the one job, never a budget refusal caused by their twin's cooldown; a pair sharing an SNO
// is refused by the cooldown; the hourly budget counts each synthesis once.
func TestSynthesesConcurrentSamePair(t *testing.T) {
	t.Parallel()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "cns.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bus := pubsub.NewInProcess(pubsub.NewZapLogger(zap.NewNop()))
	defer bus.Close()
	ctx := context.Background()
	budgets := &population.Budgets{Store: st, SynthesesPerHour: 10, Cooldown: time.Hour}
	s := &dispatch.Syntheses{D: &dispatch.Dispatcher{Store: st, Publisher: bus, Log: zap.NewNop()}, Pairs: st, Budget: budgets, Generator: "synthesis/builtin@1"}

	for round := range 4 {
		a, b := fmt.Sprintf("sno_a%d", round), fmt.Sprintf("sno_b%d", round)
		const n = 12
		var wg sync.WaitGroup
		ids := make([]string, n)
		created := make([]bool, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				x, y := a, b
				if i%2 == 1 {
					x, y = b, a
				}
				ids[i], created[i], errs[i] = s.Accept(ctx, "p", x, y, i%3 == 0)
			}()
		}
		wg.Wait()
		nCreated := 0
		for i := range n {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("round %d request %d: %q, %v; the first got %q", round, i, ids[i], errs[i], ids[0])
			}
			if created[i] {
				nCreated++
			}
		}
		if nCreated != 1 {
			t.Fatalf("round %d: %d requests created a job", round, nCreated)
		}
		j, err := st.GetJob(ctx, "p", ids[0])
		if err != nil || j.Kind != cns.JobSynthesizePair || j.Synthesis.A != a || j.Synthesis.B != b || j.State != cns.JobQueued {
			t.Fatalf("job %+v, %v", j, err)
		}
	}
	// sno_a0 is cooling down: another pair with it is refused and claims nothing.
	if _, _, err := s.Accept(ctx, "p", "sno_a0", "sno_c", true); cns.ErrorCode(err) != cns.EEXHAUSTED {
		t.Fatalf("pair with a cooling SNO: %v", err)
	}
	if _, err := st.SynthesisClaim(ctx, "p", "sno_a0", "sno_c", "synthesis/builtin@1"); cns.ErrorCode(err) != cns.ENOTFOUND {
		t.Fatalf("refused pair claimed: %v", err)
	}
	// Four syntheses were recorded once each: 6 more fit in the hour, then the budget refuses.
	for i := range 6 {
		if _, created, err := s.Accept(ctx, "p", fmt.Sprintf("x%d", i), fmt.Sprintf("y%d", i), false); err != nil || !created {
			t.Fatalf("synthesis %d of the budget: %v %v", i+5, created, err)
		}
	}
	if _, _, err := s.Accept(ctx, "p", "x9", "y9", false); cns.ErrorCode(err) != cns.EEXHAUSTED {
		t.Fatalf("eleventh synthesis in the hour: %v", err)
	}
	// A claimed pair still answers its job over the spent budget.
	if id, created, err := s.Accept(ctx, "p", "sno_b1", "sno_a1", false); err != nil || created || id == "" {
		t.Fatalf("claimed pair over the budget: %q %v %v", id, created, err)
	}
}
