package population_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/population"
	"github.com/cns-dev/cns/store/bolt"
)

func TestSelectForArchive(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	old := now.Add(-48 * time.Hour)
	members := []population.Member{
		{ID: "low", Trust: 0.1, CreatedAt: old},
		{ID: "parent", Trust: 0.05, CreatedAt: old}, // lowest, but the parent of an ACTIVE synthesis
		{ID: "fresh", Trust: 0.01, CreatedAt: now.Add(-time.Minute)},
		{ID: "mid-b", Trust: 0.5, CreatedAt: old},
		{ID: "mid-a", Trust: 0.5, CreatedAt: old.Add(-time.Hour)}, // same trust, older: first
		{ID: "high", Trust: 0.9, CreatedAt: old},
		{ID: "synth", Trust: 0.8, CreatedAt: old, Parents: []string{"parent", "gone"}},
	}
	p := population.Policy{MaxActive: 4, ProtectRecent: time.Hour}
	if got := p.SelectForArchive(members, now); !slices.Equal(got, []string{"low", "mid-a", "mid-b"}) {
		t.Fatalf("archive %v, want [low mid-a mid-b]", got)
	}
	// Everything unprotected goes before protected ones would; then fewer than needed.
	p.MaxActive = 1
	if got := p.SelectForArchive(members, now); !slices.Equal(got, []string{"low", "mid-a", "mid-b", "synth", "high"}) {
		t.Fatalf("archive %v", got)
	}
	// Under the limit, or no limit: nothing.
	if got := (population.Policy{MaxActive: 7}).SelectForArchive(members, now); got != nil {
		t.Fatalf("at the limit: %v", got)
	}
	if got := (population.Policy{}).SelectForArchive(members, now); got != nil {
		t.Fatalf("no limit: %v", got)
	}
	// Without ProtectRecent the fresh one is the lowest.
	if got := (population.Policy{MaxActive: 6}).SelectForArchive(members, now); !slices.Equal(got, []string{"fresh"}) {
		t.Fatalf("archive %v, want [fresh]", got)
	}
}

func TestBudgets(t *testing.T) {
	t.Parallel()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "cns.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	b := &population.Budgets{Store: st, SynthesesPerHour: 2, TokensPerHour: 1000, Cooldown: 10 * time.Minute, Now: func() time.Time { return now }}

	take := func(x, y string) error {
		t.Helper()
		if err := b.CheckSynthesis(ctx, "p", x, y); err != nil {
			return err
		}
		return b.RecordSynthesis(ctx, "p", x, y)
	}
	if err := take("a", "b"); err != nil {
		t.Fatal(err)
	}
	// a is cooling down: refused, and nothing taken (c and d still get the second synthesis).
	err = take("a", "c")
	if e, ok := err.(*cns.Error); !ok || e.Code != cns.EEXHAUSTED || e.RetryAfterSeconds != 600 {
		t.Fatalf("cooling down: %v", err)
	}
	if err := take("c", "d"); err != nil {
		t.Fatal(err)
	}
	// The hourly budget of 2 is spent.
	err = take("e", "f")
	if e, ok := err.(*cns.Error); !ok || e.Code != cns.EEXHAUSTED || e.RetryAfterSeconds != 3600 {
		t.Fatalf("over the hourly budget: %v", err)
	}
	// A check alone consumes nothing: e and f were not put on cooldown; after the hour they pass.
	now = now.Add(time.Hour)
	for range 3 {
		if err := b.CheckSynthesis(ctx, "p", "e", "f"); err != nil {
			t.Fatalf("after an hour: %v", err)
		}
	}
	// Recording is unconditional (the synthesis is claimed): two recorded at once overrun the budget of
	// 2 by one, and the next check refuses.
	for _, pr := range [][2]string{{"e", "f"}, {"g", "h"}, {"i", "j"}} {
		if err := b.RecordSynthesis(ctx, "p", pr[0], pr[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.CheckSynthesis(ctx, "p", "k", "l"); cns.ErrorCode(err) != cns.EEXHAUSTED {
		t.Fatalf("after recording 3 of 2: %v", err)
	}
	// Other projects have their own budgets.
	if err := b.CheckSynthesis(ctx, "q", "a", "b"); err != nil {
		t.Fatal(err)
	}

	// Tokens: allowed until spent, spends are recorded past the limit.
	if err := b.AllowTokens(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if err := b.SpendTokens(ctx, "p", 900); err != nil {
		t.Fatal(err)
	}
	if err := b.AllowTokens(ctx, "p"); err != nil {
		t.Fatalf("900 of 1000 spent: %v", err)
	}
	if err := b.SpendTokens(ctx, "p", 400); err != nil {
		t.Fatal(err)
	}
	if err := b.AllowTokens(ctx, "p"); cns.ErrorCode(err) != cns.EEXHAUSTED {
		t.Fatalf("1300 of 1000 spent: %v", err)
	}
	now = now.Add(time.Hour)
	if err := b.AllowTokens(ctx, "p"); err != nil {
		t.Fatalf("next hour: %v", err)
	}

	// Zero limits mean no limit and touch nothing.
	free := &population.Budgets{Store: st}
	for range 5 {
		if err := free.CheckSynthesis(ctx, "p", "a", "b"); err != nil {
			t.Fatal(err)
		}
		if err := free.RecordSynthesis(ctx, "p", "a", "b"); err != nil {
			t.Fatal(err)
		}
	}
	if err := free.AllowTokens(ctx, "p"); err != nil {
		t.Fatal(err)
	}
}
