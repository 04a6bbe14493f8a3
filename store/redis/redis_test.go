package redis_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/internal/redistest"
	"github.com/cns-dev/cns/store/redis"
	"github.com/cns-dev/cns/store/storetest"
)

var namespaces atomic.Int64

// openOn returns an opener giving every contract subtest a fresh namespace on the same server.
func openOn(rdb goredis.UniversalClient) func(t *testing.T) cns.Store {
	return func(t *testing.T) cns.Store {
		s := redis.New(rdb, fmt.Sprintf("t%d:", namespaces.Add(1)))
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func openPairsOn(rdb goredis.UniversalClient) func(t *testing.T) storetest.PairStore {
	return func(t *testing.T) storetest.PairStore {
		s := redis.New(rdb, fmt.Sprintf("t%d:", namespaces.Add(1)))
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func TestContract(t *testing.T) {
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	t.Run("Store", func(t *testing.T) { storetest.Run(t, openOn(rdb)) })
	t.Run("PairStore", func(t *testing.T) { storetest.RunPairs(t, openPairsOn(rdb)) })
}

func TestContractOnCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	rdb := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { rdb.Close() })
	t.Run("Store", func(t *testing.T) { storetest.Run(t, openOn(rdb)) })
	t.Run("PairStore", func(t *testing.T) { storetest.RunPairs(t, openPairsOn(rdb)) })
}

// TestUnavailableIsBoundedAndCoded: with Redis gone, calls fail fast with EUNAVAILABLE, and work again
// once it is back, with the data kept by the AOF.
func TestUnavailableIsBoundedAndCoded(t *testing.T) {
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DialTimeout: 300 * time.Millisecond,
		ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond, MaxRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	s := redis.New(rdb, "")
	ctx := context.Background()
	now := time.Now().UTC()
	job := &cns.Job{ID: "j1", Project: "p", Kind: cns.JobIngestDocument, State: cns.JobQueued, CreatedAt: now, UpdatedAt: now,
		Document: &cns.DocumentInput{Text: "x"}}
	if _, _, err := s.CreateJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	// AOF is fsynced every second: give it that second before the crash.
	time.Sleep(1100 * time.Millisecond)
	srv.Kill()
	_, err := s.GetJob(ctx, "p", "j1")
	if cns.ErrorCode(err) != cns.EUNAVAILABLE {
		t.Fatalf("with Redis down: %v", err)
	}
	var ce *cns.Error
	if !errors.As(err, &ce) || ce.RetryAfterSeconds == 0 {
		t.Fatalf("no retry hint: %v", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		j, err := s.GetJob(ctx, "p", "j1")
		if err == nil {
			if j.ID != "j1" {
				t.Fatalf("job after restart: %+v", j)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("store did not recover: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
