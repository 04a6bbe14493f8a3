package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/store/record"
)

// Pair keys (p = project):
//
//	cns:{p}:evidence            ZSET "<evidence id>\0<sno id>" of ACTIVE SNOs (kept by the SNO scripts)
//	cns:{p}:snoevidence         HASH sno id → its indexed evidence ids
//	cns:{p}:pairs               ZSET "<A>\0<B>" scored −potential
//	cns:{p}:pair:<A>\0<B>       pair record
//	cns:{p}:snopairs:<id>       ZSET of the SNO's pairs, scored −potential
//	cns:{p}:claim:<A>\0<B>\0<g> id of the job holding the synthesis claim for generator g
//	cns:{p}:quota:<key>         HASH start (ms), used

var _ cns.PairStore = (*Store)(nil)

func pairMember(a, b string) string { return a + "\x00" + b }

func (k keyspace) pairs(p string) string        { return k.pfx(p) + "pairs" }
func (k keyspace) pair(p, a, b string) string   { return k.pfx(p) + "pair:" + pairMember(a, b) }
func (k keyspace) snoPairs(p, id string) string { return k.pfx(p) + "snopairs:" + id }
func (k keyspace) claim(p, a, b, g string) string {
	return k.pfx(p) + "claim:" + pairMember(a, b) + "\x00" + g
}
func (k keyspace) quota(p, key string) string { return k.pfx(p) + "quota:" + key }

// SNOIDsByEvidence implements cns.PairStore.
func (s *Store) SNOIDsByEvidence(ctx context.Context, project string, evidenceIDs []string) (map[string][]string, error) {
	const op = "sno ids by evidence"
	if err := s.guard(ctx); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(project); err != nil {
		return nil, wrap(op, err)
	}
	key := s.k.evidenceIndex(project)
	cmds := make([]*redis.StringSliceCmd, len(evidenceIDs))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ev := range evidenceIDs {
			cmds[i] = p.ZRangeByLex(ctx, key, &redis.ZRangeBy{Min: "[" + ev + "\x00", Max: "(" + ev + "\x01"})
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	out := map[string][]string{}
	for i, ev := range evidenceIDs {
		if _, dup := out[ev]; dup {
			continue
		}
		for _, m := range cmds[i].Val() {
			if _, id, ok := strings.Cut(m, "\x00"); ok && !strings.Contains(id, "\x00") {
				out[ev] = append(out[ev], id)
			}
		}
	}
	return out, nil
}

// GetSNOs implements cns.PairStore.
func (s *Store) GetSNOs(ctx context.Context, project string, ids []string) ([]*cns.SNO, error) {
	const op = "get snos"
	if err := s.guard(ctx); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(project); err != nil {
		return nil, wrap(op, err)
	}
	snos, err := s.loadSNOs(ctx, project, ids, deepCopy)
	return slices.DeleteFunc(snos, func(s *cns.SNO) bool { return s == nil }), wrap(op, err)
}

// putPairs: KEYS pairs, then per pair: pair key, snopairs A, snopairs B; ARGV per pair: record, member,
// score.
var putPairs = redis.NewScript(`
local n = (#KEYS - 1) / 3
for i = 0, n - 1 do
  local rec, member, score = ARGV[3*i+1], ARGV[3*i+2], ARGV[3*i+3]
  redis.call("SET", KEYS[3*i+2], rec)
  redis.call("ZADD", KEYS[1], score, member)
  redis.call("ZADD", KEYS[3*i+3], score, member)
  redis.call("ZADD", KEYS[3*i+4], score, member)
end
return n
`)

// PutPairs implements cns.PairStore: all pairs in one script (a project's pairs share a slot).
func (s *Store) PutPairs(ctx context.Context, pairs []*cns.Pair) error {
	const op = "put pairs"
	if err := s.guard(ctx); err != nil {
		return wrap(op, err)
	}
	byProject := map[string][]*cns.Pair{}
	for _, p := range pairs {
		switch {
		case p == nil:
			return wrap(op, cns.Errorf(cns.EINVALID, "pair is nil"))
		case checkProject(p.Project) != nil:
			return wrap(op, checkProject(p.Project))
		case p.A == "" || p.B == "" || p.A >= p.B:
			return wrap(op, cns.Errorf(cns.EINVALID, "pair (%q, %q) is not ordered A < B", p.A, p.B))
		case strings.ContainsRune(p.A+p.B, 0):
			return wrap(op, cns.Errorf(cns.EINVALID, "pair ids contain a NUL byte"))
		case math.IsNaN(p.Potential):
			return wrap(op, cns.Errorf(cns.EINVALID, "pair (%q, %q) potential is NaN", p.A, p.B))
		}
		byProject[p.Project] = append(byProject[p.Project], p)
	}
	// One script per project: Redis Cluster runs a script on one slot. Callers write one project's pairs.
	for project, ps := range byProject {
		keys := []string{s.k.pairs(project)}
		var args []any
		for _, p := range ps {
			rec, err := record.EncodePair(p)
			if err != nil {
				return wrap(op, fmt.Errorf("encode pair: %w", err))
			}
			if rec, err = s.ring.seal(rec, s.k.pair(project, p.A, p.B)); err != nil {
				return wrap(op, err)
			}
			keys = append(keys, s.k.pair(project, p.A, p.B), s.k.snoPairs(project, p.A), s.k.snoPairs(project, p.B))
			args = append(args, rec, pairMember(p.A, p.B), -p.Potential)
		}
		if err := putPairs.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
			return wrap(op, err)
		}
	}
	return nil
}

// ListPairs implements cns.PairStore: potential descending, then A, then B.
func (s *Store) ListPairs(ctx context.Context, f cns.PairFilter) ([]*cns.Pair, error) {
	const op = "list pairs"
	if err := s.guard(ctx); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(f.Project); err != nil {
		return nil, wrap(op, err)
	}
	zset := s.k.pairs(f.Project)
	if f.SNOID != "" {
		zset = s.k.snoPairs(f.Project, f.SNOID)
	}
	var after *cns.SNOCursor
	if f.After != nil {
		after = &cns.SNOCursor{Trust: f.After.Potential, ID: pairMember(f.After.A, f.After.B)}
	}
	members, err := s.pageAsc(ctx, zset, "-inf", "+inf", after, f.Limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	if f.Limit > 0 && len(members) > f.Limit {
		members = members[:f.Limit]
	}
	keys := make([]string, 0, len(members))
	for _, m := range members {
		a, b, _ := strings.Cut(m.Member.(string), "\x00")
		keys = append(keys, s.k.pair(f.Project, a, b))
	}
	pairs, err := getMany(ctx, s.rdb, keys, opener(s, record.DecodePair))
	return pairs, wrap(op, err)
}

// claimSynthesis: KEYS claim, job, idem, jobs, jobs:<state>; ARGV as createJob. {0, id} when claimed.
var claimSynthesis = redis.NewScript(`
local holder = redis.call("GET", KEYS[1])
if holder then return {0, holder} end
if ARGV[4] == "1" then
  local existing = redis.call("GET", KEYS[3])
  if existing then return {2, existing} end
end
if redis.call("EXISTS", KEYS[2]) == 1 then return {-1} end
redis.call("SET", KEYS[2], ARGV[1])
redis.call("ZADD", KEYS[4], ARGV[3], ARGV[2])
redis.call("ZADD", KEYS[5], ARGV[3], ARGV[2])
if ARGV[4] == "1" then redis.call("SET", KEYS[3], ARGV[2], "EX", ARGV[5]) end
redis.call("SET", KEYS[1], ARGV[2])
return {1}
`)

// ClaimSynthesis implements cns.PairStore.
func (s *Store) ClaimSynthesis(ctx context.Context, job *cns.Job) (*cns.Job, bool, error) {
	const op = "claim synthesis"
	if err := s.guard(ctx); err != nil {
		return nil, false, wrap(op, err)
	}
	if err := checkJob(job); err != nil {
		return nil, false, wrap(op, err)
	}
	in := job.Synthesis
	switch {
	case job.Kind != cns.JobSynthesizePair || in == nil:
		return nil, false, wrap(op, cns.Errorf(cns.EINVALID, "job %q is not a synthesis job", job.ID))
	case in.A == "" || in.B == "" || in.A >= in.B:
		return nil, false, wrap(op, cns.Errorf(cns.EINVALID, "synthesis pair (%q, %q) is not ordered A < B", in.A, in.B))
	case in.Generator == "":
		return nil, false, wrap(op, cns.Errorf(cns.EINVALID, "synthesis job %q names no generator", job.ID))
	}
	if _, err := stateIndex(job.State); err != nil {
		return nil, false, wrap(op, err)
	}
	rec, err := record.EncodeJob(job)
	if err != nil {
		return nil, false, wrap(op, fmt.Errorf("encode job: %w", err))
	}
	if err := s.addProject(ctx, job.Project); err != nil {
		return nil, false, wrap(op, err)
	}
	hasIdem, ik := "0", s.k.idem(job.Project, "")
	if job.IdempotencyKey != "" {
		hasIdem, ik = "1", s.k.idem(job.Project, job.IdempotencyKey)
	}
	keys := []string{s.k.claim(job.Project, in.A, in.B, in.Generator), s.k.job(job.Project, job.ID), ik,
		s.k.jobs(job.Project), s.k.jobState(job.Project, job.State)}
	sealed, err := s.ring.seal(rec, keys[1])
	if err != nil {
		return nil, false, wrap(op, err)
	}
	res, err := claimSynthesis.Run(ctx, s.rdb, keys, sealed, job.ID, micros(job.CreatedAt), hasIdem, int(IdempotencyTTL.Seconds())).Slice()
	if err != nil {
		return nil, false, wrap(op, err)
	}
	switch res[0].(int64) {
	case 0, 2:
		existing, err := s.GetJob(ctx, job.Project, res[1].(string))
		if res[0].(int64) == 0 && cns.ErrorCode(err) == cns.ENOTFOUND {
			// The claim outlives its job (job history retention): answer with what the claim knows.
			return &cns.Job{ID: res[1].(string), Project: job.Project, Kind: cns.JobSynthesizePair,
				Synthesis: &cns.SynthesisInput{A: in.A, B: in.B, Generator: in.Generator}}, false, nil
		}
		if err != nil {
			return nil, false, wrap(op, fmt.Errorf("synthesis claim names job %v: %v", res[1], err))
		}
		return existing, false, nil
	case -1:
		return nil, false, wrap(op, cns.Errorf(cns.ECONFLICT, "job %q already exists", job.ID))
	}
	stored, err := record.DecodeJob(rec)
	return stored, true, wrap(op, err)
}

// SynthesisClaim implements cns.PairStore.
func (s *Store) SynthesisClaim(ctx context.Context, project, a, b, generator string) (string, error) {
	const op = "synthesis claim"
	if err := s.guard(ctx); err != nil {
		return "", wrap(op, err)
	}
	if err := checkProject(project); err != nil {
		return "", wrap(op, err)
	}
	a, b = cns.OrderPair(a, b)
	id, err := s.rdb.Get(ctx, s.k.claim(project, a, b, generator)).Result()
	if errors.Is(err, redis.Nil) {
		return "", wrap(op, cns.Errorf(cns.ENOTFOUND, "pair (%q, %q) has no claim for %q", a, b, generator))
	}
	return id, wrap(op, err)
}

// consumeQuota: KEYS quota hash; ARGV amount, limit, window ms, now ms. Returns {used, granted}.
var consumeQuota = redis.NewScript(`
local amount, limit, window, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local start = tonumber(redis.call("HGET", KEYS[1], "start") or "-1")
local used = tonumber(redis.call("HGET", KEYS[1], "used") or "0")
if start >= 0 and now >= start + window then start, used = -1, 0 end
if amount == 0 then
  if used < limit then return {used, 1} end
  return {used, 0}
end
if used + amount > limit then return {used, 0} end
if start < 0 then start = now end
used = used + amount
redis.call("HSET", KEYS[1], "start", start, "used", used)
-- Expire on Redis's clock after one window: callers' clocks may differ from it (the window logic above
-- uses theirs), and a budget idle for a whole window is at 0 anyway.
redis.call("PEXPIRE", KEYS[1], window)
return {used, 1}
`)

// ConsumeQuota implements cns.PairStore.
func (s *Store) ConsumeQuota(ctx context.Context, q cns.Quota) (int64, bool, error) {
	const op = "consume quota"
	if err := s.guard(ctx); err != nil {
		return 0, false, wrap(op, err)
	}
	if err := checkProject(q.Project); err != nil {
		return 0, false, wrap(op, err)
	}
	if q.Limit <= 0 || q.Window <= 0 || q.Amount < 0 || q.Key == "" {
		return 0, false, wrap(op, cns.Errorf(cns.EINVALID, "quota %q needs a key, a positive limit and window and an amount ≥ 0", q.Key))
	}
	res, err := consumeQuota.Run(ctx, s.rdb, []string{s.k.quota(q.Project, q.Key)}, q.Amount, q.Limit, q.Window.Milliseconds(), q.Now.UnixMilli()).Slice()
	if err != nil {
		return 0, false, wrap(op, err)
	}
	return res[0].(int64), res[1].(int64) == 1, nil
}
