package redis_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/internal/redistest"
	"github.com/cns-dev/cns/store/redis"
)

// TestDecodedSNOsAreNeverStale: two API replicas (two stores on one Redis) read an SNO; one of them, or
// a third process, changes it; both read the change at once. What a caller does to an SNO it got never
// reaches another caller.
func TestDecodedSNOsAreNeverStale(t *testing.T) {
	t.Parallel()
	_, a, b, now := twoReplicas(t, "c:")
	ctx := t.Context()
	read := func(s *redis.Store) *cns.SNO {
		t.Helper()
		got, err := s.GetSNO(ctx, "p", "sno_1")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for range 2 { // a miss, then a hit
		for _, s := range []*redis.Store{a, b} {
			got := read(s)
			if got.Trust != 0.5 {
				t.Fatalf("trust %v, want 0.5", got.Trust)
			}
			got.Trust, got.Hypothesis = 0.1, "changed by a caller"
			got.Evidence[0].SupportsClaimIDs[0] = "changed"
		}
	}
	if got := read(a); got.Hypothesis != "h" || got.Evidence[0].SupportsClaimIDs[0] != cns.RootClaimID {
		t.Fatalf("a caller's change reached another caller: %+v", got)
	}
	// b changes the SNO; a (which has it decoded) reads the change, through GetSNO and the listings.
	changed := read(b)
	changed.Trust, changed.Status, changed.UpdatedAt = 0.9, cns.StatusReview, now.Add(time.Second)
	if err := b.PutSNO(ctx, changed); err != nil {
		t.Fatal(err)
	}
	if got := read(a); got.Trust != 0.9 || got.Status != cns.StatusReview {
		t.Fatalf("replica a reads trust %v status %v after b's update", got.Trust, got.Status)
	}
	list, err := a.ListSNOs(ctx, cns.SNOFilter{Project: "p", Limit: 10})
	if err != nil || len(list) != 1 || list[0].Trust != 0.9 {
		t.Fatalf("ListSNOs on a after b's update: %+v %v", list, err)
	}
	many, err := a.GetSNOs(ctx, "p", []string{"sno_1"})
	if err != nil || len(many) != 1 || many[0].Status != cns.StatusReview {
		t.Fatalf("GetSNOs on a after b's update: %+v %v", many, err)
	}
	// A summary listing: the same SNO without its graph and evidence.
	sums, err := a.ListSNOs(ctx, cns.SNOFilter{Project: "p", Limit: 10, Summary: true})
	if err != nil || len(sums) != 1 {
		t.Fatalf("summary listing: %+v %v", sums, err)
	}
	if want := read(a).Summary(); !reflect.DeepEqual(sums[0], want) || len(sums[0].Graph.Claims) != 0 || sums[0].Evidence != nil {
		t.Fatalf("summary listing %+v, want %+v", sums[0], want)
	}
}

// TestUnchangedSNOsAreNotReadAgain: once a store has an SNO decoded, reading it again asks Redis for its
// revision only (no GET of the record: INFO commandstats counts the script's GETs); a write anywhere
// makes the next read fetch the record; a record without a revision (written by an older build) is
// read, and read right, every time.
func TestUnchangedSNOsAreNotReadAgain(t *testing.T) {
	t.Parallel()
	rdb, a, b, _ := twoReplicas(t, "")
	ctx := t.Context()
	sno, err := b.GetSNO(ctx, "p", "sno_1") // b's read: a has decoded nothing yet
	if err != nil {
		t.Fatal(err)
	}
	gets := func() int64 {
		t.Helper()
		stats, err := rdb.Info(ctx, "commandstats").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(stats, "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_get:calls="); ok {
				n, _ := strconv.ParseInt(rest[:strings.IndexByte(rest, ',')], 10, 64)
				return n
			}
		}
		return 0
	}
	read := func(wantTrust float64, wantGets int64) {
		t.Helper()
		before := gets()
		got, err := a.GetSNO(ctx, "p", "sno_1")
		if err != nil {
			t.Fatal(err)
		}
		list, err := a.ListSNOs(ctx, cns.SNOFilter{Project: "p", Limit: 10})
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v %v", list, err)
		}
		if got.Trust != wantTrust || list[0].Trust != wantTrust {
			t.Fatalf("read trust %v and %v, want %v", got.Trust, list[0].Trust, wantTrust)
		}
		if n := gets() - before; n != wantGets {
			t.Fatalf("GetSNO + ListSNOs read the record %d times, want %d", n, wantGets)
		}
	}
	read(0.5, 1) // a miss, then a hit
	read(0.5, 0)
	sno.Trust = 0.7
	if err := b.PutSNO(ctx, sno); err != nil { // another replica writes
		t.Fatal(err)
	}
	read(0.7, 1)
	read(0.7, 0)
	// An older build's record: no revision.
	if err := rdb.HDel(ctx, "cns:{p}:snorev", "sno_1").Err(); err != nil {
		t.Fatal(err)
	}
	read(0.7, 2)
	read(0.7, 2)
	if _, err := a.GetSNO(ctx, "p", "sno_none"); cns.ErrorCode(err) != cns.ENOTFOUND {
		t.Fatalf("missing SNO: %v", err)
	}
}

// twoReplicas starts a Redis with two stores on it (two API replicas) under namespace ns, and stores
// the SNO sno_1 of project p (trust 0.5, one piece of evidence) as job job_1's result.
func twoReplicas(t *testing.T, ns string) (rdb *goredis.Client, a, b *redis.Store, now time.Time) {
	t.Helper()
	srv := redistest.Start(t)
	rdb = goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	a, b = redis.New(rdb, ns), redis.New(rdb, ns)
	now = time.Now().UTC()
	job := &cns.Job{ID: "job_1", Project: "p", Kind: cns.JobIngestDocument, State: cns.JobQueued,
		Document: &cns.DocumentInput{Text: "x"}, CreatedAt: now, UpdatedAt: now}
	if _, _, err := a.CreateJob(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	job.State = cns.JobSucceeded
	sno := &cns.SNO{ID: "sno_1", Project: "p", Hypothesis: "h", Graph: cns.NewGraph("h"), Trust: 0.5, Status: cns.StatusActive,
		Evidence:      []cns.Evidence{{ID: "doi:10.1/x", Confidence: 1, SupportsClaimIDs: []string{cns.RootClaimID}}},
		SchemaVersion: cns.SchemaVersion, JobID: job.ID, CreatedAt: now, UpdatedAt: now}
	if err := a.CompleteJob(t.Context(), job, sno); err != nil {
		t.Fatal(err)
	}
	return rdb, a, b, now
}

// TestViewSNOSharesUntilChanged: ViewSNO hands out the same SNO while its record is unchanged — on the
// miss that decodes it and on every hit after — and a new one once another replica changes it, while
// GetSNO's clones stay the caller's own.
func TestViewSNOSharesUntilChanged(t *testing.T) {
	t.Parallel()
	_, a, b, now := twoReplicas(t, "v:")
	ctx := t.Context()
	view := func() *cns.SNO {
		t.Helper()
		got, err := a.ViewSNO(ctx, "p", "sno_1")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := view()
	if again := view(); again != first || first.Trust != 0.5 {
		t.Fatalf("two views of an unchanged SNO: %p and %p (trust %v)", first, again, first.Trust)
	}
	clone, err := a.GetSNO(ctx, "p", "sno_1")
	if err != nil || clone == first {
		t.Fatalf("GetSNO handed out the shared SNO: %p, %v", clone, err)
	}
	clone.Trust = 0.1
	if first.Trust != 0.5 {
		t.Fatal("a change to GetSNO's copy reached the shared SNO")
	}
	changed, err := b.GetSNO(ctx, "p", "sno_1")
	if err != nil {
		t.Fatal(err)
	}
	changed.Trust, changed.UpdatedAt = 0.9, now.Add(time.Second)
	if err := b.PutSNO(ctx, changed); err != nil {
		t.Fatal(err)
	}
	if got := view(); got == first || got.Trust != 0.9 || first.Trust != 0.5 {
		t.Fatalf("after b's change: %p trust %v (the first view %p now trust %v)", got, got.Trust, first, first.Trust)
	}
	if _, err := a.ViewSNO(ctx, "p", "sno_missing"); cns.ErrorCode(err) != cns.ENOTFOUND {
		t.Fatalf("a missing SNO: %v", err)
	}
	// ViewSNOs lists the same shared SNOs, whole even when a summary is asked for.
	list, err := a.ViewSNOs(ctx, cns.SNOFilter{Project: "p", Limit: 10, Summary: true})
	if err != nil || len(list) != 1 || list[0] != view() || len(list[0].Evidence) == 0 {
		t.Fatalf("ViewSNOs: %+v, %v", list, err)
	}
}
