// Package bolt is the embedded, single-file cns.Store used by `cns dev`, built on go.etcd.io/bbolt.
//
// Every operation is one bbolt transaction, so each write is atomic and, because bbolt fsyncs every
// commit, durable once the call returns: a job that CreateJob accepted survives a crash. Records are
// JSON in versioned record structs (see record.go), never the domain types, so the domain can evolve
// without breaking existing data dirs.
//
// Buckets (project keys are project\x00…, see keys.go):
//
//	jobs             project\x00id                   → job record
//	jobs_by_key      project\x00idempotency-key      → job id
//	jobs_by_time     project\x00 created \x00 id      → state code   (ListJobs, Stats)
//	jobs_unfinished  created project\x00id           → (empty)      (UnfinishedJobs, all projects)
//	snos             project\x00id                   → sno record
//	snos_by_trust    project\x00 desc(trust) \x00 id  → status code  (ListSNOs, Stats)
//	meta             "layout"                        → layout version of this file
//
// Costs, acceptable for a single-user dev store: ListSNOs with a status filter walks the project's trust
// index from the cursor and skips entries of other statuses (reading only index entries, not records), so
// a page of a rare status may walk most of the project; Stats walks both project indexes. A production
// store would keep per-status indexes and counters.
package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/store/record"
	bbolt "go.etcd.io/bbolt"
)

var (
	bucketJobs       = []byte("jobs")
	bucketJobKeys    = []byte("jobs_by_key")
	bucketJobTimes   = []byte("jobs_by_time")
	bucketUnfinished = []byte("jobs_unfinished")
	bucketSNOs       = []byte("snos")
	bucketSNOTrust   = []byte("snos_by_trust")
	bucketMeta       = []byte("meta")

	metaLayout = []byte("layout")
)

// layoutVersion is the bucket and key layout of the file (as opposed to the record schema). A build that
// finds a layout it does not know refuses to open the file rather than misread it. Layout 2 added the
// operational loop's buckets (pairs.go); a layout-1 file is upgraded in place when opened.
const layoutVersion = "2"

// lockTimeout is how long Open waits for the file lock. bbolt's default is to wait forever, which would
// make a second `cns dev` on the same data dir hang silently.
const lockTimeout = time.Second

// scanBatch is how many SNOs ScanSNOs reads per read transaction. fn runs outside any transaction, so it
// may call back into the store (a read transaction held open across a write that remaps the file would
// deadlock).
const scanBatch = 256

// ctxCheckEvery is how many index entries a scan reads between context checks.
const ctxCheckEvery = 1024

// Store is a cns.Store in one bbolt file. It is safe for concurrent use; bbolt serialises writers.
type Store struct {
	db   *bbolt.DB
	path string
}

var _ cns.Store = (*Store)(nil)

// Open opens or creates the store file at path, creating its parent directory. If another process holds
// the file, Open fails after about a second instead of waiting.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: create data dir: %w", path, err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: lockTimeout,
		// The freelist is rebuilt by scanning on open instead of being written on every commit: cheaper
		// commits, same durability (data and meta pages are still fsynced; NoSync stays false).
		NoFreelistSync: true,
		FreelistType:   bbolt.FreelistMapType,
	})
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: is another cns dev running on this data dir? (%w)", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// Writes go through db.Batch: concurrent writers (API requests, worker slots) share one transaction
	// and one fsync. Every write function is safe to re-run, which Batch requires when a batch fails.
	// A short delay keeps single-writer latency low while still coalescing bursts.
	db.MaxBatchDelay = 2 * time.Millisecond
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range append([][]byte{bucketJobs, bucketJobKeys, bucketJobTimes, bucketUnfinished, bucketSNOs, bucketSNOTrust, bucketMeta, bucketDeadLetters}, pairBuckets...) {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(metaLayout); {
		case v == nil:
			return meta.Put(metaLayout, []byte(layoutVersion))
		case string(v) == "1":
			if err := upgradeFromLayout1(tx); err != nil {
				return err
			}
			return meta.Put(metaLayout, []byte(layoutVersion))
		case string(v) != layoutVersion:
			return fmt.Errorf("file has store layout %q, this build reads %q (written by a newer cns?)", v, layoutVersion)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
}

// Close closes the file. Calling it again is harmless.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bolt: close %s: %w", s.path, err)
	}
	return nil
}

// buckets holds a transaction's buckets; Open created all of them.
type buckets struct {
	jobs, jobKeys, jobTimes, unfinished, snos, snoTrust *bbolt.Bucket
	evidence                                            *bbolt.Bucket // evidence inverted index (pairs.go)
}

func bucketsOf(tx *bbolt.Tx) buckets {
	return buckets{
		jobs:       tx.Bucket(bucketJobs),
		jobKeys:    tx.Bucket(bucketJobKeys),
		jobTimes:   tx.Bucket(bucketJobTimes),
		unfinished: tx.Bucket(bucketUnfinished),
		snos:       tx.Bucket(bucketSNOs),
		snoTrust:   tx.Bucket(bucketSNOTrust),
		evidence:   tx.Bucket(bucketEvidence),
	}
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("bolt: %s: %w", op, err)
}

// ---- validation ----

// checkProject rejects projects that would break the key layout: the empty project, and a NUL byte,
// which would let one project's keys alias another's.
func checkProject(p string) error {
	if p == "" {
		return cns.Errorf(cns.EINVALID, "project is empty")
	}
	if strings.IndexByte(p, sep) >= 0 {
		return cns.Errorf(cns.EINVALID, "project contains a NUL byte")
	}
	return nil
}

func checkJob(j *cns.Job) error {
	if j == nil {
		return cns.Errorf(cns.EINVALID, "job is nil")
	}
	if err := checkProject(j.Project); err != nil {
		return err
	}
	if j.ID == "" {
		return cns.Errorf(cns.EINVALID, "job id is empty")
	}
	return nil
}

func checkSNO(s *cns.SNO) error {
	if s == nil {
		return cns.Errorf(cns.EINVALID, "sno is nil")
	}
	if err := checkProject(s.Project); err != nil {
		return err
	}
	if s.ID == "" {
		return cns.Errorf(cns.EINVALID, "sno id is empty")
	}
	// NaN has no place in the trust order (and would match no filter).
	if math.IsNaN(s.Trust) {
		return cns.Errorf(cns.EINVALID, "sno %q trust is NaN", s.ID)
	}
	return nil
}

func unfinished(s cns.JobState) bool { return s == cns.JobQueued || s == cns.JobRunning }

// ---- writes inside a transaction ----

// putJob writes j (encoded as rec) and its index entries, removing old's entries first when j replaces
// an existing record.
func putJob(b buckets, old, j *cns.Job, rec []byte) error {
	code, _, err := record.StateCode(j.State)
	if err != nil {
		return err
	}
	if j.IdempotencyKey != "" {
		k := entityKey(j.Project, j.IdempotencyKey)
		if id := b.jobKeys.Get(k); id != nil && string(id) != j.ID {
			return cns.Errorf(cns.ECONFLICT, "idempotency key %q is already used by job %q", j.IdempotencyKey, id)
		}
		if err := b.jobKeys.Put(k, []byte(j.ID)); err != nil {
			return fmt.Errorf("index idempotency key: %w", err)
		}
	}
	if old != nil {
		if err := b.jobTimes.Delete(jobTimeKey(old.Project, old.CreatedAt, old.ID)); err != nil {
			return fmt.Errorf("unindex job time: %w", err)
		}
		if unfinished(old.State) {
			if err := b.unfinished.Delete(unfinishedKey(old.CreatedAt, old.Project, old.ID)); err != nil {
				return fmt.Errorf("unindex unfinished job: %w", err)
			}
		}
		if old.IdempotencyKey != "" && old.IdempotencyKey != j.IdempotencyKey {
			if err := b.jobKeys.Delete(entityKey(old.Project, old.IdempotencyKey)); err != nil {
				return fmt.Errorf("unindex idempotency key: %w", err)
			}
		}
	}
	if err := b.jobs.Put(entityKey(j.Project, j.ID), rec); err != nil {
		return fmt.Errorf("put job record: %w", err)
	}
	if err := b.jobTimes.Put(jobTimeKey(j.Project, j.CreatedAt, j.ID), []byte{code}); err != nil {
		return fmt.Errorf("index job time: %w", err)
	}
	if unfinished(j.State) {
		if err := b.unfinished.Put(unfinishedKey(j.CreatedAt, j.Project, j.ID), []byte{}); err != nil {
			return fmt.Errorf("index unfinished job: %w", err)
		}
	}
	return nil
}

// putSNO writes s (encoded as rec) and its trust index entry, removing old's entry first.
func putSNO(b buckets, old, s *cns.SNO, rec []byte) error {
	code, _, err := record.StatusCode(s.Status)
	if err != nil {
		return err
	}
	if old != nil {
		if err := b.snoTrust.Delete(trustKey(old.Project, old.Trust, old.ID)); err != nil {
			return fmt.Errorf("unindex sno trust: %w", err)
		}
	}
	if err := b.snos.Put(entityKey(s.Project, s.ID), rec); err != nil {
		return fmt.Errorf("put sno record: %w", err)
	}
	if err := b.snoTrust.Put(trustKey(s.Project, s.Trust, s.ID), []byte{code}); err != nil {
		return fmt.Errorf("index sno trust: %w", err)
	}
	return indexEvidence(b, old, s)
}

func getJob(b buckets, project, id string) (*cns.Job, error) {
	v := b.jobs.Get(entityKey(project, id))
	if v == nil {
		return nil, cns.Errorf(cns.ENOTFOUND, "job %q not found", id)
	}
	return record.DecodeJob(v)
}

func getSNO(b buckets, project, id string) (*cns.SNO, error) {
	v := b.snos.Get(entityKey(project, id))
	if v == nil {
		return nil, cns.Errorf(cns.ENOTFOUND, "sno %q not found", id)
	}
	return record.DecodeSNO(v)
}

// ---- jobs ----

// CreateJob stores a new job with the state it carries. With an idempotency key already used in the
// project it writes nothing and returns the existing job, created=false; the check and the write are one
// transaction, so concurrent callers with the same key create exactly one job. A job id already in use
// (without a matching key) is ECONFLICT. The returned job is a copy read back from its record.
func (s *Store) CreateJob(ctx context.Context, job *cns.Job) (*cns.Job, bool, error) {
	const op = "create job"
	if err := ctx.Err(); err != nil {
		return nil, false, wrap(op, err)
	}
	if err := checkJob(job); err != nil {
		return nil, false, wrap(op, err)
	}
	// Encode before the transaction: bbolt has one writer at a time, so keep its critical section short.
	rec, err := record.EncodeJob(job)
	if err != nil {
		return nil, false, wrap(op, fmt.Errorf("encode job: %w", err))
	}
	var existing *cns.Job
	err = s.db.Batch(func(tx *bbolt.Tx) error {
		b := bucketsOf(tx)
		existing = nil
		if job.IdempotencyKey != "" {
			if id := b.jobKeys.Get(entityKey(job.Project, job.IdempotencyKey)); id != nil {
				j, err := getJob(b, job.Project, string(id))
				if err != nil {
					// %v, not %w: a dangling index entry is corruption (internal), not the caller's not-found.
					return fmt.Errorf("idempotency key %q names job %q: %v", job.IdempotencyKey, id, err)
				}
				existing = j
				return nil
			}
		}
		if b.jobs.Get(entityKey(job.Project, job.ID)) != nil {
			return cns.Errorf(cns.ECONFLICT, "job %q already exists", job.ID)
		}
		return putJob(b, nil, job, rec)
	})
	if err != nil {
		return nil, false, wrap(op, err)
	}
	if existing != nil {
		return existing, false, nil
	}
	stored, err := record.DecodeJob(rec)
	if err != nil {
		return nil, false, wrap(op, err)
	}
	return stored, true, nil
}

// GetJob returns a job of the project; a job of another project is ENOTFOUND.
func (s *Store) GetJob(ctx context.Context, project, id string) (*cns.Job, error) {
	const op = "get job"
	if err := ctx.Err(); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(project); err != nil {
		return nil, wrap(op, err)
	}
	var j *cns.Job
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		j, err = getJob(bucketsOf(tx), project, id)
		return err
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return j, nil
}

// UpdateJob overwrites an existing job's record and moves its index entries (state, creation time,
// idempotency key). A missing job is ENOTFOUND; taking another job's idempotency key is ECONFLICT.
func (s *Store) UpdateJob(ctx context.Context, job *cns.Job) error {
	const op = "update job"
	if err := ctx.Err(); err != nil {
		return wrap(op, err)
	}
	if err := checkJob(job); err != nil {
		return wrap(op, err)
	}
	rec, err := record.EncodeJob(job)
	if err != nil {
		return wrap(op, fmt.Errorf("encode job: %w", err))
	}
	return wrap(op, s.db.Batch(func(tx *bbolt.Tx) error {
		b := bucketsOf(tx)
		old, err := getJob(b, job.Project, job.ID)
		if err != nil {
			return err
		}
		return putJob(b, old, job, rec)
	}))
}

// CompleteJob stores the SNO (creating or replacing it) and the job in one transaction. The job must
// exist (ENOTFOUND), be marked succeeded and belong to the SNO's project (EINVALID); an empty job.SNOID is
// recorded as sno.ID, a different one is EINVALID.
func (s *Store) CompleteJob(ctx context.Context, job *cns.Job, sno *cns.SNO) error {
	const op = "complete job"
	if err := ctx.Err(); err != nil {
		return wrap(op, err)
	}
	if err := checkJob(job); err != nil {
		return wrap(op, err)
	}
	if err := checkSNO(sno); err != nil {
		return wrap(op, err)
	}
	if sno.Project != job.Project {
		return wrap(op, cns.Errorf(cns.EINVALID, "sno project %q is not the job's project %q", sno.Project, job.Project))
	}
	if job.State != cns.JobSucceeded {
		return wrap(op, cns.Errorf(cns.EINVALID, "job %q is %s, not succeeded", job.ID, job.State))
	}
	if job.SNOID != "" && job.SNOID != sno.ID {
		return wrap(op, cns.Errorf(cns.EINVALID, "job %q names sno %q but completes with sno %q", job.ID, job.SNOID, sno.ID))
	}
	j := *job // shallow copy: only SNOID changes, the caller's job is left alone
	j.SNOID = sno.ID
	jrec, err := record.EncodeJob(&j)
	if err != nil {
		return wrap(op, fmt.Errorf("encode job: %w", err))
	}
	srec, err := record.EncodeSNO(sno)
	if err != nil {
		return wrap(op, fmt.Errorf("encode sno: %w", err))
	}
	return wrap(op, s.db.Batch(func(tx *bbolt.Tx) error {
		b := bucketsOf(tx)
		oldJob, err := getJob(b, j.Project, j.ID)
		if err != nil {
			return err
		}
		var oldSNO *cns.SNO
		if v := b.snos.Get(entityKey(sno.Project, sno.ID)); v != nil {
			// A redelivered job completes again with the same SNO id: replace, keeping the index exact.
			if oldSNO, err = record.DecodeSNO(v); err != nil {
				return fmt.Errorf("read previous sno: %w", err)
			}
		}
		if err := putSNO(b, oldSNO, sno, srec); err != nil {
			return err
		}
		return putJob(b, oldJob, &j, jrec)
	}))
}

// ListJobs returns the project's jobs newest first (ties on creation time by id descending), filtered by
// state, starting after f.After. Limit <= 0 means no limit.
func (s *Store) ListJobs(ctx context.Context, f cns.JobFilter) ([]*cns.Job, error) {
	const op = "list jobs"
	if err := ctx.Err(); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(f.Project); err != nil {
		return nil, wrap(op, err)
	}
	var states map[byte]bool
	if len(f.States) > 0 {
		states = make(map[byte]bool, len(f.States))
		for _, st := range f.States {
			c, _, err := record.StateCode(st)
			if err != nil {
				return nil, wrap(op, err)
			}
			states[c] = true
		}
	}
	prefix := projectPrefix(f.Project)
	var out []*cns.Job
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := bucketsOf(tx)
		c := b.jobTimes.Cursor()
		// Walk backwards from just before the start position. Seek lands on the first key >= the target:
		// the cursor entry itself, or the entry after it in ascending order; either way the next entry
		// in newest-first order is the one before it.
		start := projectEnd(f.Project)
		if f.After != nil {
			start = jobTimeKey(f.Project, f.After.CreatedAt, f.After.ID)
		}
		k, v := c.Seek(start)
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for n := 0; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
			if n++; n%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if states != nil && (len(v) != 1 || !states[v[0]]) {
				continue
			}
			id := string(k[len(prefix)+timeKeyLen+1:])
			j, err := getJob(b, f.Project, id)
			if err != nil {
				return fmt.Errorf("job time index names job %q: %v", id, err)
			}
			out = append(out, j)
			if f.Limit > 0 && len(out) >= f.Limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// UnfinishedJobs returns the queued and running jobs of every project, oldest first, from the
// unfinished index (so its cost is the number of unfinished jobs, not of all jobs).
func (s *Store) UnfinishedJobs(ctx context.Context) ([]*cns.Job, error) {
	const op = "unfinished jobs"
	if err := ctx.Err(); err != nil {
		return nil, wrap(op, err)
	}
	var out []*cns.Job
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := bucketsOf(tx)
		c := b.unfinished.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(out)%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if len(k) <= timeKeyLen {
				return fmt.Errorf("malformed unfinished index key %q", k)
			}
			v := b.jobs.Get(k[timeKeyLen:])
			if v == nil {
				return fmt.Errorf("unfinished index names missing job %q", k[timeKeyLen:])
			}
			j, err := record.DecodeJob(v)
			if err != nil {
				return err
			}
			out = append(out, j)
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// ---- SNOs ----

// GetSNO returns an SNO of the project; an SNO of another project is ENOTFOUND.
func (s *Store) GetSNO(ctx context.Context, project, id string) (*cns.SNO, error) {
	const op = "get sno"
	if err := ctx.Err(); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(project); err != nil {
		return nil, wrap(op, err)
	}
	var sno *cns.SNO
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		sno, err = getSNO(bucketsOf(tx), project, id)
		return err
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return sno, nil
}

// PutSNO overwrites an existing SNO and moves its trust index entry; a missing SNO is ENOTFOUND.
func (s *Store) PutSNO(ctx context.Context, sno *cns.SNO) error {
	const op = "put sno"
	if err := ctx.Err(); err != nil {
		return wrap(op, err)
	}
	if err := checkSNO(sno); err != nil {
		return wrap(op, err)
	}
	rec, err := record.EncodeSNO(sno)
	if err != nil {
		return wrap(op, fmt.Errorf("encode sno: %w", err))
	}
	return wrap(op, s.db.Batch(func(tx *bbolt.Tx) error {
		b := bucketsOf(tx)
		old, err := getSNO(b, sno.Project, sno.ID)
		if err != nil {
			return err
		}
		return putSNO(b, old, sno, rec)
	}))
}

// ListSNOs returns the project's SNOs by trust descending then id ascending, with MinTrust <= trust and,
// when MaxTrust > 0, trust <= MaxTrust, of the given statuses, starting after f.After. Limit <= 0 means
// no limit. The status filter is applied while walking the trust index (see the package comment).
func (s *Store) ListSNOs(ctx context.Context, f cns.SNOFilter) ([]*cns.SNO, error) {
	const op = "list snos"
	if err := ctx.Err(); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(f.Project); err != nil {
		return nil, wrap(op, err)
	}
	if math.IsNaN(f.MinTrust) || math.IsNaN(f.MaxTrust) || (f.After != nil && math.IsNaN(f.After.Trust)) {
		return nil, wrap(op, cns.Errorf(cns.EINVALID, "trust bound is NaN"))
	}
	var statuses map[byte]bool
	if len(f.Statuses) > 0 {
		statuses = make(map[byte]bool, len(f.Statuses))
		for _, st := range f.Statuses {
			c, _, err := record.StatusCode(st)
			if err != nil {
				return nil, wrap(op, err)
			}
			statuses[c] = true
		}
	}
	prefix := projectPrefix(f.Project)
	// Start at the later of the MaxTrust position and the cursor. The cursor entry itself is excluded;
	// a cursor whose SNO has since moved or gone still marks a valid position in the order.
	start, skip := prefix, []byte(nil)
	if f.MaxTrust != 0 {
		start = trustPrefix(f.Project, f.MaxTrust)
	}
	if f.After != nil {
		if k := trustKey(f.Project, f.After.Trust, f.After.ID); bytes.Compare(k, start) >= 0 {
			start, skip = k, k
		}
	}
	var out []*cns.SNO
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := bucketsOf(tx)
		c := b.snoTrust.Cursor()
		n := 0
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if n++; n%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if skip != nil && bytes.Equal(k, skip) {
				continue
			}
			if len(k) < len(prefix)+trustKeyLen+1 {
				return fmt.Errorf("malformed trust index key %q", k)
			}
			trust, id := splitTrustKey(k, len(prefix))
			if trust < f.MinTrust {
				break
			}
			if statuses != nil && (len(v) != 1 || !statuses[v[0]]) {
				continue
			}
			sno, err := getSNO(b, f.Project, id)
			if err != nil {
				return fmt.Errorf("trust index names sno %q: %v", id, err)
			}
			out = append(out, sno)
			if f.Limit > 0 && len(out) >= f.Limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// ScanSNOs calls fn for every SNO of every project, in key order. It reads in batches of short read
// transactions and calls fn outside them, so fn may use the store; it is therefore not a snapshot: SNOs
// written during the scan may or may not be seen, but every SNO present throughout is seen exactly once.
// fn's error is returned as is.
func (s *Store) ScanSNOs(ctx context.Context, fn func(*cns.SNO) error) error {
	const op = "scan snos"
	var after []byte
	for {
		if err := ctx.Err(); err != nil {
			return wrap(op, err)
		}
		batch := make([]*cns.SNO, 0, scanBatch)
		err := s.db.View(func(tx *bbolt.Tx) error {
			c := bucketsOf(tx).snos.Cursor()
			var k, v []byte
			if after == nil {
				k, v = c.First()
			} else if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
			for ; k != nil && len(batch) < scanBatch; k, v = c.Next() {
				sno, err := record.DecodeSNO(v)
				if err != nil {
					return fmt.Errorf("sno %q: %w", k, err)
				}
				batch = append(batch, sno)
				after = append(after[:0], k...) // k is only valid inside the transaction
			}
			return nil
		})
		if err != nil {
			return wrap(op, err)
		}
		for _, sno := range batch {
			if err := fn(sno); err != nil {
				return err
			}
		}
		if len(batch) < scanBatch {
			return nil
		}
	}
}

// Stats counts the project's SNOs by status and jobs by state and sums the trust of ACTIVE SNOs, from
// the index entries alone (no record is decoded).
func (s *Store) Stats(ctx context.Context, project string) (cns.Stats, error) {
	const op = "stats"
	st := cns.Stats{SNOsByStatus: map[cns.Status]int{}, JobsByState: map[cns.JobState]int{}}
	if err := ctx.Err(); err != nil {
		return st, wrap(op, err)
	}
	if err := checkProject(project); err != nil {
		return st, wrap(op, err)
	}
	prefix := projectPrefix(project)
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := bucketsOf(tx)
		n := 0
		c := b.snoTrust.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if n++; n%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			status, ok := record.StatusFromCode(firstByte(v))
			if !ok || len(v) != 1 || len(k) < len(prefix)+trustKeyLen+1 {
				return fmt.Errorf("malformed trust index entry %q", k)
			}
			st.SNOsByStatus[status]++
			if status == cns.StatusActive {
				trust, _ := splitTrustKey(k, len(prefix))
				st.ActiveTrustSum += trust
			}
		}
		c = b.jobTimes.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if n++; n%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			state, ok := record.StateFromCode(firstByte(v))
			if !ok || len(v) != 1 {
				return fmt.Errorf("malformed job time index entry %q", k)
			}
			st.JobsByState[state]++
		}
		return nil
	})
	if err != nil {
		return cns.Stats{}, wrap(op, err)
	}
	return st, nil
}

func firstByte(v []byte) byte {
	if len(v) == 0 {
		return 0xff
	}
	return v[0]
}
