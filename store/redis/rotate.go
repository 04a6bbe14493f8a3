package redis

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/cns-dev/cns"
)

// compareAndSet: KEYS record (and, for an SNO, the revisions hash); ARGV old value, new value (and the
// SNO's id and new revision). Replaces the record only if nobody changed it since it was read, so
// rotation never overwrites a concurrent write. An SNO gets a new revision, so every process reads the
// re-sealed record again rather than serving what it decoded under the old key: a process that lacks
// the new key refuses it then, as it should.
var compareAndSet = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("SET", KEYS[1], ARGV[2])
  if KEYS[2] then redis.call("HSET", KEYS[2], ARGV[3], ARGV[4]) end
  return 1
end
return 0
`)

// Rotate re-encrypts every job, SNO and pair record not sealed with the current key (plaintext records
// included), project by project, and returns how many it rewrote. It runs alongside the service: a
// record changed concurrently is skipped, and is already sealed with the current key by its writer.
func (s *Store) Rotate(ctx context.Context) (int, error) {
	const op = "rotate keys"
	if err := s.guard(ctx); err != nil {
		return 0, wrap(op, err)
	}
	if s.ring == nil {
		return 0, wrap(op, cns.Errorf(cns.EFAILEDPRECOND, "no encryption key is configured"))
	}
	projects, err := s.rdb.SMembers(ctx, s.k.projects()).Result()
	if err != nil {
		return 0, wrap(op, err)
	}
	n := 0
	for _, p := range projects {
		for _, idx := range []struct {
			zset string
			key  func(member string) string
			revs string // the revisions hash of SNO records
		}{
			{s.k.jobs(p), func(m string) string { return s.k.job(p, m) }, ""},
			{s.k.snos(p), func(m string) string { return s.k.sno(p, m) }, s.k.snoRevs(p)},
			{s.k.pairs(p), func(m string) string { return s.k.pfx(p) + "pair:" + m }, ""},
		} {
			const batch = 500
			for start := int64(0); ; start += batch {
				members, err := s.rdb.ZRange(ctx, idx.zset, start, start+batch-1).Result()
				if err != nil {
					return n, wrap(op, err)
				}
				for _, m := range members {
					k := idx.key(m)
					rotated, err := s.rotateOne(ctx, k, idx.revs, m)
					if err != nil {
						return n, wrap(op, err)
					}
					if rotated {
						n++
					}
				}
				if len(members) < batch {
					break
				}
			}
		}
	}
	return n, nil
}

func (s *Store) rotateOne(ctx context.Context, key, revs, member string) (bool, error) {
	old, err := s.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if keyID(old) == s.ring.current {
		return false, nil
	}
	plain, err := s.ring.open(old, key)
	if err != nil {
		return false, fmt.Errorf("%s: %w", key, err)
	}
	sealed, err := s.ring.seal(plain, key)
	if err != nil {
		return false, err
	}
	keys, argv := []string{key}, []any{old, sealed}
	if revs != "" {
		keys, argv = append(keys, revs), append(argv, member, newRev())
	}
	ok, err := compareAndSet.Run(ctx, s.rdb, keys, argv...).Int()
	return ok == 1, err
}
