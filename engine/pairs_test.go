package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/critic"
	"github.com/cns-dev/cns/nlp"
	"github.com/cns-dev/cns/population"
	"github.com/cns-dev/cns/relation"
	"github.com/cns-dev/cns/store/bolt"
	"github.com/cns-dev/cns/synthesis"
)

// countingStore records which SNOs discovery reads, to show candidates come from the evidence index.
type countingStore struct {
	*bolt.Store
	mu   sync.Mutex
	read []string
}

func (c *countingStore) GetSNOs(ctx context.Context, project string, ids []string) ([]*cns.SNO, error) {
	c.mu.Lock()
	c.read = append(c.read, ids...)
	c.mu.Unlock()
	return c.Store.GetSNOs(ctx, project, ids)
}

func (c *countingStore) reads() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.read)
	c.read = nil
	slices.Sort(out)
	return out
}

type fixture struct {
	t     *testing.T
	eng   *Engine
	store *countingStore
	n     int
}

func newFixture(t *testing.T, mod func(*LoopConfig)) *fixture {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "cns.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cs := &countingStore{Store: st}
	emb, nli, err := nlp.New(nlp.BackendBuiltin, 128)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := New(Config{Limits: cns.DefaultLimits(), Critic: critic.DefaultConfig(), MinTrust: 0}, cs, emb, nli)
	if err != nil {
		t.Fatal(err)
	}
	rc := relation.DefaultConfig()
	rc.MinChirality, rc.MinEntanglement = 0.2, 0.3
	cfg := LoopConfig{Relation: rc, AcceptTrust: 0.75, RejectTrust: 0.45}
	if mod != nil {
		mod(&cfg)
	}
	if err := eng.EnableLoop(cfg, cs, nli, synthesis.Builtin{}); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, eng: eng, store: cs}
}

// add runs a narrative through Build, CompleteJob and Observe, as the worker does.
func (f *fixture) add(h string, evidence ...string) *cns.SNO {
	f.t.Helper()
	f.n++
	in := cns.NarrativeInput{Hypothesis: h}
	for _, e := range evidence {
		in.Evidence = append(in.Evidence, cns.Evidence{SourceID: "doi:10.1000/" + e, Content: "In a trial, " + h})
	}
	job := &cns.Job{ID: fmt.Sprintf("job_%04d", f.n), Project: "p", Kind: cns.JobSubmitNarrative, State: cns.JobRunning, Narrative: &in,
		CreatedAt: time.Unix(int64(f.n), 0)}
	return f.run(job)
}

func (f *fixture) run(job *cns.Job) *cns.SNO {
	f.t.Helper()
	ctx := context.Background()
	if _, _, err := f.store.CreateJob(ctx, job); err != nil {
		f.t.Fatal(err)
	}
	sno, err := f.eng.Build(ctx, job)
	if err != nil {
		f.t.Fatalf("build %s: %v", job.ID, err)
	}
	job.State = cns.JobSucceeded
	if err := f.store.CompleteJob(ctx, job, sno); err != nil {
		f.t.Fatal(err)
	}
	f.eng.Observe(sno)
	return sno
}

func pairNames(ps []cns.Pair) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.A + "+" + p.B
	}
	return out
}

func TestDiscoverPairsComesFromTheEvidenceIndex(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	pro := f.add("Regular exercise improves sleep quality in older adults.", "trial", "cohort")
	f.add("Urban green space lowers rates of depression.", "green")
	elsewhere := f.add("Regular exercise does not improve sleep quality in older adults.", "elsewhere") // chiral, no shared evidence
	agree := f.add("Regular exercise improves sleep quality in older adults.", "trial", "cohort")       // shares, agrees
	f.store.reads()

	contra := f.add("Regular exercise does not improve sleep quality in older adults.", "trial", "cohort")
	pairs, err := f.eng.DiscoverPairs(ctx, contra)
	if err != nil {
		t.Fatal(err)
	}
	// Only the SNOs sharing evidence were read: never an all-pairs sweep.
	if got, want := f.store.reads(), []string{pro.ID, agree.ID}; !slices.Equal(got, want) {
		t.Fatalf("discovery read %v, want only the SNOs sharing evidence %v", got, want)
	}
	a, b := cns.OrderPair(pro.ID, contra.ID)
	a2, b2 := cns.OrderPair(agree.ID, contra.ID)
	if got := pairNames(pairs); len(got) != 2 || !slices.Contains(got, a+"+"+b) || !slices.Contains(got, a2+"+"+b2) {
		t.Fatalf("pairs = %v (the agreeing SNO is the same text as pro, so both are chiral with contra)", got)
	}
	p := pairs[0]
	if p.Entanglement != 1 || len(p.SharedEvidenceIDs) != 2 || p.Chirality < 0.2 || len(p.ConflictPoints) == 0 || p.UpdatedAt.IsZero() {
		t.Fatalf("pair = %+v", p)
	}
	stored, err := f.eng.ListPairs(ctx, cns.PairFilter{Project: "p", SNOID: contra.ID})
	if err != nil || len(stored) != 2 {
		t.Fatalf("stored pairs: %v, %v", stored, err)
	}
	// The agreeing pair (pro, agree) is not chiral.
	if got, _, err := f.eng.FindPairs(ctx, PairQuery{Project: "p", SNOID: agree.ID, Thresholds: f.eng.DefaultThresholds(), Limit: 10}); err != nil ||
		slices.Contains(pairNames(got), func() string { x, y := cns.OrderPair(pro.ID, agree.ID); return x + "+" + y }()) {
		t.Fatalf("agreeing SNOs paired: %v, %v", pairNames(got), err)
	}
	_ = elsewhere

	// Thresholds of a query: minEntanglement above 1 keeps nothing; a page of one, then the next.
	got, more, err := f.eng.FindPairs(ctx, PairQuery{Project: "p", SNOID: contra.ID, Thresholds: relation.Thresholds{}, Limit: 1})
	if err != nil || len(got) != 1 || !more {
		t.Fatalf("first page: %v more=%v %v", pairNames(got), more, err)
	}
	next, more, err := f.eng.FindPairs(ctx, PairQuery{Project: "p", SNOID: contra.ID, Limit: 1,
		After: &cns.PairCursor{Potential: got[0].Potential, A: got[0].A, B: got[0].B}})
	if err != nil || len(next) != 1 || more || next[0].A+next[0].B == got[0].A+got[0].B {
		t.Fatalf("second page: %v more=%v %v", pairNames(next), more, err)
	}

	// Archived SNOs leave pair search: the index drops them and the population view skips their pairs.
	if _, err := f.eng.Archive(ctx, "p", pro.ID); err != nil {
		t.Fatal(err)
	}
	f.store.reads()
	pairs, _, err = f.eng.FindPairs(ctx, PairQuery{Project: "p", SNOID: contra.ID, Limit: 10})
	if err != nil || len(pairs) != 1 || slices.Contains(f.store.reads(), pro.ID) {
		t.Fatalf("after archiving pro: %v, %v", pairNames(pairs), err)
	}
	all, _, err := f.eng.FindPairs(ctx, PairQuery{Project: "p", Limit: 10})
	if err != nil || len(all) != 1 || all[0].A+"+"+all[0].B != a2+"+"+b2 {
		t.Fatalf("population pairs after archiving pro: %v, %v", pairNames(all), err)
	}
	if _, _, err := f.eng.FindPairs(ctx, PairQuery{Project: "p", SNOID: pro.ID, Limit: 10}); cns.ErrorCode(err) != cns.EFAILEDPRECOND {
		t.Fatalf("pairs of an archived SNO: %v", err)
	}
}

func TestSynthesizeJob(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *LoopConfig) { c.AcceptTrust, c.RejectTrust = 0.99, 0 })
	ctx := context.Background()
	a := f.add("Regular exercise improves sleep quality in older adults.", "trial", "cohort")
	b := f.add("Regular exercise does not improve sleep quality in older adults.", "trial", "other")
	x, y := cns.OrderPair(a.ID, b.ID)
	job := &cns.Job{ID: "job_synth", Project: "p", Kind: cns.JobSynthesizePair, State: cns.JobRunning,
		Synthesis: &cns.SynthesisInput{A: x, B: y, Generator: synthesis.BuiltinName}}
	s := f.run(job)
	if s.ID != "sno_synth" || !slices.Equal(s.Lineage.Parents, []string{x, y}) || s.Lineage.Generator != synthesis.BuiltinName ||
		s.Lineage.Entanglement != 1.0/3 || s.Lineage.Chirality <= 0 || s.Status != cns.StatusReview || s.Trust <= 0 || len(s.Critics) != 3 {
		t.Fatalf("synthesized %+v", s)
	}
	ids := cns.EvidenceIDs(s.Evidence)
	if _, ok := ids["doi:10.1000/trial"]; !ok || len(ids) != 3 {
		t.Fatalf("synthesis evidence %v: want the union, shared included", ids)
	}
	// A synthesis and its parent share evidence by construction; discovery never pairs them.
	s.Status = cns.StatusActive
	if err := f.store.PutSNO(ctx, s); err != nil {
		t.Fatal(err)
	}
	f.eng.Observe(s)
	pairs, err := f.eng.DiscoverPairs(ctx, s)
	if err != nil || len(pairs) != 0 {
		t.Fatalf("a synthesis paired with its parents: %v, %v", pairNames(pairs), err)
	}

	// A job claimed for another generator version is left to a worker running it.
	other := &cns.Job{ID: "job_other", Project: "p", Kind: cns.JobSynthesizePair, Synthesis: &cns.SynthesisInput{A: x, B: y, Generator: "synthesis/builtin@0"}}
	if _, err := f.eng.Build(ctx, other); cns.ErrorCode(err) != cns.EUNAVAILABLE {
		t.Fatalf("other generator: %v", err)
	}
	missing := &cns.Job{ID: "job_missing", Project: "p", Kind: cns.JobSynthesizePair, Synthesis: &cns.SynthesisInput{A: x, B: "zz", Generator: synthesis.BuiltinName}}
	if _, err := f.eng.Build(ctx, missing); cns.ErrorCode(err) != cns.ENOTFOUND {
		t.Fatalf("missing parent: %v", err)
	}

	// Review: approve once; a second decision is refused.
	s.Status = cns.StatusReview
	if err := f.store.PutSNO(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := f.eng.Review(ctx, "p", s.ID, cns.ReviewApprove)
	if err != nil || got.Status != cns.StatusActive || got.Metadata["review.decision"] != "approve" {
		t.Fatalf("approve: %+v, %v", got, err)
	}
	if !f.eng.isActive("p", s.ID) {
		t.Fatal("an approved SNO is not in the population view")
	}
	if _, err := f.eng.Review(ctx, "p", s.ID, cns.ReviewReject); cns.ErrorCode(err) != cns.EFAILEDPRECOND {
		t.Fatalf("second decision: %v", err)
	}
}

func TestAdmit(t *testing.T) {
	t.Parallel()
	c := LoopConfig{AcceptTrust: 0.75, RejectTrust: 0.45}
	for _, x := range []struct {
		t    float64
		want cns.Status
	}{{0.9, cns.StatusActive}, {0.75, cns.StatusActive}, {0.7499, cns.StatusReview}, {0.45, cns.StatusReview}, {0.4499, cns.StatusRejected}, {0, cns.StatusRejected}} {
		if got := c.Admit(x.t); got != x.want {
			t.Errorf("Admit(%v) = %s, want %s", x.t, got, x.want)
		}
	}
}

func TestEnforcePopulation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *LoopConfig) { c.Population = population.Policy{MaxActive: 3} })
	ctx := context.Background()
	var snos []*cns.SNO
	for i, tr := range []float64{0.9, 0.2, 0.1, 0.5, 0.3} {
		s := f.add(fmt.Sprintf("Hypothesis number %d about something.", i), fmt.Sprintf("e%d", i))
		s.Trust = tr
		if err := f.store.PutSNO(ctx, s); err != nil {
			t.Fatal(err)
		}
		f.eng.Observe(s)
		snos = append(snos, s)
	}
	// snos[2] (0.1) is the parent of an ACTIVE synthesis: protected.
	child := f.add("A synthesis.", "e2")
	child.Lineage.Parents = []string{snos[2].ID, snos[0].ID}
	child.Trust = 0.95
	if err := f.store.PutSNO(ctx, child); err != nil {
		t.Fatal(err)
	}
	f.eng.Observe(child)
	archived, err := f.eng.EnforcePopulation(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{snos[1].ID, snos[4].ID, snos[3].ID} // 0.2, 0.3, 0.5: six ACTIVE down to three
	if !slices.Equal(archived, want) {
		t.Fatalf("archived %v, want %v", archived, want)
	}
	for _, id := range want {
		s, err := f.store.GetSNO(ctx, "p", id)
		if err != nil || s.Status != cns.StatusArchived || f.eng.isActive("p", id) {
			t.Fatalf("%s after enforcement: %+v %v", id, s, err)
		}
	}
	if again, err := f.eng.EnforcePopulation(ctx, "p"); err != nil || len(again) != 0 {
		t.Fatalf("second enforcement: %v, %v", again, err)
	}
}

func TestLoopOff(t *testing.T) {
	t.Parallel()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "cns.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	emb, nli, _ := nlp.New(nlp.BackendBuiltin, 64)
	eng, err := New(Config{Limits: cns.DefaultLimits(), Critic: critic.DefaultConfig()}, st, emb, nli)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := eng.FindPairs(context.Background(), PairQuery{Project: "p"}); cns.ErrorCode(err) != cns.EFAILEDPRECOND {
		t.Fatalf("FindPairs without the loop: %v", err)
	}
	job := &cns.Job{ID: "j", Project: "p", Kind: cns.JobSynthesizePair, Synthesis: &cns.SynthesisInput{A: "a", B: "b", Generator: "g"}}
	if _, err := eng.Build(context.Background(), job); cns.ErrorCode(err) != cns.EFAILEDPRECOND {
		t.Fatalf("synthesis without the loop: %v", err)
	}
	if err := eng.EnableLoop(LoopConfig{Relation: relation.DefaultConfig(), AcceptTrust: 0.4, RejectTrust: 0.5}, st, nli, synthesis.Builtin{}); cns.ErrorCode(err) != cns.EINVALID {
		t.Fatalf("reject above accept: %v", err)
	}
}

// TestObserveReplica: a view that observes only the replicas of SNOs (what another process's
// announcements carry) holds what a view observing the whole SNOs holds — index, trust, novelty
// sources and the pair loop's members — for ingested, submitted, synthesized and archived SNOs.
func TestObserveReplica(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *LoopConfig) { c.AcceptTrust, c.RejectTrust = 0.99, 0 })
	replica := newFixture(t, nil).eng
	var all []*cns.SNO
	a := f.add("Regular exercise improves sleep quality in older adults.", "trial", "cohort")
	b := f.add("Regular exercise does not improve sleep quality in older adults.", "trial", "other")
	a.Metadata = map[string]string{"source": "doi:10.1000/meta", "other": "x"}
	b.Source = "https://example.org/b"
	x, y := cns.OrderPair(a.ID, b.ID)
	s := f.run(&cns.Job{ID: "job_synth", Project: "p", Kind: cns.JobSynthesizePair, State: cns.JobRunning,
		Synthesis: &cns.SynthesisInput{A: x, B: y, Generator: synthesis.BuiltinName}})
	s.Status = cns.StatusActive // a synthesis with parents, admitted
	c := f.add("Coffee intake raises blood pressure in adults.", "coffee")
	archived := *c
	archived.Status = cns.StatusArchived
	all = append(all, a, b, s, c, &archived)
	for _, sno := range all {
		f.eng.Observe(sno)
		replica.Observe(Replica(sno))
	}
	if len(f.eng.trust["p"]) != 3 {
		t.Fatalf("the full view holds %v, want 3 active SNOs", f.eng.trust["p"])
	}
	if !reflect.DeepEqual(f.eng.trust, replica.trust) || !reflect.DeepEqual(f.eng.source, replica.source) {
		t.Fatalf("trust %v / %v, sources %v / %v", f.eng.trust, replica.trust, f.eng.source, replica.source)
	}
	if !reflect.DeepEqual(f.eng.loop.members, replica.loop.members) {
		t.Fatalf("loop members %v, replica's %v", f.eng.loop.members, replica.loop.members)
	}
	full, rep := f.eng.index.For("p"), replica.index.For("p")
	for _, sno := range all {
		h1, err1 := full.Search(sno.Embedding, 10)
		h2, err2 := rep.Search(sno.Embedding, 10)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(h1, h2) {
			t.Fatalf("search for %s: %v, %v; replica's %v, %v", sno.ID, h1, err1, h2, err2)
		}
	}
}
