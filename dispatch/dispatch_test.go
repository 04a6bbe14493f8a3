package dispatch_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/dispatch"
	"github.com/cns-dev/cns/internal/redistest"
	busv1 "github.com/cns-dev/cns/proto/gen/cns/bus/v1"
	"github.com/cns-dev/cns/pubsub"
	redisstore "github.com/cns-dev/cns/store/redis"
)

// recordingPublisher counts the commands published per job.
type recordingPublisher struct {
	mu   sync.Mutex
	msgs []*message.Message
}

func (p *recordingPublisher) Publish(_ string, msgs ...*message.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, msgs...)
	return nil
}

func (p *recordingPublisher) Close() error { return nil }

// TestAcceptConcurrentOnRedis: concurrent requests, whose job creations the dispatcher coalesces into
// batches on Redis, each get their own job — except requests sharing an idempotency key, which get one
// job — and every new job's command is published exactly once.
func TestAcceptConcurrentOnRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	st := redisstore.New(rdb, "")
	pub := &recordingPublisher{}
	d := &dispatch.Dispatcher{Store: st, Publisher: pub, Log: zap.NewNop()}

	const n, keyed = 200, 20 // requests 0..keyed-1 share one idempotency key
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := &cns.Job{Project: fmt.Sprintf("p%d", i%3), Kind: cns.JobIngestDocument, Document: &cns.DocumentInput{Text: fmt.Sprint("doc ", i)}}
			if i < keyed {
				job.Project, job.IdempotencyKey = "p0", "same"
			}
			ids[i], errs[i] = d.Accept(t.Context(), job)
		}()
	}
	wg.Wait()
	distinct := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if i < keyed && ids[i] != ids[0] {
			t.Fatalf("request %d with the shared key got job %s, request 0 got %s", i, ids[i], ids[0])
		}
		distinct[ids[i]] = true
	}
	if want := n - keyed + 1; len(distinct) != want {
		t.Fatalf("%d distinct jobs, want %d", len(distinct), want)
	}
	published := map[string]int{}
	pub.mu.Lock()
	for _, m := range pub.msgs {
		var cmd busv1.ProcessJob
		if err := pubsub.Decode(m, &cmd); err != nil {
			t.Fatal(err)
		}
		published[cmd.JobId]++
	}
	pub.mu.Unlock()
	for id := range distinct {
		if published[id] != 1 {
			t.Fatalf("job %s: %d commands published, want 1", id, published[id])
		}
	}
	if len(published) != len(distinct) {
		t.Fatalf("commands for %d jobs, want %d", len(published), len(distinct))
	}
	for id := range distinct {
		var project string
		for i := range n {
			if ids[i] == id {
				project = fmt.Sprintf("p%d", i%3)
				if i < keyed {
					project = "p0"
				}
				break
			}
		}
		j, err := st.GetJob(t.Context(), project, id)
		if err != nil || j.State != cns.JobQueued || time.Since(j.CreatedAt) > time.Minute {
			t.Fatalf("job %s/%s: %+v, %v", project, id, j, err)
		}
	}
}
