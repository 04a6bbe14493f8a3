package registry

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zaptest"

	"github.com/cns-dev/cns/internal/redistest"
)

func TestLiveOfflineAndDeregistered(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	now := time.Unix(1_800_000_000, 0)
	r := New(rdb, 10*time.Second, zaptest.NewLogger(t))
	r.now = func() time.Time { return now }
	ctx := context.Background()

	crashed := Process{Service: "cns-worker", Instance: "w1", Version: "v", Concurrency: 2, StartedAt: now}
	if err := r.beat(ctx, crashed); err != nil {
		t.Fatal(err)
	}
	// A live process beating through Run, and one that deregisters cleanly.
	live := Process{Service: "cns-api", Instance: "a1", StartedAt: now}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { r.Run(runCtx, live); close(done) }()
	leaving := Process{Service: "cns-worker", Instance: "w2"}
	if err := r.beat(ctx, leaving); err != nil {
		t.Fatal(err)
	}
	if err := r.deregister(ctx, leaving); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { ps, _ := r.List(ctx); return len(ps) == 2 })

	// Forty seconds later w1 has missed three beats; a1 keeps beating.
	now = now.Add(40 * time.Second)
	if err := r.beat(ctx, live); err != nil {
		t.Fatal(err)
	}
	ps, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Instance != "a1" || !ps[0].Online || ps[1].Instance != "w1" || ps[1].Online || ps[1].Concurrency != 2 {
		t.Fatalf("list: %+v", ps)
	}
	stop()
	<-done
	ps, _ = r.List(ctx)
	if len(ps) != 1 || ps[0].Instance != "w1" {
		t.Fatalf("after a1 stopped cleanly: %+v", ps)
	}
}

func waitFor(t *testing.T, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
