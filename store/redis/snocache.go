package redis

import (
	"hash/maphash"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/store/record"
)

// snoCacheSize is how many decoded SNOs a store keeps: a few thousand hot SNOs (tens of MB) cover
// what an API replica serves again and again — the dashboard's first pages, the SNOs clients poll.
const snoCacheSize = 2048

// snoCache keeps recently read SNOs decoded, keyed by their Redis key and checked against the record
// just read: every read still GETs the record from Redis (so it is never stale), but an unchanged record
// is not decoded again. Decoding is most of what GetSNO and ListSNOs cost the API (a ~10 KB record:
// tens of µs even as CBOR). The check is a 64-bit seeded hash and the length of the stored bytes, which
// change whenever the record does (a sealed record's nonce changes on every write).
type snoCache struct {
	seed    maphash.Seed
	entries *lru.Cache[string, cachedSNO]
}

type cachedSNO struct {
	sum uint64
	n   int
	sno *cns.SNO // private: callers get clones
}

func newSNOCache() *snoCache {
	c, err := lru.New[string, cachedSNO](snoCacheSize)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return &snoCache{seed: maphash.MakeSeed(), entries: c}
}

// decodeSNO opens and decodes the SNO record b stored under key, or returns a copy of the SNO decoded
// from the same bytes before.
func (s *Store) decodeSNO(key string, b []byte) (*cns.SNO, error) {
	sum := maphash.Bytes(s.snos.seed, b)
	if c, ok := s.snos.entries.Get(key); ok && c.sum == sum && c.n == len(b) {
		return c.sno.Clone(), nil
	}
	sno, err := opener(s, record.DecodeSNO)(key, b)
	if err != nil {
		return nil, err
	}
	s.snos.entries.Add(key, cachedSNO{sum: sum, n: len(b), sno: sno.Clone()})
	return sno, nil
}
