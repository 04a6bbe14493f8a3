package bolt

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	bbolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/store/record"
	"github.com/cns-dev/cns/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "data", "cns.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) cns.Store { return openTemp(t) })
}

func testSNO(project, id string, trust float64, status cns.Status) *cns.SNO {
	h := "hypothesis " + id
	return &cns.SNO{
		ID: id, Project: project, Hypothesis: h, Embedding: []float32{0.6, 0.8}, Graph: cns.NewGraph(h),
		Trust: trust, Status: status, SchemaVersion: cns.SchemaVersion, JobID: "job-" + id,
		CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC), UpdatedAt: time.Date(2025, 1, 2, 3, 4, 5, 7, time.UTC),
	}
}

func testJob(project, id string, state cns.JobState, created time.Time) *cns.Job {
	return &cns.Job{
		ID: id, Project: project, Kind: cns.JobIngestDocument, State: state,
		Document:  &cns.DocumentInput{Source: "s", Text: "text " + id, Metadata: map[string]string{"a": "b"}},
		CreatedAt: created, UpdatedAt: created,
	}
}

// complete stores sno through a job, the only way the port creates SNOs.
func complete(t *testing.T, s *Store, sno *cns.SNO) *cns.Job {
	t.Helper()
	j := testJob(sno.Project, "job-"+sno.ID, cns.JobRunning, sno.CreatedAt)
	if _, _, err := s.CreateJob(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	j.State, j.SNOID = cns.JobSucceeded, sno.ID
	if err := s.CompleteJob(t.Context(), j, sno); err != nil {
		t.Fatal(err)
	}
	return j
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "cns.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	t0 := time.Date(2025, 5, 6, 7, 8, 9, 987654321, time.FixedZone("X", -7*3600))
	var jobs []*cns.Job
	for i, st := range []cns.JobState{cns.JobQueued, cns.JobRunning, cns.JobFailed} {
		j := testJob("p1", fmt.Sprintf("j%d", i), st, t0.Add(time.Duration(i)))
		j.IdempotencyKey = fmt.Sprintf("key-%d", i)
		if _, _, err := s.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	var snos []*cns.SNO
	for i, st := range []cns.Status{cns.StatusActive, cns.StatusReview, cns.StatusActive} {
		sno := testSNO("p1", fmt.Sprintf("s%d", i), 0.25*float64(i+1), st)
		sno.Critics = []cns.CriticScore{{Name: "logic", Score: 1.0 / 3, SubScores: map[string]float64{"x": 0.1}}}
		jobs = append(jobs, complete(t, s, sno))
		snos = append(snos, sno)
	}
	snos[0].Trust = 0.95
	if err := s.PutSNO(ctx, snos[0]); err != nil {
		t.Fatal(err)
	}
	statsBefore, err := s.Stats(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	for _, want := range jobs {
		got, err := s.GetJob(ctx, want.Project, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(normJob(want), normJob(got)) {
			t.Fatalf("job %s after reopen:\n got %+v\nwant %+v", want.ID, got, want)
		}
	}
	for _, want := range snos {
		got, err := s.GetSNO(ctx, want.Project, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(normSNO(want), normSNO(got)) {
			t.Fatalf("sno %s after reopen:\n got %+v\nwant %+v", want.ID, got, want)
		}
	}
	list, err := s.ListSNOs(ctx, cns.SNOFilter{Project: "p1", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(list, func(s *cns.SNO) string { return s.ID }); !slices.Equal(got, []string{"s0", "s2", "s1"}) {
		t.Fatalf("ListSNOs after reopen = %v", got)
	}
	unfinished, err := s.UnfinishedJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(unfinished, func(j *cns.Job) string { return j.ID }); !slices.Equal(got, []string{"j0", "j1"}) {
		t.Fatalf("UnfinishedJobs after reopen = %v", got)
	}
	all, err := s.ListJobs(ctx, cns.JobFilter{Project: "p1", Limit: 100})
	if err != nil || len(all) != len(jobs) {
		t.Fatalf("ListJobs after reopen: %d jobs, %v; want %d", len(all), err, len(jobs))
	}
	statsAfter, err := s.Stats(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(statsBefore, statsAfter) {
		t.Fatalf("Stats after reopen = %+v, before %+v", statsAfter, statsBefore)
	}
	// The idempotency index survived too.
	dup := testJob("p1", "new", cns.JobQueued, t0)
	dup.IdempotencyKey = "key-1"
	stored, created, err := s.CreateJob(ctx, dup)
	if err != nil || created || stored.ID != "j1" {
		t.Fatalf("CreateJob with a key from before the reopen: %v created=%v err=%v; want j1", stored, created, err)
	}
}

// normJob and normSNO make times comparable with DeepEqual (the zone and monotonic reading are not
// stored; the instant is).
func normJob(j *cns.Job) cns.Job {
	c := *j
	for _, t := range []*time.Time{&c.CreatedAt, &c.UpdatedAt, &c.StartedAt, &c.FinishedAt} {
		*t = t.UTC()
	}
	return c
}

func normSNO(s *cns.SNO) cns.SNO {
	c := *s
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cns.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// flock locks belong to the open file description, so a second Open in this process conflicts just
	// like a second process would.
	start := time.Now()
	s2, err := Open(path)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of a held file succeeded")
	}
	if !errors.Is(err, bbolt.ErrTimeout) || !strings.Contains(err.Error(), "is another cns dev running on this data dir?") ||
		!strings.Contains(err.Error(), path) {
		t.Fatalf("second Open: %v; want a timeout naming the path and asking about another cns dev", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("second Open took %v to fail", d)
	}
}

func TestOpenNewerLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cns.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(metaLayout, []byte("99")) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("Open of a file with a newer layout succeeded")
	} else if !strings.Contains(err.Error(), `layout "99"`) {
		t.Fatalf("Open of a newer layout: %v", err)
	}
}

func TestNewerRecordSchema(t *testing.T) {
	s := openTemp(t)
	complete(t, s, testSNO("p1", "s", 0.5, cns.StatusActive))
	err := s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketSNOs).Put(entityKey("p1", "s"), []byte(`{"schema":2,"id":"s","project":"p1","status":"active"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.GetSNO(t.Context(), "p1", "s")
	if err == nil || !strings.Contains(err.Error(), "schema 2") || cns.ErrorCode(err) != cns.EINTERNAL {
		t.Fatalf("GetSNO of a schema-2 record: %v; want an internal error naming the schema", err)
	}
}

// TestRecordFormat pins the on-disk spelling: CBOR maps (store/record), enums by name, the embedding as
// little-endian bytes. A change here breaks existing data dirs and needs a schema bump.
func TestRecordFormat(t *testing.T) {
	sno := testSNO("p1", "s", 0.5, cns.StatusReview)
	sno.Graph.Edges = nil
	sno.Graph.Claims = append(sno.Graph.Claims, cns.Claim{ID: "c", Text: "t"})
	sno.Graph.Edges = []cns.Edge{{From: "c", To: cns.RootClaimID, Relation: cns.RelationWeakens, Strength: 0.5}}
	b, err := record.EncodeSNO(sno)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := cbor.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["schema"] != uint64(1) || m["status"] != "review" || base64.StdEncoding.EncodeToString(m["embedding"].([]byte)) != "mpkZP83MTD8=" {
		t.Fatalf("sno record = %v", m)
	}
	if rel := m["graph"].(map[any]any)["edges"].([]any)[0].(map[any]any)["relation"]; rel != "weakens" {
		t.Fatalf("edge relation stored as %v", rel)
	}
	jb, err := record.EncodeJob(testJob("p1", "j", cns.JobRunning, time.Unix(0, 5)))
	if err != nil {
		t.Fatal(err)
	}
	m = nil
	if err := cbor.Unmarshal(jb, &m); err != nil {
		t.Fatal(err)
	}
	if m["state"] != "running" || m["kind"] != "ingest_document" || m["created_at"] != "1970-01-01T00:00:00.000000005Z" {
		t.Fatalf("job record = %v", m)
	}
}

func TestDescTrustOrder(t *testing.T) {
	vals := []float64{math.Inf(-1), -1, -1e-300, math.Copysign(0, -1), 0, 1e-300, 1e-12, 0.1, 0.5 - 1e-16, 0.5, 0.5 + 1e-16, 0.9, 1, 2, math.Inf(1)}
	for i := 1; i < len(vals); i++ {
		lo, hi := descTrust(vals[i-1]), descTrust(vals[i])
		if vals[i-1] == vals[i] {
			if lo != hi {
				t.Fatalf("descTrust(%v) = %x != descTrust(%v) = %x", vals[i-1], lo, vals[i], hi)
			}
			continue
		}
		if lo <= hi {
			t.Fatalf("descTrust(%v) = %x is not above descTrust(%v) = %x", vals[i-1], lo, vals[i], hi)
		}
	}
	for _, v := range vals {
		if got := trustFromDesc(descTrust(v)); got != v {
			t.Fatalf("trustFromDesc(descTrust(%v)) = %v", v, got)
		}
	}
}

func TestTimeKeyOrder(t *testing.T) {
	times := []time.Time{
		{},
		time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(-1, 999999999),
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Date(2025, 1, 1, 0, 0, 0, 1, time.FixedZone("Y", 3600)),
		time.Date(2025, 1, 1, 0, 0, 0, 2, time.UTC),
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i := 1; i < len(times); i++ {
		a, b := jobTimeKey("p", times[i-1], "z"), jobTimeKey("p", times[i], "a")
		if bytes.Compare(a, b) >= 0 {
			t.Fatalf("time key of %v does not sort before %v", times[i-1], times[i])
		}
	}
}

func TestValidation(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	t0 := time.Unix(100, 0)
	cases := map[string]error{
		"empty project":   func() error { _, _, err := s.CreateJob(ctx, testJob("", "j", cns.JobQueued, t0)); return err }(),
		"NUL in project":  func() error { _, _, err := s.CreateJob(ctx, testJob("a\x00b", "j", cns.JobQueued, t0)); return err }(),
		"empty job id":    func() error { _, _, err := s.CreateJob(ctx, testJob("p", "", cns.JobQueued, t0)); return err }(),
		"nil job":         func() error { _, _, err := s.CreateJob(ctx, nil); return err }(),
		"unknown state":   func() error { _, _, err := s.CreateJob(ctx, testJob("p", "j", cns.JobState(42), t0)); return err }(),
		"get NUL project": func() error { _, err := s.GetSNO(ctx, "a\x00b", "x"); return err }(),
		"list no project": func() error { _, err := s.ListSNOs(ctx, cns.SNOFilter{}); return err }(),
		"NaN min trust": func() error {
			_, err := s.ListSNOs(ctx, cns.SNOFilter{Project: "p", MinTrust: math.NaN()})
			return err
		}(),
	}
	for name, err := range cases {
		if cns.ErrorCode(err) != cns.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
}

func TestCompleteJobChecks(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	j := testJob("p1", "j", cns.JobRunning, time.Unix(100, 0))
	if _, _, err := s.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	sno := testSNO("p1", "s", 0.5, cns.StatusActive)

	j.SNOID = "s"
	if err := s.CompleteJob(ctx, j, sno); cns.ErrorCode(err) != cns.EINVALID {
		t.Fatalf("CompleteJob of a running job: %v, want EINVALID", err)
	}
	j.State, j.SNOID = cns.JobSucceeded, "other"
	if err := s.CompleteJob(ctx, j, sno); cns.ErrorCode(err) != cns.EINVALID {
		t.Fatalf("CompleteJob naming another sno: %v, want EINVALID", err)
	}
	j.SNOID = ""
	foreign := testSNO("p2", "s", 0.5, cns.StatusActive)
	if err := s.CompleteJob(ctx, j, foreign); cns.ErrorCode(err) != cns.EINVALID {
		t.Fatalf("CompleteJob with another project's sno: %v, want EINVALID", err)
	}
	if _, err := s.GetSNO(ctx, "p1", "s"); cns.ErrorCode(err) != cns.ENOTFOUND {
		t.Fatalf("sno stored by a rejected completion: %v", err)
	}

	// An empty SNOID is recorded as the SNO's id; the caller's job is not modified.
	if err := s.CompleteJob(ctx, j, sno); err != nil {
		t.Fatal(err)
	}
	if j.SNOID != "" {
		t.Fatal("CompleteJob modified the caller's job")
	}
	got, err := s.GetJob(ctx, "p1", "j")
	if err != nil || got.SNOID != "s" {
		t.Fatalf("job after completion: %+v, %v; want SNOID s", got, err)
	}

	// A redelivered completion with a re-scored SNO replaces it without leaving a stale index entry.
	sno2 := testSNO("p1", "s", 0.9, cns.StatusReview)
	if err := s.CompleteJob(ctx, j, sno2); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListSNOs(ctx, cns.SNOFilter{Project: "p1"})
	if err != nil || len(list) != 1 || list[0].Trust != 0.9 {
		t.Fatalf("ListSNOs after a repeated completion: %d snos, %v", len(list), err)
	}
	st, err := s.Stats(ctx, "p1")
	if err != nil || st.SNOsByStatus[cns.StatusActive] != 0 || st.SNOsByStatus[cns.StatusReview] != 1 {
		t.Fatalf("Stats after a repeated completion: %+v, %v", st, err)
	}
}

func TestUpdateJobKeys(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	a := testJob("p1", "a", cns.JobQueued, time.Unix(100, 0))
	a.IdempotencyKey = "ka"
	b := testJob("p1", "b", cns.JobQueued, time.Unix(200, 0))
	b.IdempotencyKey = "kb"
	for _, j := range []*cns.Job{a, b} {
		if _, _, err := s.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	a.IdempotencyKey = "kb"
	if err := s.UpdateJob(ctx, a); cns.ErrorCode(err) != cns.ECONFLICT {
		t.Fatalf("UpdateJob taking another job's key: %v, want ECONFLICT", err)
	}
	// Moving a job's key and creation time moves its index entries.
	a.IdempotencyKey, a.CreatedAt = "ka2", time.Unix(300, 0)
	if err := s.UpdateJob(ctx, a); err != nil {
		t.Fatal(err)
	}
	c := testJob("p1", "c", cns.JobQueued, time.Unix(400, 0))
	c.IdempotencyKey = "ka"
	if _, created, err := s.CreateJob(ctx, c); err != nil || !created {
		t.Fatalf("CreateJob with a released key: created=%v, %v", created, err)
	}
	list, err := s.ListJobs(ctx, cns.JobFilter{Project: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(list, func(j *cns.Job) string { return j.ID }); !slices.Equal(got, []string{"c", "a", "b"}) {
		t.Fatalf("ListJobs after moving a's creation time = %v", got)
	}
	un, err := s.UnfinishedJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(un, func(j *cns.Job) string { return j.ID }); !slices.Equal(got, []string{"b", "a", "c"}) {
		t.Fatalf("UnfinishedJobs after moving a's creation time = %v", got)
	}
}

// TestScanSNOsBatches crosses the scan batch size and writes from inside fn, which a scan holding one
// read transaction across fn could deadlock on.
func TestScanSNOsBatches(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	const n = scanBatch*2 + 3
	err := s.db.Update(func(tx *bbolt.Tx) error {
		for i := range n {
			sno := testSNO("p1", fmt.Sprintf("s%04d", i), float64(i)/n, cns.StatusActive)
			rec, err := record.EncodeSNO(sno)
			if err != nil {
				return err
			}
			if err := putSNO(bucketsOf(tx), nil, sno, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	err = s.ScanSNOs(ctx, func(sno *cns.SNO) error {
		if seen[sno.ID] {
			t.Fatalf("sno %s visited twice", sno.ID)
		}
		seen[sno.ID] = true
		sno.Status = cns.StatusArchived
		return s.PutSNO(ctx, sno)
	})
	if err != nil || len(seen) != n {
		t.Fatalf("ScanSNOs visited %d of %d snos, err %v", len(seen), n, err)
	}
}

// TestDanglingIndexIsInternal: an index entry without its record is corruption, reported as internal,
// not as the caller's not-found.
func TestDanglingIndexIsInternal(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	complete(t, s, testSNO("p1", "s", 0.5, cns.StatusActive))
	err := s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketSNOs).Delete(entityKey("p1", "s")) })
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.ListSNOs(ctx, cns.SNOFilter{Project: "p1"})
	if err == nil || cns.ErrorCode(err) != cns.EINTERNAL {
		t.Fatalf("ListSNOs over a dangling index entry: %v, want EINTERNAL", err)
	}
}
