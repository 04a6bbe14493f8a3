package worker

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/internal/coalesce"
)

// fakeBatchStore records the batches it is given; the first two GetJobs batches (one per flusher) block
// until released, so the test knows which calls queue behind them.
type fakeBatchStore struct {
	cns.Store
	mu      sync.Mutex
	batches [][]cns.JobRef
	blocked chan struct{}
	release chan struct{}
}

func newFake() *fakeBatchStore {
	return &fakeBatchStore{blocked: make(chan struct{}, coalesce.MaxFlushes), release: make(chan struct{})}
}

func (f *fakeBatchStore) GetJobs(_ context.Context, refs []cns.JobRef) ([]*cns.Job, []error) {
	f.mu.Lock()
	f.batches = append(f.batches, refs)
	block := len(f.batches) <= coalesce.MaxFlushes
	f.mu.Unlock()
	if block {
		f.blocked <- struct{}{}
		<-f.release
	}
	jobs, errs := make([]*cns.Job, len(refs)), make([]error, len(refs))
	for i, r := range refs {
		if r.ID == "missing" {
			errs[i] = cns.Errorf(cns.ENOTFOUND, "job %q not found", r.ID)
			continue
		}
		jobs[i] = &cns.Job{Project: r.Project, ID: r.ID}
	}
	return jobs, errs
}

func (f *fakeBatchStore) CreateJobs(context.Context, []*cns.Job) ([]*cns.Job, []bool, []error) {
	return nil, nil, nil
}

func (f *fakeBatchStore) UpdateJobs(context.Context, []*cns.Job) []error { return nil }
func (f *fakeBatchStore) CompleteJobs(context.Context, []cns.JobCompletion) []error {
	return nil
}

// TestCoalescedCallsShareBatches: calls made while batches are on the wire go out together in one next
// batch, and every caller gets its own result.
func TestCoalescedCallsShareBatches(t *testing.T) {
	f := newFake()
	s := coalesced(f).(*coalescer)
	ctx := context.Background()
	const queued = 40
	results := make(chan error, queued+coalesce.MaxFlushes)
	check := func(id string) {
		j, err := s.GetJob(ctx, "p", id)
		switch {
		case id == "missing" && cns.ErrorCode(err) != cns.ENOTFOUND:
			results <- fmt.Errorf("missing job: %v", err)
		case id != "missing" && (err != nil || j.ID != id):
			results <- fmt.Errorf("job %s: got %v, %v", id, j, err)
		default:
			results <- nil
		}
	}
	for i := range coalesce.MaxFlushes {
		go check(fmt.Sprint("first-", i))
		<-f.blocked
	}
	for i := range queued {
		id := fmt.Sprint("j", i)
		if i == 7 {
			id = "missing"
		}
		go check(id)
	}
	for {
		if s.gets.Queued() == queued {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(f.release)
	for range queued + coalesce.MaxFlushes {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.batches) != coalesce.MaxFlushes+1 || len(f.batches[coalesce.MaxFlushes]) != queued {
		sizes := []int{}
		for _, b := range f.batches {
			sizes = append(sizes, len(b))
		}
		t.Fatalf("batch sizes %v, want %d single calls then one batch of %d", sizes, coalesce.MaxFlushes, queued)
	}
}

// TestCoalescedPassThrough: a store without batch methods is used as it is, and a cancelled context
// fails a call before anything is written.
func TestCoalescedPassThrough(t *testing.T) {
	var plain struct{ cns.Store }
	if got := coalesced(plain); got != cns.Store(plain) {
		t.Fatalf("store without batch methods was wrapped: %T", got)
	}
	f := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := coalesced(f).GetJob(ctx, "p", "j"); err != context.Canceled {
		t.Fatalf("cancelled call: %v", err)
	}
	if len(f.batches) != 0 {
		t.Fatal("a cancelled call reached the store")
	}
}
