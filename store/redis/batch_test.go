package redis_test

import (
	"fmt"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cns-dev/cns/internal/redistest"
	"github.com/cns-dev/cns/store/redis"
	"github.com/cns-dev/cns/store/storetest"
)

func openBatchOn(rdb goredis.UniversalClient) func(t *testing.T) storetest.BatchStore {
	return func(t *testing.T) storetest.BatchStore {
		s := redis.New(rdb, fmt.Sprintf("t%d:", namespaces.Add(1)))
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// TestBatchContract runs the batch bookkeeping contract on a standalone server and on a cluster, where
// each project's batch must stay in its own hash slot.
func TestBatchContract(t *testing.T) {
	t.Run("Standalone", func(t *testing.T) {
		t.Parallel()
		srv := redistest.Start(t)
		rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
		t.Cleanup(func() { rdb.Close() })
		storetest.RunBatch(t, openBatchOn(rdb))
	})
	t.Run("Cluster", func(t *testing.T) {
		t.Parallel()
		c := redistest.StartCluster(t)
		rdb := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.Addrs()})
		t.Cleanup(func() { rdb.Close() })
		storetest.RunBatch(t, openBatchOn(rdb))
	})
}
