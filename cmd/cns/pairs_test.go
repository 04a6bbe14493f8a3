package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/cns-dev/cns/auth"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
)

// Two narratives that disagree over the same trials: the second negates the first's hypothesis and
// cites the same two sources, each saying something about the question.
var (
	sleepEvidence = []*cnsv1.Evidence{
		{SourceId: "doi:10.5555/sleep.trial", Content: "In a randomized trial of 400 older adults, regular exercise improved sleep quality over six months.", SupportsClaimIds: []string{"c1"}},
		{SourceId: "https://example.org/cohort/sleep", Content: "In a cohort of 2,000 older adults, regular exercise did not improve sleep quality after adjustment for baseline health.", SupportsClaimIds: []string{"c2"}},
	}
	proExercise = &cnsv1.SubmitNarrativeRequest{
		Hypothesis: "Regular exercise improves sleep quality in older adults.",
		Claims: []*cnsv1.Claim{
			{ClaimId: "c1", Text: "A randomized trial of older adults found that regular exercise improved sleep quality."},
			{ClaimId: "c2", Text: "The cohort adjusted for baseline health, which may hide the effect of exercise."},
		},
		Edges: []*cnsv1.Edge{
			{From: "c1", To: "root", Relation: cnsv1.Relation_RELATION_SUPPORTS, Strength: 0.9},
			{From: "c2", To: "root", Relation: cnsv1.Relation_RELATION_SUPPORTS, Strength: 0.4},
		},
		Evidence: sleepEvidence,
	}
	contraExercise = &cnsv1.SubmitNarrativeRequest{
		Hypothesis: "Regular exercise does not improve sleep quality in older adults.",
		Claims: []*cnsv1.Claim{
			{ClaimId: "c1", Text: "A large cohort of older adults found that regular exercise did not improve sleep quality."},
			{ClaimId: "c2", Text: "The trial was short and its participants were healthier than most older adults."},
		},
		Edges: []*cnsv1.Edge{
			{From: "c1", To: "root", Relation: cnsv1.Relation_RELATION_SUPPORTS, Strength: 0.9},
			{From: "c2", To: "root", Relation: cnsv1.Relation_RELATION_SUPPORTS, Strength: 0.5},
		},
		Evidence: []*cnsv1.Evidence{
			{SourceId: "https://doi.org/10.5555/SLEEP.TRIAL", Content: sleepEvidence[0].Content, SupportsClaimIds: []string{"c2"}},
			{SourceId: "https://www.example.org/cohort/sleep/", Content: sleepEvidence[1].Content, SupportsClaimIds: []string{"c1"}},
		},
	}
	// unrelated shares no evidence with either.
	unrelated = &cnsv1.SubmitNarrativeRequest{
		Hypothesis: "Urban green space lowers rates of depression.",
		Evidence:   []*cnsv1.Evidence{{SourceId: "doi:10.5555/green", Content: "Residents near parks reported fewer depressive symptoms."}},
	}
)

func submit(t *testing.T, b *bundle, req *cnsv1.SubmitNarrativeRequest) *cnsv1.Job {
	t.Helper()
	resp, err := b.grpc.SubmitNarrative(context.Background(), authed(b.token, req))
	if err != nil {
		t.Fatal(err)
	}
	job := waitJob(t, b, resp.Msg.JobId)
	if job.State != cnsv1.JobState_JOB_STATE_SUCCEEDED {
		t.Fatalf("submit %q: job %v", req.Hypothesis, job)
	}
	return job
}

// synthesisJobs lists the project's synthesize_pair jobs.
func synthesisJobs(t *testing.T, b *bundle) []*cnsv1.Job {
	t.Helper()
	resp, err := b.grpc.ListJobs(context.Background(), authed(b.token, &cnsv1.ListJobsRequest{PageSize: 1000}))
	if err != nil {
		t.Fatal(err)
	}
	var out []*cnsv1.Job
	for _, j := range resp.Msg.Jobs {
		if j.Kind == cnsv1.JobKind_JOB_KIND_SYNTHESIZE_PAIR {
			out = append(out, j)
		}
	}
	return out
}

// TestChiralPairToSynthesisEndToEnd is the end-to-end check in `cns dev`: two conflicting
// narratives sharing evidence → a discovered pair → a synthesized SNO with lineage, evidence ⊇ the
// shared evidence and a trust score, readable through the API; the same pair is never synthesized twice.
func TestChiralPairToSynthesisEndToEnd(t *testing.T) {
	t.Parallel()
	b := start(t, options{})
	ctx := context.Background()
	a := submit(t, b, proExercise).SnoId
	submit(t, b, unrelated)
	bID := submit(t, b, contraExercise).SnoId

	// Discovery ran when the second narrative was admitted; the pair is readable with the JSON shape
	// clients rely on (thresholds omitted: the configured defaults).
	status, out := postJSON(t, b, b.token, "/cns.v1.NarrativeService/FindChiralPairs", fmt.Sprintf(`{"snoId": %q}`, bID))
	if status != 200 {
		t.Fatalf("FindChiralPairs: %d %v", status, out)
	}
	pairs, _ := out["pairs"].([]any)
	if len(pairs) != 1 {
		t.Fatalf("FindChiralPairs for %s = %v, want the one pair with %s", bID, out, a)
	}
	p := pairs[0].(map[string]any)
	wantA, wantB := min(a, bID), max(a, bID)
	if p["snoA"] != wantA || p["snoB"] != wantB {
		t.Fatalf("pair = %v, want snoA %s snoB %s", p, wantA, wantB)
	}
	for _, k := range []string{"chirality", "entanglement", "potential"} {
		if x, ok := p[k].(float64); !ok || x <= 0 || x > 1.2 {
			t.Fatalf("pair %s = %v", k, p[k])
		}
	}
	if p["entanglement"].(float64) != 1 {
		t.Fatalf("both cite the same two sources (written differently): entanglement %v, want 1", p["entanglement"])
	}
	shared := p["sharedEvidenceIds"].([]any)
	if len(shared) != 2 || shared[0] != "doi:10.5555/sleep.trial" || shared[1] != "url:https://example.org/cohort/sleep" {
		t.Fatalf("sharedEvidenceIds = %v", shared)
	}
	cps, _ := p["conflictPoints"].([]any)
	if len(cps) == 0 || len(cps) > 5 {
		t.Fatalf("conflictPoints = %v, want 1..5 (the hypotheses contradict each other)", p["conflictPoints"])
	}
	// Discovery stores the pair after the job succeeded (the worker's hook): the population view and the
	// stored list show it once it did. Explicit thresholds above the pair's filter it out.
	waitFor(t, "the discovered pair to be stored", func() bool {
		lp, err := b.grpc.ListPairs(ctx, authed(b.token, &cnsv1.ListPairsRequest{}))
		return err == nil && len(lp.Msg.Pairs) == 1
	})
	if status, out := postJSON(t, b, b.token, "/cns.v1.NarrativeService/FindChiralPairs", `{"limit": 10}`); status != 200 || len(out["pairs"].([]any)) != 1 {
		t.Fatalf("population FindChiralPairs: %d %v", status, out)
	}
	if status, out := postJSON(t, b, b.token, "/cns.v1.NarrativeService/FindChiralPairs",
		fmt.Sprintf(`{"snoId": %q, "minChirality": 1, "minEntanglement": 0}`, bID)); status != 200 || out["pairs"] != nil && len(out["pairs"].([]any)) != 0 {
		t.Fatalf("FindChiralPairs with minChirality 1: %d %v", status, out)
	}
	lp, err := b.grpc.ListPairs(ctx, authed(b.token, &cnsv1.ListPairsRequest{SnoId: a}))
	if err != nil || len(lp.Msg.Pairs) != 1 || lp.Msg.Pairs[0].SnoB != wantB {
		t.Fatalf("ListPairs(%s) = %v, %v", a, lp, err)
	}

	// Discovery queued the synthesis (synthesis.auto_per_sno = 1); asking for it, in either order and
	// again, answers the same job.
	status, out = postJSON(t, b, b.token, "/cns.v1.NarrativeService/SynthesizePair", fmt.Sprintf(`{"snoA": %q, "snoB": %q}`, bID, a))
	if status != 200 || out["jobId"] == "" {
		t.Fatalf("SynthesizePair: %d %v", status, out)
	}
	jobID := out["jobId"].(string)
	again, err := b.connect.SynthesizePair(ctx, authed(b.token, &cnsv1.SynthesizePairRequest{SnoA: a, SnoB: bID}))
	if err != nil || again.Msg.JobId != jobID {
		t.Fatalf("SynthesizePair again = %v, %v; want the same job %s", again, err, jobID)
	}
	job := waitJob(t, b, jobID)
	if job.State != cnsv1.JobState_JOB_STATE_SUCCEEDED || job.Kind != cnsv1.JobKind_JOB_KIND_SYNTHESIZE_PAIR || job.SnoId == "" {
		t.Fatalf("synthesis job = %v", job)
	}
	got, err := b.grpc.GetSNO(ctx, authed(b.token, &cnsv1.GetSNORequest{SnoId: job.SnoId}))
	if err != nil {
		t.Fatal(err)
	}
	sno := got.Msg.Sno
	if l := sno.Lineage; !slices.Equal(l.Parents, []string{wantA, wantB}) || l.Generator != "synthesis/builtin@1" || l.Strategy == "" ||
		l.Chirality <= 0 || l.Entanglement != 1 {
		t.Fatalf("lineage = %v", l)
	}
	var ids []string
	for _, e := range sno.Evidence {
		ids = append(ids, e.EvidenceId)
	}
	for _, s := range shared {
		if !slices.Contains(ids, s.(string)) {
			t.Fatalf("synthesis evidence %v lacks shared evidence %s", ids, s)
		}
	}
	if sno.TrustScore <= 0 || len(sno.Critics) != 3 || sno.Status == cnsv1.SnoStatus_SNO_STATUS_UNSPECIFIED {
		t.Fatalf("synthesis not scored: trust %v critics %d status %v", sno.TrustScore, len(sno.Critics), sno.Status)
	}
	t.Logf("synthesized %s (%s, trust %.3f): %s", sno.SnoId, sno.Status, sno.TrustScore, sno.Hypothesis)

	// Never twice: re-submitting the pro narrative (a new SNO) pairs again, but the original pair keeps
	// its single synthesis job.
	if n := len(synthesisJobs(t, b)); n != 1 {
		t.Fatalf("%d synthesis jobs, want 1", n)
	}
}

func TestPairAndReviewErrors(t *testing.T) {
	t.Parallel()
	// Every synthesis waits for review; one synthesis per hour; nothing automatic.
	b := start(t, options{set: map[string]string{"synthesis.accept_trust": "0.99", "synthesis.reject_trust": "0",
		"synthesis.auto_per_sno": "0", "synthesis.max_per_hour": "1", "synthesis.cooldown": "0s"}})
	ctx := context.Background()
	a := submit(t, b, proExercise).SnoId
	bID := submit(t, b, contraExercise).SnoId
	c := submit(t, b, unrelated).SnoId
	if n := len(synthesisJobs(t, b)); n != 0 {
		t.Fatalf("%d synthesis jobs with auto_per_sno 0", n)
	}

	_, err := b.grpc.FindChiralPairs(ctx, authed(b.token, &cnsv1.FindChiralPairsRequest{SnoId: a, MinChirality: ptr(1.5), Limit: -1}))
	wantViolation(t, err, connect.CodeInvalidArgument, "minChirality")
	wantViolation(t, err, connect.CodeInvalidArgument, "limit")
	_, err = b.grpc.FindChiralPairs(ctx, authed(b.token, &cnsv1.FindChiralPairsRequest{SnoId: "sno_missing"}))
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("FindChiralPairs of a missing SNO: %v", err)
	}
	_, err = b.grpc.FindChiralPairs(ctx, authed(b.token, &cnsv1.FindChiralPairsRequest{PageToken: "garbage"}))
	wantViolation(t, err, connect.CodeInvalidArgument, "pageToken")
	_, err = b.grpc.SynthesizePair(ctx, authed(b.token, &cnsv1.SynthesizePairRequest{SnoA: a, SnoB: a}))
	wantViolation(t, err, connect.CodeInvalidArgument, "snoB")
	_, err = b.grpc.SynthesizePair(ctx, authed(b.token, &cnsv1.SynthesizePairRequest{SnoA: a}))
	wantViolation(t, err, connect.CodeInvalidArgument, "snoB")
	_, err = b.grpc.SynthesizePair(ctx, authed(b.token, &cnsv1.SynthesizePairRequest{SnoA: a, SnoB: "sno_missing"}))
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("SynthesizePair with a missing SNO: %v", err)
	}

	// Any two ACTIVE SNOs may be synthesized on request, even below the thresholds; the hourly budget
	// of 1 then refuses another pair with ResourceExhausted, but never the pair already queued.
	resp, err := b.grpc.SynthesizePair(ctx, authed(b.token, &cnsv1.SynthesizePairRequest{SnoA: a, SnoB: bID}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.grpc.SynthesizePair(ctx, authed(b.token, &cnsv1.SynthesizePairRequest{SnoA: a, SnoB: c}))
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("SynthesizePair over the hourly budget: %v, want ResourceExhausted", err)
	}
	if again, err := b.grpc.SynthesizePair(ctx, authed(b.token, &cnsv1.SynthesizePairRequest{SnoA: bID, SnoB: a})); err != nil || again.Msg.JobId != resp.Msg.JobId {
		t.Fatalf("SynthesizePair of the queued pair over the budget: %v, %v", again, err)
	}
	job := waitJob(t, b, resp.Msg.JobId)
	if job.State != cnsv1.JobState_JOB_STATE_SUCCEEDED {
		t.Fatalf("synthesis job %v", job)
	}

	// The synthesis waits for review; approving makes it ACTIVE, and a second decision is refused.
	q, err := b.grpc.ListReviewQueue(ctx, authed(b.token, &cnsv1.ListReviewQueueRequest{}))
	if err != nil || len(q.Msg.Snos) != 1 || q.Msg.Snos[0].SnoId != job.SnoId || q.Msg.Snos[0].Status != cnsv1.SnoStatus_SNO_STATUS_REVIEW {
		t.Fatalf("ListReviewQueue = %v, %v; want %s", q, err, job.SnoId)
	}
	_, err = b.grpc.ReviewSNO(ctx, authed(b.token, &cnsv1.ReviewSNORequest{SnoId: job.SnoId}))
	wantViolation(t, err, connect.CodeInvalidArgument, "decision")
	status, out := postJSON(t, b, b.token, "/cns.v1.NarrativeService/ReviewSNO", fmt.Sprintf(`{"snoId": %q, "decision": "REVIEW_DECISION_APPROVE"}`, job.SnoId))
	if status != 200 || out["sno"].(map[string]any)["status"] != "SNO_STATUS_ACTIVE" {
		t.Fatalf("ReviewSNO approve: %d %v", status, out)
	}
	_, err = b.grpc.ReviewSNO(ctx, authed(b.token, &cnsv1.ReviewSNORequest{SnoId: job.SnoId, Decision: cnsv1.ReviewDecision_REVIEW_DECISION_REJECT}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("ReviewSNO of an ACTIVE SNO: %v, want FailedPrecondition", err)
	}
	if q, err := b.grpc.ListReviewQueue(ctx, authed(b.token, &cnsv1.ListReviewQueueRequest{})); err != nil || len(q.Msg.Snos) != 0 {
		t.Fatalf("review queue after the decision: %v, %v", q, err)
	}

	// An archived SNO leaves pair search.
	if _, err := b.grpc.ArchiveSNO(ctx, authed(b.token, &cnsv1.ArchiveSNORequest{SnoId: bID})); err != nil {
		t.Fatal(err)
	}
	_, err = b.grpc.FindChiralPairs(ctx, authed(b.token, &cnsv1.FindChiralPairsRequest{SnoId: bID}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("FindChiralPairs of an archived SNO: %v", err)
	}
	if fp, err := b.grpc.FindChiralPairs(ctx, authed(b.token, &cnsv1.FindChiralPairsRequest{SnoId: a, MinChirality: ptr(0.0), MinEntanglement: ptr(0.0)})); err != nil || len(fp.Msg.Pairs) != 0 {
		t.Fatalf("pairs of %s after archiving its partner: %v, %v", a, fp, err)
	}

	// A token without sno:write cannot synthesize; the read RPCs work with sno:read.
	readOnly := mintToken(t, b, "sno:read")
	_, err = b.grpc.SynthesizePair(ctx, authed(readOnly, &cnsv1.SynthesizePairRequest{SnoA: a, SnoB: c}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("SynthesizePair with sno:read: %v", err)
	}
	if _, err := b.grpc.ListPairs(ctx, authed(readOnly, &cnsv1.ListPairsRequest{})); err != nil {
		t.Fatalf("ListPairs with sno:read: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// waitFor polls cond until it holds, failing the test after 20 s: for effects that follow a job's end
// asynchronously (pair discovery runs after the job is marked succeeded).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mintToken mints a dev-project token with the given permissions.
func mintToken(t *testing.T, b *bundle, perms ...string) string {
	t.Helper()
	secret, _ := b.m.projectSecret(b.m.Config.Auth.DevProject)
	now := time.Now()
	tok, err := auth.Mint(secret, auth.Claims{Project: b.m.Config.Auth.DevProject, Perms: perms, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
