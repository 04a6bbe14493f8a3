package redis

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// purgeJobs: KEYS jobs, jobs:succeeded, jobs:failed; ARGV cutoff score, limit, job key prefix.
// Deletes terminal jobs created before the cutoff; returns how many.
var purgeJobs = redis.NewScript(`
local n = 0
for s = 2, 3 do
  local ids = redis.call("ZRANGEBYSCORE", KEYS[s], "-inf", "(" .. ARGV[1], "LIMIT", 0, tonumber(ARGV[2]) - n)
  for _, id in ipairs(ids) do
    redis.call("DEL", ARGV[3] .. id)
    redis.call("ZREM", KEYS[1], id)
    redis.call("ZREM", KEYS[s], id)
    n = n + 1
  end
  if n >= tonumber(ARGV[2]) then break end
end
return n
`)

// PurgeJobs implements cns.Store, project by project. Idempotency keys expire on their own (24 h).
func (s *Store) PurgeJobs(ctx context.Context, before time.Time, limit int) (int, error) {
	const op = "purge jobs"
	if err := s.guard(ctx); err != nil {
		return 0, wrap(op, err)
	}
	if limit <= 0 {
		limit = 1 << 30
	}
	projects, err := s.rdb.SMembers(ctx, s.k.projects()).Result()
	if err != nil {
		return 0, wrap(op, err)
	}
	total := 0
	for _, p := range projects {
		if total >= limit {
			break
		}
		keys := []string{s.k.jobs(p), s.k.jobState(p, jobStates[2]), s.k.jobState(p, jobStates[3])}
		// The job key prefix is passed as an argument: the script builds keys of the same slot ({p}).
		n, err := purgeJobs.Run(ctx, s.rdb, keys, strconv.FormatFloat(micros(before), 'f', -1, 64), limit-total, s.k.job(p, "")).Int()
		if err != nil {
			return total, wrap(op, err)
		}
		total += n
	}
	return total, nil
}
