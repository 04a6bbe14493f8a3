package bolt

import (
	"context"
	"sync"

	"go.etcd.io/bbolt"

	"github.com/cns-dev/cns"
)

var _ cns.BatchJobStore = (*Store)(nil)

// GetJobs implements cns.BatchJobStore: every job is read in one read transaction.
func (s *Store) GetJobs(ctx context.Context, refs []cns.JobRef) ([]*cns.Job, []error) {
	const op = "get job"
	jobs, errs := make([]*cns.Job, len(refs)), make([]error, len(refs))
	if err := ctx.Err(); err != nil {
		for i := range errs {
			errs[i] = wrap(op, err)
		}
		return jobs, errs
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := bucketsOf(tx)
		for i, r := range refs {
			if err := checkProject(r.Project); err != nil {
				errs[i] = wrap(op, err)
				continue
			}
			j, err := getJob(b, r.Project, r.ID)
			jobs[i], errs[i] = j, wrap(op, err)
		}
		return nil
	})
	if err != nil {
		for i := range errs {
			errs[i] = wrap(op, err)
		}
	}
	return jobs, errs
}

// CreateJobs implements cns.BatchJobStore, as UpdateJobs: CreateJob per item, folded into one commit by
// bbolt's Batch. Items that share an idempotency key run one after the other in batch order, so the
// first creates the job and the rest get it back, as on the other stores.
func (s *Store) CreateJobs(ctx context.Context, jobs []*cns.Job) ([]*cns.Job, []bool, []error) {
	stored, created, errs := make([]*cns.Job, len(jobs)), make([]bool, len(jobs)), make([]error, len(jobs))
	var chains [][]int
	byKey := map[[2]string]int{} // (project, key) → its chain
	for i, j := range jobs {
		if j != nil && j.IdempotencyKey != "" {
			k := [2]string{j.Project, j.IdempotencyKey}
			if c, ok := byKey[k]; ok {
				chains[c] = append(chains[c], i)
				continue
			}
			byKey[k] = len(chains)
		}
		chains = append(chains, []int{i})
	}
	var wg sync.WaitGroup
	for _, chain := range chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, i := range chain {
				stored[i], created[i], errs[i] = s.CreateJob(ctx, jobs[i])
			}
		}()
	}
	wg.Wait()
	return stored, created, errs
}

// UpdateJobs implements cns.BatchJobStore. Each item is UpdateJob itself, run concurrently: bbolt's
// Batch folds concurrent writers into one transaction (one fsync) and retries alone any item that fails,
// so each item keeps UpdateJob's semantics and the batch costs about one commit.
func (s *Store) UpdateJobs(ctx context.Context, jobs []*cns.Job) []error {
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.UpdateJob(ctx, j)
		}()
	}
	wg.Wait()
	return errs
}

// CompleteJobs implements cns.BatchJobStore, as UpdateJobs: CompleteJob per item, folded into one
// commit by bbolt's Batch.
func (s *Store) CompleteJobs(ctx context.Context, items []cns.JobCompletion) []error {
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.CompleteJob(ctx, it.Job, it.SNO)
		}()
	}
	wg.Wait()
	return errs
}
