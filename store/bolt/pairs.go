package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/store/record"
)

// The operational loop's buckets (cns.PairStore). Variable-length parts that are followed by more key
// bytes are length-prefixed (uvarint), so no id can make one key a prefix of another's:
//
//	sno_evidence        project\x00 len evidence-id  sno-id          → (empty)     ACTIVE SNOs only
//	pairs               project\x00 A \x00 B                          → pair record
//	pairs_by_potential  project\x00 desc(potential) A \x00 B          → (empty)
//	pairs_by_sno        project\x00 len sno-id desc(potential) A \x00 B → (empty)  one entry for A, one for B
//	synthesis_claims    project\x00 len A  A  len B  B  generator     → job id
//	quotas              project\x00 key                              → {"start","used"}
var (
	bucketEvidence  = []byte("sno_evidence")
	bucketPairs     = []byte("pairs")
	bucketPairRank  = []byte("pairs_by_potential")
	bucketPairBySNO = []byte("pairs_by_sno")
	bucketClaims    = []byte("synthesis_claims")
	bucketQuotas    = []byte("quotas")
)

var _ cns.PairStore = (*Store)(nil)

// pairBuckets are created by Open.
var pairBuckets = [][]byte{bucketEvidence, bucketPairs, bucketPairRank, bucketPairBySNO, bucketClaims, bucketQuotas}

func appendLenString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// evidencePrefix is project\x00 len evidence-id: the entries of one evidence id.
func evidencePrefix(project, evidenceID string) []byte {
	b := projectPrefix(project)
	return appendLenString(b, evidenceID)
}

// upgradeFromLayout1 builds the evidence index of a file written before it existed (layout 1), so an
// older data dir opens with an exact index.
func upgradeFromLayout1(tx *bbolt.Tx) error {
	b := bucketsOf(tx)
	return b.snos.ForEach(func(_, v []byte) error {
		sno, err := record.DecodeSNO(v)
		if err != nil {
			return fmt.Errorf("upgrade layout: %w", err)
		}
		return indexEvidence(b, nil, sno)
	})
}

// indexEvidence moves the SNO's evidence index entries from old (nil for a new SNO) to s. Only ACTIVE SNOs
// are indexed: pair search ignores every other status.
func indexEvidence(b buckets, old, s *cns.SNO) error {
	if old != nil && old.Status == cns.StatusActive {
		for _, e := range old.Evidence {
			if err := b.evidence.Delete(append(evidencePrefix(old.Project, e.ID), old.ID...)); err != nil {
				return fmt.Errorf("unindex evidence: %w", err)
			}
		}
	}
	if s.Status != cns.StatusActive {
		return nil
	}
	for _, e := range s.Evidence {
		if e.ID == "" {
			continue
		}
		if err := b.evidence.Put(append(evidencePrefix(s.Project, e.ID), s.ID...), []byte{}); err != nil {
			return fmt.Errorf("index evidence: %w", err)
		}
	}
	return nil
}

// SNOIDsByEvidence implements cns.PairStore.
func (s *Store) SNOIDsByEvidence(ctx context.Context, project string, evidenceIDs []string) (map[string][]string, error) {
	const op = "sno ids by evidence"
	if err := ctx.Err(); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(project); err != nil {
		return nil, wrap(op, err)
	}
	out := map[string][]string{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketEvidence).Cursor()
		for _, ev := range evidenceIDs {
			if _, done := out[ev]; done || ev == "" {
				continue
			}
			prefix := evidencePrefix(project, ev)
			var ids []string
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				ids = append(ids, string(k[len(prefix):]))
			}
			if len(ids) > 0 {
				out[ev] = ids // keys sort by SNO id, so ids are ascending
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// GetSNOs implements cns.PairStore: one read transaction for all of them.
func (s *Store) GetSNOs(ctx context.Context, project string, ids []string) ([]*cns.SNO, error) {
	const op = "get snos"
	if err := ctx.Err(); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(project); err != nil {
		return nil, wrap(op, err)
	}
	out := make([]*cns.SNO, 0, len(ids))
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := bucketsOf(tx)
		for _, id := range ids {
			v := b.snos.Get(entityKey(project, id))
			if v == nil {
				continue
			}
			sno, err := record.DecodeSNO(v)
			if err != nil {
				return err
			}
			out = append(out, sno)
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

func checkPair(p *cns.Pair) error {
	if p == nil {
		return cns.Errorf(cns.EINVALID, "pair is nil")
	}
	if err := checkProject(p.Project); err != nil {
		return err
	}
	switch {
	case p.A == "" || p.B == "":
		return cns.Errorf(cns.EINVALID, "pair has an empty sno id")
	case strings.IndexByte(p.A, sep) >= 0 || strings.IndexByte(p.B, sep) >= 0:
		return cns.Errorf(cns.EINVALID, "pair sno id contains a NUL byte")
	case p.A >= p.B:
		return cns.Errorf(cns.EINVALID, "pair (%q, %q) is not ordered A < B", p.A, p.B)
	case math.IsNaN(p.Potential):
		return cns.Errorf(cns.EINVALID, "pair (%q, %q) potential is NaN", p.A, p.B)
	}
	return nil
}

func pairKey(project, a, bID string) []byte {
	k := entityKey(project, a)
	k = append(k, sep)
	return append(k, bID...)
}

func appendPairTail(k []byte, potential float64, a, bID string) []byte {
	k = binary.BigEndian.AppendUint64(k, descTrust(potential))
	k = append(k, a...)
	k = append(k, sep)
	return append(k, bID...)
}

func pairRankKey(project string, potential float64, a, bID string) []byte {
	return appendPairTail(projectPrefix(project), potential, a, bID)
}

func pairSNOPrefix(project, sno string) []byte {
	return appendLenString(projectPrefix(project), sno)
}

func pairSNOKey(project, sno string, potential float64, a, bID string) []byte {
	return appendPairTail(pairSNOPrefix(project, sno), potential, a, bID)
}

// splitPairTail reads desc(potential) A \x00 B.
func splitPairTail(tail []byte) (float64, string, string, error) {
	if len(tail) < trustKeyLen+3 {
		return 0, "", "", fmt.Errorf("malformed pair index key")
	}
	pot := trustFromDesc(binary.BigEndian.Uint64(tail[:trustKeyLen]))
	a, b, ok := bytes.Cut(tail[trustKeyLen:], []byte{sep})
	if !ok {
		return 0, "", "", fmt.Errorf("malformed pair index key")
	}
	return pot, string(a), string(b), nil
}

// PutPairs implements cns.PairStore.
func (s *Store) PutPairs(ctx context.Context, pairs []*cns.Pair) error {
	const op = "put pairs"
	if err := ctx.Err(); err != nil {
		return wrap(op, err)
	}
	recs := make([][]byte, len(pairs))
	for i, p := range pairs {
		if err := checkPair(p); err != nil {
			return wrap(op, err)
		}
		rec, err := record.EncodePair(p)
		if err != nil {
			return wrap(op, fmt.Errorf("encode pair: %w", err))
		}
		recs[i] = rec
	}
	if len(pairs) == 0 {
		return nil
	}
	return wrap(op, s.db.Batch(func(tx *bbolt.Tx) error {
		main, rank, bySNO := tx.Bucket(bucketPairs), tx.Bucket(bucketPairRank), tx.Bucket(bucketPairBySNO)
		for i, p := range pairs {
			k := pairKey(p.Project, p.A, p.B)
			if v := main.Get(k); v != nil {
				old, err := record.DecodePair(v)
				if err != nil {
					return fmt.Errorf("read previous pair: %w", err)
				}
				if err := rank.Delete(pairRankKey(p.Project, old.Potential, p.A, p.B)); err != nil {
					return fmt.Errorf("unindex pair: %w", err)
				}
				for _, id := range []string{p.A, p.B} {
					if err := bySNO.Delete(pairSNOKey(p.Project, id, old.Potential, p.A, p.B)); err != nil {
						return fmt.Errorf("unindex pair: %w", err)
					}
				}
			}
			if err := main.Put(k, recs[i]); err != nil {
				return fmt.Errorf("put pair: %w", err)
			}
			if err := rank.Put(pairRankKey(p.Project, p.Potential, p.A, p.B), []byte{}); err != nil {
				return fmt.Errorf("index pair: %w", err)
			}
			for _, id := range []string{p.A, p.B} {
				if err := bySNO.Put(pairSNOKey(p.Project, id, p.Potential, p.A, p.B), []byte{}); err != nil {
					return fmt.Errorf("index pair: %w", err)
				}
			}
		}
		return nil
	}))
}

// ListPairs implements cns.PairStore.
func (s *Store) ListPairs(ctx context.Context, f cns.PairFilter) ([]*cns.Pair, error) {
	const op = "list pairs"
	if err := ctx.Err(); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(f.Project); err != nil {
		return nil, wrap(op, err)
	}
	if f.After != nil && math.IsNaN(f.After.Potential) {
		return nil, wrap(op, cns.Errorf(cns.EINVALID, "cursor potential is NaN"))
	}
	var out []*cns.Pair
	err := s.db.View(func(tx *bbolt.Tx) error {
		main := tx.Bucket(bucketPairs)
		idx, prefix := tx.Bucket(bucketPairRank), projectPrefix(f.Project)
		if f.SNOID != "" {
			idx, prefix = tx.Bucket(bucketPairBySNO), pairSNOPrefix(f.Project, f.SNOID)
		}
		start, skip := prefix, []byte(nil)
		if f.After != nil {
			start = appendPairTail(slices.Clone(prefix), f.After.Potential, f.After.A, f.After.B)
			skip = start
		}
		c := idx.Cursor()
		n := 0
		for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if n++; n%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if skip != nil && bytes.Equal(k, skip) {
				continue
			}
			_, a, b, err := splitPairTail(k[len(prefix):])
			if err != nil {
				return fmt.Errorf("%w %q", err, k)
			}
			v := main.Get(pairKey(f.Project, a, b))
			if v == nil {
				return fmt.Errorf("pair index names missing pair (%q, %q)", a, b)
			}
			p, err := record.DecodePair(v)
			if err != nil {
				return err
			}
			out = append(out, p)
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

func claimKey(project, a, bID, generator string) []byte {
	k := appendLenString(projectPrefix(project), a)
	k = appendLenString(k, bID)
	return append(k, generator...)
}

// ClaimSynthesis implements cns.PairStore: the claim check, the claim and the job are one transaction.
func (s *Store) ClaimSynthesis(ctx context.Context, job *cns.Job) (*cns.Job, bool, error) {
	const op = "claim synthesis"
	if err := ctx.Err(); err != nil {
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
	rec, err := record.EncodeJob(job)
	if err != nil {
		return nil, false, wrap(op, fmt.Errorf("encode job: %w", err))
	}
	ck := claimKey(job.Project, in.A, in.B, in.Generator)
	var existing *cns.Job
	err = s.db.Batch(func(tx *bbolt.Tx) error {
		b := bucketsOf(tx)
		existing = nil
		claims := tx.Bucket(bucketClaims)
		if id := claims.Get(ck); id != nil {
			j, err := getJob(b, job.Project, string(id))
			switch {
			case cns.ErrorCode(err) == cns.ENOTFOUND:
				// Purged by job history retention: the claim outlives its job.
				in := cns.SynthesisInput{A: job.Synthesis.A, B: job.Synthesis.B, Generator: job.Synthesis.Generator}
				j = &cns.Job{ID: string(id), Project: job.Project, Kind: cns.JobSynthesizePair, Synthesis: &in}
			case err != nil:
				return fmt.Errorf("synthesis claim names job %q: %v", id, err)
			}
			existing = j
			return nil
		}
		if b.jobs.Get(entityKey(job.Project, job.ID)) != nil {
			return cns.Errorf(cns.ECONFLICT, "job %q already exists", job.ID)
		}
		if err := putJob(b, nil, job, rec); err != nil {
			return err
		}
		return claims.Put(ck, []byte(job.ID))
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

// SynthesisClaim implements cns.PairStore.
func (s *Store) SynthesisClaim(ctx context.Context, project, x, y, generator string) (string, error) {
	const op = "synthesis claim"
	if err := ctx.Err(); err != nil {
		return "", wrap(op, err)
	}
	if err := checkProject(project); err != nil {
		return "", wrap(op, err)
	}
	a, b := cns.OrderPair(x, y)
	var id string
	err := s.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketClaims).Get(claimKey(project, a, b, generator))
		if v == nil {
			return cns.Errorf(cns.ENOTFOUND, "pair (%q, %q) has no synthesis claim for %q", a, b, generator)
		}
		id = string(v)
		return nil
	})
	if err != nil {
		return "", wrap(op, err)
	}
	return id, nil
}

type quotaRecord struct {
	Start time.Time `json:"start"`
	Used  int64     `json:"used"`
}

// ConsumeQuota implements cns.PairStore.
func (s *Store) ConsumeQuota(ctx context.Context, q cns.Quota) (int64, bool, error) {
	const op = "consume quota"
	if err := ctx.Err(); err != nil {
		return 0, false, wrap(op, err)
	}
	if err := checkProject(q.Project); err != nil {
		return 0, false, wrap(op, err)
	}
	if q.Limit <= 0 || q.Window <= 0 || q.Amount < 0 || q.Key == "" {
		return 0, false, wrap(op, cns.Errorf(cns.EINVALID, "quota %q needs a key, a positive limit and window and an amount ≥ 0", q.Key))
	}
	var used int64
	var ok bool
	k := entityKey(q.Project, q.Key)
	err := s.db.Batch(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketQuotas)
		var r quotaRecord
		if v := b.Get(k); v != nil {
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode quota: %w", err)
			}
		}
		if !r.Start.IsZero() && !q.Now.Before(r.Start.Add(q.Window)) {
			r = quotaRecord{} // the window closed
		}
		if q.Amount == 0 {
			used, ok = r.Used, r.Used < q.Limit
			return nil
		}
		if r.Used+q.Amount > q.Limit {
			used, ok = r.Used, false
			return nil
		}
		if r.Start.IsZero() {
			r.Start = q.Now
		}
		r.Used += q.Amount
		used, ok = r.Used, true
		v, err := json.Marshal(&r)
		if err != nil {
			return fmt.Errorf("encode quota: %w", err)
		}
		return b.Put(k, v)
	})
	if err != nil {
		return 0, false, wrap(op, err)
	}
	return used, ok, nil
}
