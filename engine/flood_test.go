package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/critic"
	"github.com/cns-dev/cns/nlp"
	"github.com/cns-dev/cns/relation"
	"github.com/cns-dev/cns/store/bolt"
	"github.com/cns-dev/cns/synthesis"
)

// readCounter counts the SNOs pair discovery loads as candidates: the cost a pair storm would multiply.
type readCounter struct {
	*bolt.Store
	mu sync.Mutex
	n  int
}

func (r *readCounter) GetSNOs(ctx context.Context, project string, ids []string) ([]*cns.SNO, error) {
	r.mu.Lock()
	r.n += len(ids)
	r.mu.Unlock()
	return r.Store.GetSNOs(ctx, project, ids)
}

func (r *readCounter) reads() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// floodWorld is the real engine as `cns dev` composes it with its default configuration (critics,
// admission at 0.3, calibrated pair thresholds), over a bolt store in a temporary directory and the
// built-in NLP. process runs a job the way one worker slot does: Build, CompleteJob, Observe, then pair
// discovery (which the worker's loop only starts for ACTIVE SNOs; the engine refuses the others too).
type floodWorld struct {
	t     *testing.T
	eng   *Engine
	store *readCounter
	n     int

	// Writes of SNOs that are not ACTIVE run in the background (see process).
	writes  sync.WaitGroup
	slots   chan struct{}
	errMu   sync.Mutex
	writeEr error
}

func newFloodWorld(t *testing.T, cfg critic.Config) *floodWorld {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "cns.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rc := &readCounter{Store: st}
	emb, nli, err := nlp.New(nlp.BackendBuiltin, 256)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := New(Config{Limits: cns.DefaultLimits(), Critic: cfg, MinTrust: 0.3}, rc, emb, nli)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.EnableLoop(LoopConfig{Relation: relation.DefaultConfig(), AcceptTrust: 0.75, RejectTrust: 0.45}, rc, nli, synthesis.Builtin{}); err != nil {
		t.Fatal(err)
	}
	w := &floodWorld{t: t, eng: eng, store: rc, slots: make(chan struct{}, 64)}
	t.Cleanup(w.settle)
	return w
}

// settle waits for the background writes and fails the test if one failed.
func (w *floodWorld) settle() {
	w.writes.Wait()
	w.errMu.Lock()
	defer w.errMu.Unlock()
	if w.writeEr != nil {
		w.t.Fatalf("background write: %v", w.writeEr)
	}
}

// accept stores queued jobs for the documents at once, as the API does when a flood arrives (concurrent
// requests share bolt's batched transactions), and returns them in order.
func (w *floodWorld) accept(source string, texts []string) []*cns.Job {
	w.t.Helper()
	jobs := make([]*cns.Job, len(texts))
	errs := make([]error, len(texts))
	var wg sync.WaitGroup
	for i, text := range texts {
		w.n++
		jobs[i] = &cns.Job{ID: fmt.Sprintf("job_%05d", w.n), Project: "p", Kind: cns.JobIngestDocument, State: cns.JobQueued,
			Document: &cns.DocumentInput{Source: source, Text: text}, CreatedAt: time.Unix(int64(w.n), 0)}
		wg.Go(func() { _, _, errs[i] = w.store.CreateJob(context.Background(), jobs[i]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			w.t.Fatal(err)
		}
	}
	return jobs
}

// process runs one accepted job and returns its SNO and discovered pairs. Every job is built and
// observed in order, so each is judged against all earlier ones exactly as by one worker slot. An ACTIVE
// SNO then follows the worker to the letter: the writes before it land, it is stored, observed, and its
// pairs are discovered from the store. The store write of any other SNO (a rejected copy) is left to
// run in the background while the next job is built: the critics read only the in-memory view, nothing
// reads that SNO back before settle, and overlapping writes let bolt commit many in one transaction
// instead of paying a disk sync per copy. Pair discovery still runs for it (after its write), as a check
// that the engine refuses it.
func (w *floodWorld) process(job *cns.Job) (*cns.SNO, []cns.Pair) {
	w.t.Helper()
	ctx := context.Background()
	job.State = cns.JobRunning
	sno, err := w.eng.Build(ctx, job)
	if err != nil {
		w.t.Fatalf("build %s: %v", job.ID, err)
	}
	job.State = cns.JobSucceeded
	if sno.Status != cns.StatusActive {
		w.eng.Observe(sno)
		w.slots <- struct{}{}
		w.writes.Go(func() {
			defer func() { <-w.slots }()
			err := w.store.CompleteJob(ctx, job, sno)
			if err == nil {
				var pairs []cns.Pair
				if pairs, err = w.eng.DiscoverPairs(ctx, sno); err == nil && len(pairs) > 0 {
					err = fmt.Errorf("%s is %s yet has %d pairs", sno.ID, sno.Status, len(pairs))
				}
			}
			if err != nil {
				w.errMu.Lock()
				w.writeEr = errors.Join(w.writeEr, err)
				w.errMu.Unlock()
			}
		})
		return sno, nil
	}
	w.settle()
	if err := w.store.CompleteJob(ctx, job, sno); err != nil {
		w.t.Fatal(err)
	}
	w.eng.Observe(sno)
	pairs, err := w.eng.DiscoverPairs(ctx, sno)
	if err != nil {
		w.t.Fatalf("discover pairs of %s: %v", sno.ID, err)
	}
	return sno, pairs
}

// submit accepts and processes one document.
func (w *floodWorld) submit(source, text string) (*cns.SNO, []cns.Pair) {
	w.t.Helper()
	return w.process(w.accept(source, []string{text})[0])
}

// floodHypotheses are the bot's rewordings of one claim; with the built-in embedder each is within
// cosine 0.95 of the others (stopwords and punctuation barely move it), so they are near-duplicates.
var floodHypotheses = []string{
	"vaccine V17 causes autism in young children.",
	"the vaccine V17 causes autism in young children!",
	"vaccine V17 does cause autism in young children.",
	"vaccine V17 is causing autism in young children.",
	"vaccine V17 causes autism in our young children.",
}

// floodDoc is copy i of the flood: numbers and wording vary, the narrative and its one citation do not.
func floodDoc(i int) string {
	return fmt.Sprintf("Vaccine V17 is dangerous for young children. In a survey of %d parents, %d%% reported autism symptoms within weeks of the V17 shot (doi:10.5555/survey.2024). Families who refused V17 reported far fewer diagnoses. Therefore %s",
		200+(i*37)%900, 20+i%60, floodHypotheses[i%len(floodHypotheses)])
}

func floodScore(t *testing.T, s *cns.SNO) cns.CriticScore {
	t.Helper()
	n, ok := s.Critic(critic.NameNovelty)
	if !ok {
		t.Fatalf("%s has no novelty score", s.ID)
	}
	return n
}

// TestNarrativeFlooding is issue 7's flooding test: 1,000 near-duplicate narratives from one source,
// after five independent outlets published the same claim. The outlets corroborate each other and are
// all admitted; of the flood only the first FloodCluster−1 copies are, every later copy is flagged,
// capped below the admission threshold and REJECTED, so it never enters pair search: discovery loads
// no more candidates over the whole flood than over its first copies, and no pair involves the flood.
func TestNarrativeFlooding(t *testing.T) {
	t.Parallel()
	const floodSize = 1000
	const floodSource = "https://daily-truth.example/v17"
	cfg := critic.DefaultConfig()
	cfg.TrustFloor = 0.3 // as configured by default (critics.trust_floor)
	w := newFloodWorld(t, cfg)
	ctx := context.Background()

	var outlets []*cns.SNO
	for i := range 5 {
		s, _ := w.submit(fmt.Sprintf("https://outlet-%d.example/news/v17", i), floodDoc(1000+i))
		outlets = append(outlets, s)
	}
	for _, s := range outlets {
		n := floodScore(t, s)
		if s.Status != cns.StatusActive || n.SubScores["flooding"] != 0 {
			t.Fatalf("independent outlet %s (%s): status %s, trust %.3f, novelty %s", s.ID, s.Source, s.Status, s.Trust, n.Explanation)
		}
	}
	if n := floodScore(t, outlets[4]); n.SubScores["near_duplicates"] != 4 || n.SubScores["flood_cluster"] != 1 {
		t.Fatalf("fifth outlet: near-duplicates %v, cluster %v, want 4 and 1 (corroboration): %s",
			n.SubScores["near_duplicates"], n.SubScores["flood_cluster"], n.Explanation)
	}

	readsBefore := w.store.reads()
	var active, rejected []*cns.SNO
	var readsAfterAdmitted int
	texts := make([]string, floodSize)
	for i := range texts {
		texts[i] = floodDoc(i)
	}
	for i, job := range w.accept(floodSource, texts) {
		s, pairs := w.process(job)
		if len(pairs) > 0 {
			t.Fatalf("flood copy %d (%s) produced %d pairs", i, s.ID, len(pairs))
		}
		n := floodScore(t, s)
		switch s.Status {
		case cns.StatusActive:
			active = append(active, s)
			readsAfterAdmitted = w.store.reads()
			if n.SubScores["flooding"] != 0 {
				t.Fatalf("copy %d is ACTIVE yet flagged: %s", i, n.Explanation)
			}
		case cns.StatusRejected:
			rejected = append(rejected, s)
			if n.SubScores["flooding"] != 1 || n.Score != 0 || s.Trust > cfg.FloodTrustCap ||
				!strings.Contains(n.Explanation, "FLOODING") || !strings.Contains(n.Explanation, "url:https://daily-truth.example/v17") {
				t.Fatalf("copy %d rejected without the flood flag: trust %.3f, novelty %v %v: %s", i, s.Trust, n.Score, n.SubScores, n.Explanation)
			}
		default:
			t.Fatalf("copy %d has status %s", i, s.Status)
		}
	}
	w.settle()
	t.Logf("flood of %d from one source: %d admitted, %d flagged and rejected; discovery loaded %d candidates in all",
		floodSize, len(active), len(rejected), w.store.reads()-readsBefore)
	t.Logf("a flagged copy: trust %.3f; %s", rejected[0].Trust, floodScore(t, rejected[0]).Explanation)

	// The bound: the first FloodCluster−1 copies are admitted (they may be a source's correction or
	// update), every later one is flagged.
	if want := cfg.FloodCluster - 1; len(active) != want || len(rejected) != floodSize-want {
		t.Fatalf("%d copies ACTIVE and %d REJECTED, want %d and %d", len(active), len(rejected), want, floodSize-want)
	}
	if got := active[len(active)-1].ID; got != SNOIDForJob(fmt.Sprintf("job_%05d", 5+len(active))) {
		t.Fatalf("the admitted copies are not the first ones: last admitted %s", got)
	}
	// No pair storm: after the admitted copies, discovery loaded nothing more for 998 copies (their
	// discovery ran after their writes; settle waited for all of them).
	if got := w.store.reads(); got != readsAfterAdmitted {
		t.Fatalf("pair discovery loaded %d candidates after the last admitted copy", got-readsAfterAdmitted)
	}
	pairs, err := w.eng.ListPairs(ctx, cns.PairFilter{Project: "p"})
	if err != nil {
		t.Fatal(err)
	}
	flood := map[string]bool{}
	for _, s := range append(active, rejected...) {
		flood[s.ID] = true
	}
	for _, p := range pairs {
		if flood[p.A] || flood[p.B] {
			t.Fatalf("stored pair %s+%s involves the flood", p.A, p.B)
		}
	}
	// The store agrees: the project's ACTIVE population is the five outlets and the admitted copies.
	listed, err := w.store.ListSNOs(ctx, cns.SNOFilter{Project: "p", Statuses: []cns.Status{cns.StatusActive}})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(outlets) + cfg.FloodCluster - 1; len(listed) != want {
		t.Fatalf("%d ACTIVE SNOs in the store, want %d", len(listed), want)
	}
	if st, err := w.store.Stats(ctx, "p"); err != nil || st.SNOsByStatus[cns.StatusRejected] != len(rejected) {
		t.Fatalf("stored REJECTED SNOs: %v (%v), want %d", st.SNOsByStatus, err, len(rejected))
	}

	// The flood did not poison the claim: a sixth independent outlet is still admitted.
	s, _ := w.submit("doi:10.7777/independent-study", floodDoc(2000))
	if n := floodScore(t, s); s.Status != cns.StatusActive || n.SubScores["flooding"] != 0 {
		t.Fatalf("independent source after the flood: status %s, trust %.3f: %s", s.Status, s.Trust, n.Explanation)
	}
}

// TestFloodingWithoutDetection is the control: with flood detection off, every copy is admitted and pair
// discovery loads every earlier copy for each new one — the quadratic storm the flag prevents.
func TestFloodingWithoutDetection(t *testing.T) {
	t.Parallel()
	const copies = 25
	cfg := critic.DefaultConfig()
	cfg.TrustFloor = 0.3
	cfg.FloodCluster = 0
	w := newFloodWorld(t, cfg)
	texts := make([]string, copies)
	for i := range texts {
		texts[i] = floodDoc(i)
	}
	active := 0
	for _, job := range w.accept("https://daily-truth.example/v17", texts) {
		if s, _ := w.process(job); s.Status == cns.StatusActive {
			active++
		}
	}
	if active != copies {
		t.Fatalf("%d of %d copies ACTIVE without flood detection, want all", active, copies)
	}
	// Every copy shares the source document's evidence id, so copy k loads the k−1 before it.
	if got, want := w.store.reads(), copies*(copies-1)/2; got < want {
		t.Fatalf("discovery loaded %d candidates, want at least %d", got, want)
	}
}
