package redis

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/store/record"
)

var _ cns.BatchJobStore = (*Store)(nil)

// A batch runs one script per project (all of a project's keys share its hash slot) instead of one per
// job, so Redis spends its time on the writes rather than on setting up scripts. Creations and
// completions go as programs (program.go) when they are the common case; updateJobs, and the batches a
// program cannot take, run the single scripts' steps once per item, with each item's keys laid out as
// the single script has them. RunBatch checks every batch call's results against the single calls'.
//
// putJob writes a job record and moves it between state zsets (moveJobStep). SET XX is the existence
// check and the write at once (nothing is written for a missing job). Each Lua call into Redis costs
// about as much as a small command, so calls are what these steps save.
const putJobStep = moveJobStep + `
local function putJob(k, o)
  if not redis.call("SET", K[k], ARGV[o+1], "XX") then return 0 end
  moveJob(k+2, ARGV[o+2], ARGV[o+3], tonumber(ARGV[o+4]))
  return 1
end
`

// updateJobs: per item 6 KEYS (jobKeys) and 4 ARGV (record, id, score, stateIndex), as updateJob.
// Returns one 1 (written) or 0 (missing) per item.
var updateJobs = redis.NewScript(keysPrelude + putJobStep + `
local out = {}
for i = 0, #KEYS/6 - 1 do out[i+1] = putJob(i*6+1, i*4) end
return out
`)

// completeJobs: KEYS the project's shared keys (jobs, the 4 state zsets, then snoKeys without the SNO's
// own key), then per item the job's key and the SNO's key; ARGV per item 10, as completeJob. Items run
// in batch order, each as completeJob would (a 0 for a missing job, whose SNO is not written): the
// batches completeProgram leaves — an item repeated, a job missing, an SNO written before.
var completeJobs = redis.NewScript(keysPrelude + snoUpdate + putJobStep + `
local shared = 14
local out = {}
for i = 1, (#KEYS - shared) / 2 do
  local k, o = shared + 2*i - 1, (i-1)*10
  K = {KEYS[k], KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[k+1], KEYS[6], KEYS[7], KEYS[8], KEYS[9],
    KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14]}
  if putJob(1, o) == 1 then
    putSNO(7, o+4)
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
`)

// createJobStep is createJob's body for the item whose 4 keys start at K[k] and 5 ARGV at o. It returns
// 1 (created), the id of the job the idempotency key names (replay), or -1 (id taken).
const createJobStep = `
local function createJob(k, o)
  if ARGV[o+4] == "1" then
    local existing = redis.call("GET", K[k+1])
    if existing then return existing end
  end
  if not redis.call("SET", K[k], ARGV[o+1], "NX") then return -1 end
  redis.call("ZADD", K[k+2], ARGV[o+3], ARGV[o+2])
  redis.call("ZADD", K[k+3], ARGV[o+3], ARGV[o+2])
  if ARGV[o+4] == "1" then redis.call("SET", K[k+1], ARGV[o+2], "EX", ARGV[o+5]) end
  return 1
end
`

// createJobs: KEYS jobs and the 4 state zsets, then per item the job's key and its idempotency key (or
// the placeholder); ARGV per item: record, id, score, hasIdem, ttlSeconds, stateIndex. One result per
// item as createJobStep's, in batch order: the batches createProgram leaves — an idempotency key, an id
// repeated or taken.
var createJobs = redis.NewScript(keysPrelude + createJobStep + `
local shared = 5
local out = {}
for i = 1, (#KEYS - shared) / 2 do
  local k, o = shared + 2*i - 1, (i-1)*6
  K = {KEYS[k], KEYS[k+1], KEYS[1], KEYS[2 + tonumber(ARGV[o+6])]}
  out[i] = createJob(1, o)
end
return out
`)

// CreateJobs implements cns.BatchJobStore: one script per project, all in one pipeline.
func (s *Store) CreateJobs(ctx context.Context, jobs []*cns.Job) ([]*cns.Job, []bool, []error) {
	const op = "create job"
	stored, created, errs := make([]*cns.Job, len(jobs)), make([]bool, len(jobs)), make([]error, len(jobs))
	if err := s.guard(ctx); err != nil {
		fill(errs, wrap(op, err))
		return stored, created, errs
	}
	recs := make([][]byte, len(jobs))
	byProject := map[string]*batchArgs{}
	for i, job := range jobs {
		keys, argv, rec, err := s.createArgs(ctx, job)
		if err != nil {
			errs[i] = wrap(op, err)
			continue
		}
		recs[i] = rec
		a := byProject[job.Project]
		if a == nil {
			a = &batchArgs{keys: s.k.jobKeys(job.Project, "")[1:]} // jobs and the 4 state zsets
			byProject[job.Project] = a
		}
		si, _ := stateIndex(job.State) // checked by createArgs
		a.keys = append(a.keys, keys[0], keys[1])
		a.argv = append(a.argv, argv...)
		a.argv = append(a.argv, si)
		a.idx = append(a.idx, i)
	}
	replays := map[int]string{}
	create := func(i int) error {
		j, err := record.DecodeJob(recs[i])
		stored[i], created[i] = j, true
		return err
	}
	slow := s.runFast(ctx, op, values(byProject), createProgram, errs, create)
	s.runScript(ctx, op, createJobs, slow, errs, func(i int, v any) error {
		switch r := v.(type) {
		case int64:
			if r == -1 {
				return cns.Errorf(cns.ECONFLICT, "job %q already exists", jobs[i].ID)
			}
			return create(i)
		case string:
			replays[i] = r
			return nil
		}
		return fmt.Errorf("unexpected script result %v", v)
	})
	for i, id := range replays {
		// Rare (a retried request): the job the key names is read as CreateJob reads it.
		existing, err := s.GetJob(ctx, jobs[i].Project, id)
		if err != nil {
			errs[i] = wrap(op, fmt.Errorf("idempotency key names job %v: %v", id, err))
			continue
		}
		stored[i] = existing
	}
	return stored, created, errs
}

// GetJobs implements cns.BatchJobStore: one MGET per project, all in one pipeline.
func (s *Store) GetJobs(ctx context.Context, refs []cns.JobRef) ([]*cns.Job, []error) {
	const op = "get jobs"
	jobs, errs := make([]*cns.Job, len(refs)), make([]error, len(refs))
	if err := s.guard(ctx); err != nil {
		fill(errs, wrap(op, err))
		return jobs, errs
	}
	byProject := map[string][]int{}
	for i, r := range refs {
		if err := checkProject(r.Project); err != nil {
			errs[i] = wrap(op, err)
			continue
		}
		byProject[r.Project] = append(byProject[r.Project], i)
	}
	pipe := s.rdb.Pipeline()
	cmds := map[string]*redis.SliceCmd{}
	for p, idx := range byProject {
		keys := make([]string, len(idx))
		for j, i := range idx {
			keys[j] = s.k.job(p, refs[i].ID)
		}
		cmds[p] = pipe.MGet(ctx, keys...)
	}
	if len(cmds) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			for _, idx := range byProject {
				for _, i := range idx {
					errs[i] = wrap(op, err)
				}
			}
			return jobs, errs
		}
	}
	open := opener(s, record.DecodeJob)
	for p, idx := range byProject {
		vals := cmds[p].Val()
		for j, i := range idx {
			v, _ := vals[j].(string)
			if vals[j] == nil {
				errs[i] = wrap(op, cns.Errorf(cns.ENOTFOUND, "job %q not found", refs[i].ID))
				continue
			}
			jobs[i], errs[i] = open(s.k.job(p, refs[i].ID), []byte(v))
			errs[i] = wrap(op, errs[i])
		}
	}
	return jobs, errs
}

// UpdateJobs implements cns.BatchJobStore.
func (s *Store) UpdateJobs(ctx context.Context, jobs []*cns.Job) []error {
	const op = "update job"
	errs := make([]error, len(jobs))
	if err := s.guard(ctx); err != nil {
		fill(errs, wrap(op, err))
		return errs
	}
	byProject := map[string]*batchArgs{}
	for i, job := range jobs {
		if err := checkJob(job); err != nil {
			errs[i] = wrap(op, err)
			continue
		}
		si, err := stateIndex(job.State)
		if err != nil {
			errs[i] = wrap(op, err)
			continue
		}
		rec, err := record.EncodeJob(job)
		if err != nil {
			errs[i] = wrap(op, fmt.Errorf("encode job: %w", err))
			continue
		}
		sealed, err := s.ring.seal(rec, s.k.job(job.Project, job.ID))
		if err != nil {
			errs[i] = wrap(op, err)
			continue
		}
		a := byProject[job.Project]
		if a == nil {
			a = &batchArgs{}
			byProject[job.Project] = a
		}
		a.keys = append(a.keys, s.k.jobKeys(job.Project, job.ID)...)
		a.argv = append(a.argv, sealed, job.ID, micros(job.CreatedAt), si)
		a.idx = append(a.idx, i)
	}
	s.runBatches(ctx, op, updateJobs, values(byProject),
		errs, func(i int) error { return cns.Errorf(cns.ENOTFOUND, "job %q not found", jobs[i].ID) })
	return errs
}

// CompleteJobs implements cns.BatchJobStore.
func (s *Store) CompleteJobs(ctx context.Context, items []cns.JobCompletion) []error {
	const op = "complete job"
	errs := make([]error, len(items))
	if err := s.guard(ctx); err != nil {
		fill(errs, wrap(op, err))
		return errs
	}
	byProject := map[string]*batchArgs{}
	for i, it := range items {
		keys, argv, err := s.completeArgs(it.Job, it.SNO)
		if err != nil {
			errs[i] = wrap(op, err)
			continue
		}
		a := byProject[it.Job.Project]
		if a == nil {
			p := it.Job.Project
			// The shared keys: jobs and the 4 state zsets, then the SNO keys but the SNO's own.
			a = &batchArgs{keys: append(s.k.jobKeys(p, "")[1:], s.k.snoKeys(p, "")[1:]...)}
			byProject[p] = a
		}
		a.keys = append(a.keys, keys...)
		a.argv = append(a.argv, argv...)
		a.idx = append(a.idx, i)
	}
	slow := s.runFast(ctx, op, values(byProject), completeProgram, errs, func(int) error { return nil })
	s.runBatches(ctx, op, completeJobs, slow,
		errs, func(i int) error { return cns.Errorf(cns.ENOTFOUND, "job %q not found", items[i].Job.ID) })
	return errs
}

// completeArgs checks one completion as CompleteJob does and returns its own keys (the job's and the
// SNO's) and its arguments.
func (s *Store) completeArgs(job *cns.Job, sno *cns.SNO) ([]string, []any, error) {
	if err := checkJob(job); err != nil {
		return nil, nil, err
	}
	if err := checkSNO(sno); err != nil {
		return nil, nil, err
	}
	if sno.Project != job.Project {
		return nil, nil, cns.Errorf(cns.EINVALID, "sno project %q is not the job's project %q", sno.Project, job.Project)
	}
	if job.State != cns.JobSucceeded {
		return nil, nil, cns.Errorf(cns.EINVALID, "job %q is %s, not succeeded", job.ID, job.State)
	}
	if job.SNOID != "" && job.SNOID != sno.ID {
		return nil, nil, cns.Errorf(cns.EINVALID, "job %q names sno %q but completes with sno %q", job.ID, job.SNOID, sno.ID)
	}
	j := *job
	j.SNOID = sno.ID
	jrec, err := record.EncodeJob(&j)
	if err != nil {
		return nil, nil, fmt.Errorf("encode job: %w", err)
	}
	srec, err := record.EncodeSNO(sno)
	if err != nil {
		return nil, nil, fmt.Errorf("encode sno: %w", err)
	}
	st, err := statusIndex(sno.Status)
	if err != nil {
		return nil, nil, err
	}
	si, _ := stateIndex(cns.JobSucceeded)
	if jrec, err = s.ring.seal(jrec, s.k.job(j.Project, j.ID)); err != nil {
		return nil, nil, err
	}
	if srec, err = s.ring.seal(srec, s.k.sno(sno.Project, sno.ID)); err != nil {
		return nil, nil, err
	}
	keys := []string{s.k.job(j.Project, j.ID), s.k.sno(sno.Project, sno.ID)}
	return keys, []any{jrec, j.ID, micros(j.CreatedAt), si, srec, sno.ID, sno.Trust, st, evidenceArg(sno), newRev()}, nil
}

type batchArgs struct {
	keys []string
	argv []any
	idx  []int
}

func values(m map[string]*batchArgs) []batchArgs {
	out := make([]batchArgs, 0, len(m))
	for _, a := range m {
		out = append(out, *a)
	}
	return out
}

// runBatches runs script once per project batch, all in one pipeline (EVALSHA, loading the script first
// if Redis does not have it), and records per item: nil, missing(i), or the batch's error.
func (s *Store) runBatches(ctx context.Context, op string, script *redis.Script, batches []batchArgs, errs []error, missing func(i int) error) {
	s.runScript(ctx, op, script, batches, errs, func(i int, v any) error {
		if n, ok := v.(int64); !ok || n != 0 {
			if !ok {
				return fmt.Errorf("unexpected script result %v", v)
			}
			return nil
		}
		return missing(i)
	})
}

// runScript runs script once per batch, all in one pipeline (EVALSHA, loading the script first if Redis
// does not have it); the script returns one result per item, and errs[i] is result(i, that result), or
// the batch's error.
func (s *Store) runScript(ctx context.Context, op string, script *redis.Script, batches []batchArgs, errs []error, result func(i int, v any) error) {
	if len(batches) == 0 {
		return
	}
	cmds := s.evalPipelined(ctx, script, len(batches), func(b int) ([]string, []any) { return batches[b].keys, batches[b].argv })
	for b, a := range batches {
		res, cerr := cmds[b].Slice()
		if cerr == nil && len(res) != len(a.idx) {
			cerr = fmt.Errorf("script returned %d results for %d items", len(res), len(a.idx))
		}
		for j, i := range a.idx {
			if cerr != nil {
				errs[i] = wrap(op, cerr)
				continue
			}
			if rerr := result(i, res[j]); rerr != nil {
				errs[i] = wrap(op, rerr)
			}
		}
	}
}

// evalPipelined runs script n times in one pipeline, the i-th with args(i) as its KEYS and ARGV, loading
// the script first if Redis does not have it. Each command carries its own result or error.
func (s *Store) evalPipelined(ctx context.Context, script *redis.Script, n int, args func(i int) ([]string, []any)) []*redis.Cmd {
	exec := func() ([]*redis.Cmd, error) {
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.Cmd, n)
		for i := range n {
			keys, argv := args(i)
			cmds[i] = script.EvalSha(ctx, pipe, keys, argv...)
		}
		_, err := pipe.Exec(ctx)
		return cmds, err
	}
	cmds, err := exec()
	if err != nil && isNoScript(err) && script.Load(ctx, s.rdb).Err() == nil {
		cmds, _ = exec()
	}
	return cmds
}

func isNoScript(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && len(re.Error()) >= 8 && re.Error()[:8] == "NOSCRIPT"
}

func fill(errs []error, err error) {
	for i := range errs {
		errs[i] = err
	}
}
