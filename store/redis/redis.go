// Package redis is the Redis implementation of the cns.Store port, the system of record of the
// distributed mode. Every key of a project carries the project in a hash tag (cns:{project}:…), so all of
// a project's keys live in one Redis Cluster slot and every write of one operation is a single Lua script:
// atomic on a standalone server and on a cluster alike, so a crash never leaves half an SNO.
//
// Layout (p = project):
//
//	cns:{p}:job:<id>         job record (store/record JSON)
//	cns:{p}:jobkey:<key>     idempotency key → job id, expires after 24 h (the replay window)
//	cns:{p}:jobs             ZSET of job ids by creation time (µs), all states
//	cns:{p}:jobs:<state>     ZSET of job ids by creation time, one per state
//	cns:{p}:sno:<id>         SNO record
//	cns:{p}:snos             ZSET of SNO ids scored −trust (ascending = trust descending, ties by id)
//	cns:{p}:snorev           HASH SNO id → revision, new with every write of its record (snocache.go)
//	cns:{p}:snos:<status>    the same, one per status
//	cns:{p}:stats            HASH: active_trust_sum
//	cns:{p}:deadletters      STREAM of dead letters
//	cns:projects             SET of project names (for cross-project scans; not part of any transaction)
package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/store/record"
)

// IdempotencyTTL is how long an idempotency key replays its first job.
const IdempotencyTTL = 24 * time.Hour

// Store is a cns.Store over Redis. Safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	k      keyspace
	ring   *Keyring // nil: records are stored in plaintext
	closed atomic.Bool
	snos   *snoCache

	// projectsMu guards projectsAdded: when this process last added each project to the projects set.
	projectsMu    sync.Mutex
	projectsAdded map[string]time.Time
}

// Option configures a Store.
type Option func(*Store)

// WithKeyring encrypts job, SNO and pair records at rest.
func WithKeyring(k *Keyring) Option { return func(s *Store) { s.ring = k } }

// New returns a store over rdb whose keys start with namespace (usually ""). The caller owns rdb and
// closes it after Close.
func New(rdb redis.UniversalClient, namespace string, opts ...Option) *Store {
	s := &Store{rdb: rdb, k: keyspace(namespace), snos: newSNOCache()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// opener returns a decode function that first opens a (possibly) sealed record stored under key.
func opener[T any](s *Store, decode func([]byte) (T, error)) func(key string, b []byte) (T, error) {
	return func(key string, b []byte) (T, error) {
		var zero T
		plain, err := s.ring.open(b, key)
		if err != nil {
			// Not the connection's fault (wrap would call it unavailable): a key is missing or data is bad.
			return zero, cns.Errorf(cns.EINTERNAL, "%s: %v", key, err)
		}
		v, err := decode(plain)
		if err != nil {
			return zero, cns.Errorf(cns.EINTERNAL, "%s: %v", key, err)
		}
		return v, nil
	}
}

// Close implements cns.Store: later calls fail. The client is the caller's to close.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

func (s *Store) guard(ctx context.Context) error {
	if s.closed.Load() {
		return cns.Errorf(cns.EFAILEDPRECOND, "store is closed")
	}
	return ctx.Err()
}

var (
	jobStates = []cns.JobState{cns.JobQueued, cns.JobRunning, cns.JobSucceeded, cns.JobFailed}
	statuses  = []cns.Status{cns.StatusActive, cns.StatusReview, cns.StatusArchived, cns.StatusRejected}
)

// keyspace prefixes every key (a namespace lets several deployments or tests share one Redis).
type keyspace string

func (k keyspace) projects() string                         { return string(k) + "cns:projects" }
func (k keyspace) pfx(p string) string                      { return string(k) + "cns:{" + p + "}:" }
func (k keyspace) job(p, id string) string                  { return k.pfx(p) + "job:" + id }
func (k keyspace) idem(p, key string) string                { return k.pfx(p) + "jobkey:" + key }
func (k keyspace) jobs(p string) string                     { return k.pfx(p) + "jobs" }
func (k keyspace) jobState(p string, s cns.JobState) string { return k.pfx(p) + "jobs:" + s.String() }
func (k keyspace) sno(p, id string) string                  { return k.pfx(p) + "sno:" + id }
func (k keyspace) snos(p string) string                     { return k.pfx(p) + "snos" }
func (k keyspace) snoRevs(p string) string                  { return k.pfx(p) + "snorev" }
func (k keyspace) status(p string, s cns.Status) string     { return k.pfx(p) + "snos:" + s.String() }
func (k keyspace) stats(p string) string                    { return k.pfx(p) + "stats" }
func (k keyspace) evidenceIndex(p string) string            { return k.pfx(p) + "evidence" }
func (k keyspace) indexedEvidence(p string) string          { return k.pfx(p) + "snoevidence" }
func (k keyspace) deadLetters(p string) string              { return k.pfx(p) + "deadletters" }

// micros is the sort score of a time: exact in a float64 for any date this service will see.
func micros(t time.Time) float64 { return float64(t.UnixMicro()) }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *cns.Error
	switch {
	case errors.As(err, &ce), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	// Anything else from the client is the connection or the server: the caller may retry later.
	return fmt.Errorf("redis: %s: %w (%v)", op, &cns.Error{Code: cns.EUNAVAILABLE, Message: "store unavailable", RetryAfterSeconds: 1}, err)
}

func checkProject(p string) error {
	if p == "" {
		return cns.Errorf(cns.EINVALID, "project is empty")
	}
	if strings.ContainsAny(p, "{}") {
		return cns.Errorf(cns.EINVALID, "project %q contains a brace", p)
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
	if math.IsNaN(s.Trust) {
		return cns.Errorf(cns.EINVALID, "sno %q trust is NaN", s.ID)
	}
	return nil
}

func stateIndex(st cns.JobState) (int, error) {
	for i, s := range jobStates {
		if s == st {
			return i, nil
		}
	}
	return 0, cns.Errorf(cns.EINVALID, "job state %v is not storable", st)
}

func statusIndex(st cns.Status) (int, error) {
	for i, s := range statuses {
		if s == st {
			return i, nil
		}
	}
	return 0, cns.Errorf(cns.EINVALID, "sno status %v is not storable", st)
}

// Scripts. KEYS and ARGV layouts are documented at each; every key belongs to one project.

// createJob: KEYS job, idem (or "" placeholder key of the project), jobs, jobs:<state>;
// ARGV record, id, score, hasIdem, ttlSeconds. Returns {1} created, {0, id} replay, {-1} id taken.
var createJob = redis.NewScript(keysPrelude + createJobStep + `
local r = createJob(1, 0)
if r == 1 or r == -1 then return {r} end
return {0, r}
`)

// keysPrelude starts every script that uses the steps below: the steps address their keys as K[...],
// which is KEYS unless a batch script points K at one item's keys (a table laid out as the single
// script's KEYS) before calling a step.
const keysPrelude = "local K = KEYS\n"

// moveJobStep moves job id to the state zset K[k+st] among K[k..k+3] (queued, running, succeeded,
// failed) with score (its creation time). A job is in exactly one state zset, and almost always in the
// state a job normally leaves for st (queued → running → succeeded or failed, running → queued on a
// retry): that one ZREM usually finds it, and only when it does not are the other zsets swept. Two
// commands per transition instead of five — the bookkeeping of every job makes two transitions, and
// Redis time per job is what bounds the command throughput (docs/benchmarks.md). The jobs zset (all
// jobs by creation time) is written once, at creation: its score never changes.
const moveJobStep = `
local usualPrev = {[0] = 1, [1] = 0, [2] = 1, [3] = 1}
local function moveJob(k, id, score, st)
  local prev = usualPrev[st]
  if redis.call("ZREM", K[k+prev], id) == 0 then
    for i = 0, 3 do
      if i ~= st and i ~= prev then redis.call("ZREM", K[k+i], id) end
    end
  end
  redis.call("ZADD", K[k+st], score, id)
end
`

// updateJob: KEYS job, jobs, 4 state zsets; ARGV record, id, score, stateIndex. 0 when missing.
var updateJob = redis.NewScript(keysPrelude + putJobStep + `
return putJob(1, 0)
`)

// snoUpdate writes SNO record ARGV[o+1] with id ARGV[o+2], trust ARGV[o+3], status index ARGV[o+4]
// (0 = active), evidence ids ARGV[o+5] (newline-separated) and revision ARGV[o+6] using K[k] sno,
// K[k+1] snos, K[k+2..k+5] status zsets, K[k+6] stats, K[k+7] evidence index, K[k+8] indexed evidence,
// K[k+9] revisions.
const snoUpdate = `
local function putSNO(k, o)
  local id = ARGV[o+2]
  -- An SNO is in the snos zset from its first write on (SNOs are never deleted), so a new SNO — what
  -- every completed job writes — skips the removals from the status zsets and the evidence index.
  local existed = redis.call("ZSCORE", K[k+1], id)
  if existed then
    local old = redis.call("ZSCORE", K[k+2], id)
    if old then redis.call("HINCRBYFLOAT", K[k+6], "active_trust_sum", tonumber(old)) end
  end
  redis.call("SET", K[k], ARGV[o+1])
  redis.call("HSET", K[k+9], id, ARGV[o+6])
  local score = -tonumber(ARGV[o+3])
  redis.call("ZADD", K[k+1], score, id)
  if existed then
    for i = k+2, k+5 do redis.call("ZREM", K[i], id) end
  end
  local st = tonumber(ARGV[o+4])
  redis.call("ZADD", K[k+2+st], score, id)
  if st == 0 then redis.call("HINCRBYFLOAT", K[k+6], "active_trust_sum", ARGV[o+3]) end
  -- The evidence inverted index: "<evidence id>\0<sno id>" members of one ZSET (K[k+7]) for ACTIVE
  -- SNOs; K[k+8] remembers each SNO's indexed evidence so an update can remove exactly that.
  local prev = existed and redis.call("HGET", K[k+8], id)
  if prev then
    for ev in string.gmatch(prev, "[^\n]+") do redis.call("ZREM", K[k+7], ev .. "\0" .. id) end
  end
  if st == 0 and ARGV[o+5] ~= "" then
    for ev in string.gmatch(ARGV[o+5], "[^\n]+") do redis.call("ZADD", K[k+7], 0, ev .. "\0" .. id) end
    redis.call("HSET", K[k+8], id, ARGV[o+5])
  elseif prev then
    redis.call("HDEL", K[k+8], id)
  end
end
`

// completeJob: KEYS job, jobs, 4 state zsets, then the SNO keys of snoKeys;
// ARGV job record, job id, score, stateIndex, sno record, sno id, trust, statusIndex, evidence ids,
// sno revision.
var completeJob = redis.NewScript(keysPrelude + snoUpdate + putJobStep + `
if putJob(1, 0) == 0 then return 0 end
putSNO(7, 4)
return 1
`)

// putSNO: KEYS of snoKeys; ARGV record, id, trust, statusIndex, evidence ids, revision. 0 when missing.
var putSNOScript = redis.NewScript(keysPrelude + snoUpdate + `
if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
putSNO(1, 0)
return 1
`)

// projectsRefresh is how often a process re-adds a project it writes to the projects set. Every job
// creation used to add it: a round trip per job for a set that changes once per project. Re-adding it
// now and then (rather than once) restores the entry within this time should Redis lose it.
const projectsRefresh = 10 * time.Second

func (s *Store) addProject(ctx context.Context, p string) error {
	now := time.Now()
	s.projectsMu.Lock()
	last, ok := s.projectsAdded[p]
	s.projectsMu.Unlock()
	if ok && now.Sub(last) < projectsRefresh {
		return nil
	}
	if err := s.rdb.SAdd(ctx, s.k.projects(), p).Err(); err != nil {
		return err
	}
	s.projectsMu.Lock()
	if s.projectsAdded == nil {
		s.projectsAdded = map[string]time.Time{}
	}
	s.projectsAdded[p] = now
	s.projectsMu.Unlock()
	return nil
}

func (k keyspace) jobKeys(p, id string) []string {
	keys := []string{k.job(p, id), k.jobs(p)}
	for _, st := range jobStates {
		keys = append(keys, k.jobState(p, st))
	}
	return keys
}

func (k keyspace) snoKeys(p, id string) []string {
	keys := []string{k.sno(p, id), k.snos(p)}
	for _, st := range statuses {
		keys = append(keys, k.status(p, st))
	}
	return append(keys, k.stats(p), k.evidenceIndex(p), k.indexedEvidence(p), k.snoRevs(p))
}

// evidenceArg joins an SNO's evidence ids for the scripts (ids never contain a newline: they are
// validated as printable text).
func evidenceArg(sno *cns.SNO) string {
	ids := make([]string, 0, len(sno.Evidence))
	for _, e := range sno.Evidence {
		if e.ID != "" && !strings.ContainsAny(e.ID, "\n\x00") {
			ids = append(ids, e.ID)
		}
	}
	return strings.Join(ids, "\n")
}

// CreateJob implements cns.Store.
func (s *Store) CreateJob(ctx context.Context, job *cns.Job) (*cns.Job, bool, error) {
	const op = "create job"
	if err := s.guard(ctx); err != nil {
		return nil, false, wrap(op, err)
	}
	keys, argv, rec, err := s.createArgs(ctx, job)
	if err != nil {
		return nil, false, wrap(op, err)
	}
	res, err := createJob.Run(ctx, s.rdb, keys, argv...).Slice()
	if err != nil {
		return nil, false, wrap(op, err)
	}
	switch res[0].(int64) {
	case 0:
		existing, err := s.GetJob(ctx, job.Project, res[1].(string))
		if err != nil {
			return nil, false, wrap(op, fmt.Errorf("idempotency key names job %v: %v", res[1], err))
		}
		return existing, false, nil
	case -1:
		return nil, false, wrap(op, cns.Errorf(cns.ECONFLICT, "job %q already exists", job.ID))
	}
	stored, err := record.DecodeJob(rec)
	if err != nil {
		return nil, false, wrap(op, err)
	}
	return stored, true, nil
}

// createArgs checks a new job as CreateJob does, registers its project, and returns the script's keys
// and arguments (createJob, createJobStep) and the job's plaintext record.
func (s *Store) createArgs(ctx context.Context, job *cns.Job) ([]string, []any, []byte, error) {
	if err := checkJob(job); err != nil {
		return nil, nil, nil, err
	}
	rec, err := record.EncodeJob(job)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("encode job: %w", err)
	}
	if _, err := stateIndex(job.State); err != nil {
		return nil, nil, nil, err
	}
	if err := s.addProject(ctx, job.Project); err != nil {
		return nil, nil, nil, err
	}
	hasIdem, ik := "0", s.k.idem(job.Project, "")
	if job.IdempotencyKey != "" {
		hasIdem, ik = "1", s.k.idem(job.Project, job.IdempotencyKey)
	}
	keys := []string{s.k.job(job.Project, job.ID), ik, s.k.jobs(job.Project), s.k.jobState(job.Project, job.State)}
	sealed, err := s.ring.seal(rec, keys[0])
	if err != nil {
		return nil, nil, nil, err
	}
	return keys, []any{sealed, job.ID, micros(job.CreatedAt), hasIdem, int(IdempotencyTTL.Seconds())}, rec, nil
}

// GetJob implements cns.Store.
func (s *Store) GetJob(ctx context.Context, project, id string) (*cns.Job, error) {
	const op = "get job"
	if err := s.guard(ctx); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(project); err != nil {
		return nil, wrap(op, err)
	}
	key := s.k.job(project, id)
	b, err := s.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, wrap(op, cns.Errorf(cns.ENOTFOUND, "job %q not found", id))
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	j, err := opener(s, record.DecodeJob)(key, b)
	return j, wrap(op, err)
}

// UpdateJob implements cns.Store. The idempotency key of a job is fixed when it is created.
func (s *Store) UpdateJob(ctx context.Context, job *cns.Job) error {
	const op = "update job"
	if err := s.guard(ctx); err != nil {
		return wrap(op, err)
	}
	if err := checkJob(job); err != nil {
		return wrap(op, err)
	}
	si, err := stateIndex(job.State)
	if err != nil {
		return wrap(op, err)
	}
	rec, err := record.EncodeJob(job)
	if err != nil {
		return wrap(op, fmt.Errorf("encode job: %w", err))
	}
	sealed, err := s.ring.seal(rec, s.k.job(job.Project, job.ID))
	if err != nil {
		return wrap(op, err)
	}
	n, err := updateJob.Run(ctx, s.rdb, s.k.jobKeys(job.Project, job.ID), sealed, job.ID, micros(job.CreatedAt), si).Int()
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return wrap(op, cns.Errorf(cns.ENOTFOUND, "job %q not found", job.ID))
	}
	return nil
}

// CompleteJob implements cns.Store.
func (s *Store) CompleteJob(ctx context.Context, job *cns.Job, sno *cns.SNO) error {
	const op = "complete job"
	if err := s.guard(ctx); err != nil {
		return wrap(op, err)
	}
	own, argv, err := s.completeArgs(job, sno)
	if err != nil {
		return wrap(op, err)
	}
	// completeJob's keys: the job's, jobs and the state zsets, then the SNO's and its shared keys.
	keys := append(append([]string{own[0]}, s.k.jobKeys(job.Project, "")[1:]...), own[1])
	keys = append(keys, s.k.snoKeys(sno.Project, "")[1:]...)
	n, err := completeJob.Run(ctx, s.rdb, keys, argv...).Int()
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return wrap(op, cns.Errorf(cns.ENOTFOUND, "job %q not found", job.ID))
	}
	return nil
}

// PutSNO implements cns.Store.
func (s *Store) PutSNO(ctx context.Context, sno *cns.SNO) error {
	const op = "put sno"
	if err := s.guard(ctx); err != nil {
		return wrap(op, err)
	}
	if err := checkSNO(sno); err != nil {
		return wrap(op, err)
	}
	st, err := statusIndex(sno.Status)
	if err != nil {
		return wrap(op, err)
	}
	rec, err := record.EncodeSNO(sno)
	if err != nil {
		return wrap(op, fmt.Errorf("encode sno: %w", err))
	}
	if rec, err = s.ring.seal(rec, s.k.sno(sno.Project, sno.ID)); err != nil {
		return wrap(op, err)
	}
	n, err := putSNOScript.Run(ctx, s.rdb, s.k.snoKeys(sno.Project, sno.ID), rec, sno.ID, sno.Trust, st, evidenceArg(sno), newRev()).Int()
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return wrap(op, cns.Errorf(cns.ENOTFOUND, "sno %q not found", sno.ID))
	}
	return nil
}

// GetSNO implements cns.Store.
func (s *Store) GetSNO(ctx context.Context, project, id string) (*cns.SNO, error) {
	return s.getSNO(ctx, project, id, deepCopy)
}

var _ cns.SNOViewer = (*Store)(nil)

// ViewSNO implements cns.SNOViewer: GetSNO without the copy, for callers that only read the SNO.
func (s *Store) ViewSNO(ctx context.Context, project, id string) (*cns.SNO, error) {
	return s.getSNO(ctx, project, id, shared)
}

func (s *Store) getSNO(ctx context.Context, project, id string, how snoCopy) (*cns.SNO, error) {
	const op = "get sno"
	if err := s.guard(ctx); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(project); err != nil {
		return nil, wrap(op, err)
	}
	snos, err := s.loadSNOs(ctx, project, []string{id}, how)
	if err != nil {
		return nil, wrap(op, err)
	}
	if snos[0] == nil {
		return nil, wrap(op, cns.Errorf(cns.ENOTFOUND, "sno %q not found", id))
	}
	return snos[0], nil
}

// getMany loads records by key in one round trip, skipping keys that vanished since they were listed.
func getMany[T any](ctx context.Context, rdb redis.UniversalClient, keys []string, decode func(key string, b []byte) (T, error)) ([]T, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([]T, 0, len(keys))
	for i, c := range cmds {
		b, err := c.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, err
		}
		v, err := decode(keys[i], b)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// ListJobs implements cns.Store: newest first (creation time, then id, both descending).
func (s *Store) ListJobs(ctx context.Context, f cns.JobFilter) ([]*cns.Job, error) {
	const op = "list jobs"
	if err := s.guard(ctx); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(f.Project); err != nil {
		return nil, wrap(op, err)
	}
	zsets := []string{s.k.jobs(f.Project)}
	if len(f.States) > 0 {
		zsets = zsets[:0]
		for _, st := range f.States {
			if _, err := stateIndex(st); err != nil {
				return nil, wrap(op, err)
			}
			zsets = append(zsets, s.k.jobState(f.Project, st))
		}
	}
	var members []redis.Z
	for _, z := range zsets {
		ms, err := s.pageDesc(ctx, z, f.After, f.Limit)
		if err != nil {
			return nil, wrap(op, err)
		}
		members = append(members, ms...)
	}
	// Several state sets: merge them into one newest-first order.
	sort.SliceStable(members, func(i, k int) bool {
		if members[i].Score != members[k].Score {
			return members[i].Score > members[k].Score
		}
		return members[i].Member.(string) > members[k].Member.(string)
	})
	if f.Limit > 0 && len(members) > f.Limit {
		members = members[:f.Limit]
	}
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = s.k.job(f.Project, m.Member.(string))
	}
	jobs, err := getMany(ctx, s.rdb, keys, opener(s, record.DecodeJob))
	return jobs, wrap(op, err)
}

// pageDesc returns up to limit members of a time-scored zset after the cursor, newest first.
func (s *Store) pageDesc(ctx context.Context, key string, after *cns.JobCursor, limit int) ([]redis.Z, error) {
	max := "+inf"
	var out []redis.Z
	if after != nil {
		sc := micros(after.CreatedAt)
		same, err := s.rdb.ZRevRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: fmtScore(sc), Max: fmtScore(sc)}).Result()
		if err != nil {
			return nil, err
		}
		for _, m := range same {
			if m.Member.(string) < after.ID {
				out = append(out, m)
			}
		}
		max = "(" + fmtScore(sc)
	}
	count := int64(0)
	if limit > 0 {
		count = int64(limit)
	}
	rest, err := s.rdb.ZRevRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: "-inf", Max: max, Count: count}).Result()
	if err != nil {
		return nil, err
	}
	return append(out, rest...), nil
}

func fmtScore(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// UnfinishedJobs implements cns.Store: queued and running jobs of every project, oldest first.
func (s *Store) UnfinishedJobs(ctx context.Context) ([]*cns.Job, error) {
	const op = "unfinished jobs"
	if err := s.guard(ctx); err != nil {
		return nil, wrap(op, err)
	}
	projects, err := s.rdb.SMembers(ctx, s.k.projects()).Result()
	if err != nil {
		return nil, wrap(op, err)
	}
	var out []*cns.Job
	for _, p := range projects {
		var keys []string
		for _, st := range []cns.JobState{cns.JobQueued, cns.JobRunning} {
			ids, err := s.rdb.ZRange(ctx, s.k.jobState(p, st), 0, -1).Result()
			if err != nil {
				return nil, wrap(op, err)
			}
			for _, id := range ids {
				keys = append(keys, s.k.job(p, id))
			}
		}
		jobs, err := getMany(ctx, s.rdb, keys, opener(s, record.DecodeJob))
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, jobs...)
	}
	// Oldest first, then project and id: the same order as the embedded store, whatever order the
	// projects set returns its members in.
	sort.SliceStable(out, func(i, k int) bool {
		if !out[i].CreatedAt.Equal(out[k].CreatedAt) {
			return out[i].CreatedAt.Before(out[k].CreatedAt)
		}
		if out[i].Project != out[k].Project {
			return out[i].Project < out[k].Project
		}
		return out[i].ID < out[k].ID
	})
	return out, nil
}

// ListSNOs implements cns.Store: trust descending, then id ascending.
func (s *Store) ListSNOs(ctx context.Context, f cns.SNOFilter) ([]*cns.SNO, error) {
	how := deepCopy
	if f.Summary {
		how = summary
	}
	return s.listSNOs(ctx, f, how)
}

// ViewSNOs implements cns.SNOViewer: ListSNOs handing out the store's own SNOs, whole.
func (s *Store) ViewSNOs(ctx context.Context, f cns.SNOFilter) ([]*cns.SNO, error) {
	return s.listSNOs(ctx, f, shared)
}

func (s *Store) listSNOs(ctx context.Context, f cns.SNOFilter, how snoCopy) ([]*cns.SNO, error) {
	const op = "list snos"
	if err := s.guard(ctx); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(f.Project); err != nil {
		return nil, wrap(op, err)
	}
	zsets := []string{s.k.snos(f.Project)}
	if len(f.Statuses) > 0 {
		zsets = zsets[:0]
		for _, st := range f.Statuses {
			if _, err := statusIndex(st); err != nil {
				return nil, wrap(op, err)
			}
			zsets = append(zsets, s.k.status(f.Project, st))
		}
	}
	// Scores are −trust: the range [MinTrust, MaxTrust] is [−MaxTrust, −MinTrust].
	lo, hi := "-inf", fmtScore(-f.MinTrust)
	if f.MaxTrust > 0 {
		lo = fmtScore(-f.MaxTrust)
	}
	var members []redis.Z
	for _, z := range zsets {
		ms, err := s.pageAsc(ctx, z, lo, hi, f.After, f.Limit)
		if err != nil {
			return nil, wrap(op, err)
		}
		members = append(members, ms...)
	}
	sort.SliceStable(members, func(i, k int) bool {
		if members[i].Score != members[k].Score {
			return members[i].Score < members[k].Score
		}
		return members[i].Member.(string) < members[k].Member.(string)
	})
	if f.Limit > 0 && len(members) > f.Limit {
		members = members[:f.Limit]
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.Member.(string)
	}
	snos, err := s.loadSNOs(ctx, f.Project, ids, how)
	return slices.DeleteFunc(snos, func(s *cns.SNO) bool { return s == nil }), wrap(op, err)
}

// pageAsc returns up to limit members with score in [lo, hi] after the cursor, ascending.
func (s *Store) pageAsc(ctx context.Context, key, lo, hi string, after *cns.SNOCursor, limit int) ([]redis.Z, error) {
	var out []redis.Z
	if after != nil {
		sc := -after.Trust
		// The cursor's own score, if inside the range: members after the cursor id.
		if inRange(sc, lo, hi) {
			same, err := s.rdb.ZRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: fmtScore(sc), Max: fmtScore(sc)}).Result()
			if err != nil {
				return nil, err
			}
			for _, m := range same {
				if m.Member.(string) > after.ID {
					out = append(out, m)
				}
			}
		}
		if l, _ := strconv.ParseFloat(strings.TrimPrefix(lo, "("), 64); lo == "-inf" || sc >= l {
			lo = "(" + fmtScore(sc)
		}
	}
	count := int64(0)
	if limit > 0 {
		count = int64(limit)
	}
	rest, err := s.rdb.ZRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: lo, Max: hi, Count: count}).Result()
	if err != nil {
		return nil, err
	}
	return append(out, rest...), nil
}

func inRange(sc float64, lo, hi string) bool {
	if lo != "-inf" {
		l, _ := strconv.ParseFloat(lo, 64)
		if sc < l {
			return false
		}
	}
	h, _ := strconv.ParseFloat(hi, 64)
	return sc <= h
}

// ScanSNOs implements cns.Store, project by project, in batches.
func (s *Store) ScanSNOs(ctx context.Context, fn func(*cns.SNO) error) error {
	const op = "scan snos"
	if err := s.guard(ctx); err != nil {
		return wrap(op, err)
	}
	projects, err := s.rdb.SMembers(ctx, s.k.projects()).Result()
	if err != nil {
		return wrap(op, err)
	}
	sort.Strings(projects)
	const batch = 500
	for _, p := range projects {
		for start := int64(0); ; start += batch {
			ids, err := s.rdb.ZRange(ctx, s.k.snos(p), start, start+batch-1).Result()
			if err != nil {
				return wrap(op, err)
			}
			keys := make([]string, len(ids))
			for i, id := range ids {
				keys[i] = s.k.sno(p, id)
			}
			snos, err := getMany(ctx, s.rdb, keys, opener(s, record.DecodeSNO))
			if err != nil {
				return wrap(op, err)
			}
			for _, sno := range snos {
				if err := fn(sno); err != nil {
					return err
				}
			}
			if len(ids) < batch {
				break
			}
		}
	}
	return nil
}

// Stats implements cns.Store.
func (s *Store) Stats(ctx context.Context, project string) (cns.Stats, error) {
	const op = "stats"
	if err := s.guard(ctx); err != nil {
		return cns.Stats{}, wrap(op, err)
	}
	st := cns.Stats{SNOsByStatus: map[cns.Status]int{}, JobsByState: map[cns.JobState]int{}}
	if err := checkProject(project); err != nil {
		return st, wrap(op, err)
	}
	pipe := s.rdb.Pipeline()
	sc := make([]*redis.IntCmd, len(statuses))
	for i, x := range statuses {
		sc[i] = pipe.ZCard(ctx, s.k.status(project, x))
	}
	jc := make([]*redis.IntCmd, len(jobStates))
	for i, x := range jobStates {
		jc[i] = pipe.ZCard(ctx, s.k.jobState(project, x))
	}
	sum := pipe.HGet(ctx, s.k.stats(project), "active_trust_sum")
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return st, wrap(op, err)
	}
	for i, x := range statuses {
		if n := sc[i].Val(); n > 0 {
			st.SNOsByStatus[x] = int(n)
		}
	}
	for i, x := range jobStates {
		if n := jc[i].Val(); n > 0 {
			st.JobsByState[x] = int(n)
		}
	}
	if v, err := sum.Float64(); err == nil && st.SNOsByStatus[cns.StatusActive] > 0 {
		st.ActiveTrustSum = v
	}
	return st, nil
}
