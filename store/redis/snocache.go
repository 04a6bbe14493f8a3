package redis

import (
	"context"
	"hash/maphash"
	"math/rand/v2"
	"strconv"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/store/record"
)

// snoCacheSize is how many decoded SNOs a store keeps: a few thousand hot SNOs (tens of MB) cover
// what an API replica serves again and again — the dashboard's first pages, the SNOs clients poll.
const snoCacheSize = 2048

// snoCache keeps recently read SNOs decoded, keyed by their Redis key, with the revision their record
// had. Every write of an SNO record sets a new random revision beside it (cns:{p}:snorev, in the same
// script), so a read asks Redis for the revisions only — a few bytes per SNO instead of a ~10 KB record
// — and reads and decodes just the records whose revision it has not decoded yet: never stale, and
// an unchanged SNO costs neither the transfer nor the decoding (tens of µs even as CBOR), which were
// most of what GetSNO and ListSNOs cost the API. A record written before revisions existed is read
// every time and checked against a 64-bit seeded hash and the length of its bytes instead, until its
// next write gives it a revision.
type snoCache struct {
	seed    maphash.Seed
	entries *lru.Cache[string, cachedSNO]
}

type cachedSNO struct {
	rev string // "" for a record without a revision: then sum and n identify it
	sum uint64
	n   int
	sno *cns.SNO // callers get clones, or the SNO itself read-only (ViewSNO)
}

func newSNOCache() *snoCache {
	c, err := lru.New[string, cachedSNO](snoCacheSize)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return &snoCache{seed: maphash.MakeSeed(), entries: c}
}

// newRev is a fresh SNO revision: 64 random bits, so no two writes share one.
func newRev() string { return strconv.FormatUint(rand.Uint64(), 36) }

// readSNOs: KEYS the revisions hash, then SNO keys; ARGV their ids. Per SNO its record and its revision
// (false for either when absent), read together so the pair is consistent.
var readSNOs = redis.NewScript(`
local out = {}
for i = 2, #KEYS do
  out[#out+1] = redis.call("GET", KEYS[i])
  out[#out+1] = redis.call("HGET", KEYS[1], ARGV[i-1])
end
return out
`)

// snoCopy is what loadSNOs hands out of a cached SNO.
type snoCopy int

const (
	deepCopy snoCopy = iota // a clone the caller may change (cns.Store)
	summary                 // a copy without the heavy parts (SNOFilter.Summary)
	shared                  // the cached SNO itself, which the caller must not change (cns.SNOViewer)
)

// loadSNOs returns the SNOs of project with the given ids, nil for one that does not exist: one HMGET of
// their revisions, then one script reading the records whose revision is not in the cache. An SNO found
// in the cache is handed out as how says.
func (s *Store) loadSNOs(ctx context.Context, project string, ids []string, how snoCopy) ([]*cns.SNO, error) {
	out := make([]*cns.SNO, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	revKey := s.k.snoRevs(project)
	revs, err := s.rdb.HMGet(ctx, revKey, ids...).Result()
	if err != nil {
		return nil, err
	}
	keys, argv, miss := []string{revKey}, make([]any, 0, len(ids)), make([]int, 0, len(ids))
	for i, id := range ids {
		key := s.k.sno(project, id)
		if rev, ok := revs[i].(string); ok {
			if c, ok := s.snos.entries.Get(key); ok && c.rev == rev {
				out[i] = handOut(c.sno, how)
				continue
			}
		}
		keys, argv, miss = append(keys, key), append(argv, id), append(miss, i)
	}
	if len(miss) == 0 {
		return out, nil
	}
	res, err := readSNOs.Run(ctx, s.rdb, keys, argv...).Slice()
	if err != nil {
		return nil, err
	}
	for j, i := range miss {
		rec, ok := res[2*j].(string)
		if !ok {
			continue // no such SNO
		}
		rev, _ := res[2*j+1].(string)
		if out[i], err = s.decodeSNO(keys[j+1], []byte(rec), rev, how); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// handOut is a cached SNO as how asks for it.
func handOut(sno *cns.SNO, how snoCopy) *cns.SNO {
	switch how {
	case summary:
		return sno.Summary()
	case shared:
		return sno
	}
	return sno.Clone()
}

// decodeSNO opens and decodes the SNO record b stored under key with revision rev, or hands out (as how
// says) the SNO decoded from the same record before.
func (s *Store) decodeSNO(key string, b []byte, rev string, how snoCopy) (*cns.SNO, error) {
	var sum uint64
	if rev == "" {
		sum = maphash.Bytes(s.snos.seed, b)
		if c, ok := s.snos.entries.Get(key); ok && c.rev == "" && c.sum == sum && c.n == len(b) {
			return handOut(c.sno, how), nil
		}
	}
	sno, err := opener(s, record.DecodeSNO)(key, b)
	if err != nil {
		return nil, err
	}
	cached := sno
	if how == deepCopy {
		cached = sno.Clone() // the caller may change sno
	}
	s.snos.entries.Add(key, cachedSNO{rev: rev, sum: sum, n: len(b), sno: cached})
	if how == summary {
		return sno.Summary(), nil // a copy
	}
	return sno, nil
}
