package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"go.uber.org/zap/zaptest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/cns-dev/cns/auth"
	"github.com/cns-dev/cns/configs"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
	"github.com/cns-dev/cns/proto/gen/cns/v1/cnsv1connect"
)

// bundle is a running `cns dev` composition on port 0 with the clients a test needs.
type bundle struct {
	m       *Main
	dir     string
	token   string // dev project, every permission
	connect cnsv1connect.NarrativeServiceClient
	grpc    cnsv1connect.NarrativeServiceClient
	admin   cnsv1connect.AdminServiceClient
}

type options struct {
	noWorkers bool
	dir       string
	set       map[string]string
	environ   []string
}

func start(t *testing.T, o options) *bundle {
	t.Helper()
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	set := map[string]string{"addr": "127.0.0.1:0", "data_dir": o.dir}
	for k, v := range o.set {
		set[k] = v
	}
	cfg, err := configs.Load(configs.Options{Set: set, Environ: func() []string { return o.environ }})
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg, Log: zaptest.NewLogger(t), NoWorkers: o.noWorkers}
	ctx := context.Background()
	if err := m.Open(ctx); err != nil {
		m.Close(ctx)
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		m.Close(ctx)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	tok, err := m.MintDevToken(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h2c := &http.Client{Transport: &http.Transport{Protocols: h2cOnly()}}
	return &bundle{
		m: m, dir: o.dir, token: tok,
		connect: cnsv1connect.NewNarrativeServiceClient(http.DefaultClient, m.URL()),
		grpc:    cnsv1connect.NewNarrativeServiceClient(h2c, m.URL(), connect.WithGRPC()),
		admin:   cnsv1connect.NewAdminServiceClient(h2c, m.URL(), connect.WithGRPC()),
	}
}

func h2cOnly() *http.Protocols {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &p
}

func authed[T any](tok string, msg *T) *connect.Request[T] {
	r := connect.NewRequest(msg)
	r.Header().Set("Authorization", "Bearer "+tok)
	return r
}

// postJSON calls a unary procedure the way curl does and returns the status and decoded body.
func postJSON(t *testing.T, b *bundle, tok, procedure, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.m.URL()+procedure, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: response is not JSON: %s", procedure, raw)
	}
	return resp.StatusCode, out
}

func waitJob(t *testing.T, b *bundle, id string) *cnsv1.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := b.grpc.WatchJob(ctx, authed(b.token, &cnsv1.WatchJobRequest{JobId: id}))
	if err != nil {
		t.Fatal(err)
	}
	var last *cnsv1.Job
	for stream.Receive() {
		last = stream.Msg().GetJob()
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("watch job %s: %v", id, err)
	}
	if last == nil || (last.State != cnsv1.JobState_JOB_STATE_SUCCEEDED && last.State != cnsv1.JobState_JOB_STATE_FAILED) {
		t.Fatalf("watch ended before the job did: %v", last)
	}
	return last
}

const abstract = `Vitamin D supplementation and fracture risk in older adults.
Vitamin D is widely prescribed to prevent fractures (doi:10.1001/jama.2017.19344). In a randomized trial of 2,256 women aged 70 years or older, an annual high dose of vitamin D increased the rate of falls by 15%. Because falls cause most fractures in this group, fracture risk also rose. However, smaller daily doses were not associated with harm (Smith et al., 2019). These results suggest that high annual doses of vitamin D increase fracture risk in older women.`

func TestIngestDocumentEndToEnd(t *testing.T) {
	t.Parallel()
	b := start(t, options{})
	body, _ := json.Marshal(map[string]any{"source": "doi:10.1001/jama.2010.594", "text": abstract, "metadata": map[string]string{"lang": "en"}})
	status, resp := postJSON(t, b, b.token, "/cns.v1.NarrativeService/IngestDocument", string(body))
	if status != http.StatusOK {
		t.Fatalf("ingest: %d %v", status, resp)
	}
	jobID, _ := resp["jobId"].(string)
	if !strings.HasPrefix(jobID, "job_") {
		t.Fatalf("no job id in %v", resp)
	}
	job := waitJob(t, b, jobID)
	if job.State != cnsv1.JobState_JOB_STATE_SUCCEEDED {
		t.Fatalf("job did not succeed: %v", job)
	}

	// GetJob and GetSNO as JSON, the shapes clients rely on.
	_, jr := postJSON(t, b, b.token, "/cns.v1.NarrativeService/GetJob", fmt.Sprintf(`{"jobId":%q}`, jobID))
	j := jr["job"].(map[string]any)
	if j["state"] != "JOB_STATE_SUCCEEDED" || j["snoId"] == "" || j["createdAt"] == nil || j["attempts"] != float64(1) {
		t.Fatalf("GetJob JSON: %v", j)
	}
	_, sr := postJSON(t, b, b.token, "/cns.v1.NarrativeService/GetSNO", fmt.Sprintf(`{"snoId":%q}`, j["snoId"]))
	sno := sr["sno"].(map[string]any)
	trust, ok := sno["trustScore"].(float64)
	if !ok || trust < 0 || trust > 1 {
		t.Fatalf("trustScore %v not in [0,1]: %v", sno["trustScore"], sno)
	}
	critics, _ := sno["critics"].([]any)
	names := map[string]bool{}
	for _, c := range critics {
		cm := c.(map[string]any)
		names[cm["name"].(string)] = true
		if s, _ := cm["score"].(float64); s < 0 || s > 1 {
			t.Errorf("critic %v score out of range", cm)
		}
		if cm["explanation"] == "" {
			t.Errorf("critic %v has no explanation", cm)
		}
	}
	if !names["grounding"] || !names["logic"] || !names["novelty"] {
		t.Fatalf("want three critics, got %v", critics)
	}
	if !strings.Contains(strings.ToLower(sno["hypothesis"].(string)), "vitamin d") {
		t.Errorf("hypothesis %q", sno["hypothesis"])
	}
	evidence, _ := sno["evidence"].([]any)
	ids := map[string]bool{}
	for _, e := range evidence {
		ids[e.(map[string]any)["evidenceId"].(string)] = true
	}
	if !ids["doi:10.1001/jama.2017.19344"] || !ids["doi:10.1001/jama.2010.594"] {
		t.Errorf("cited DOI and document source should be canonical evidence ids, got %v", ids)
	}
	if len(sno["claims"].([]any)) < 3 || len(sno["edges"].([]any)) < 2 {
		t.Errorf("graph too small: %v claims, %v edges", len(sno["claims"].([]any)), len(sno["edges"].([]any)))
	}
	if sno["status"] != "SNO_STATUS_ACTIVE" && sno["status"] != "SNO_STATUS_REJECTED" {
		t.Errorf("status %v", sno["status"])
	}

	// The same SNO over the Connect protocol with the binary codec.
	got, err := b.connect.GetSNO(context.Background(), authed(b.token, &cnsv1.GetSNORequest{SnoId: j["snoId"].(string)}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Msg.Sno.TrustScore != trust || len(got.Msg.Sno.Critics) != 3 {
		t.Fatalf("proto GetSNO differs: %v", got.Msg.Sno)
	}

	// Admin status sees it.
	st, err := b.admin.GetSystemStatus(context.Background(), authed(b.token, &cnsv1.GetSystemStatusRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if n := st.Msg.Population.Active + st.Msg.Population.Rejected; n != 1 || st.Msg.Jobs.Succeeded != 1 || len(st.Msg.Processes) != 1 || len(st.Msg.Queues) != 1 {
		t.Fatalf("status: %v", st.Msg)
	}
}

func TestSubmitNarrativeOverGRPCAndListing(t *testing.T) {
	t.Parallel()
	b := start(t, options{})
	ctx := context.Background()
	hyps := []string{
		"Regular aerobic exercise improves sleep quality in adults.",
		"Coffee consumption reduces the risk of type 2 diabetes.",
		"Urban green space lowers rates of depression.",
		"Screen time before bed delays sleep onset in teenagers.",
		"Mediterranean diets reduce cardiovascular mortality.",
	}
	var snoIDs []string
	for i, h := range hyps {
		req := &cnsv1.SubmitNarrativeRequest{
			Hypothesis: h,
			Claims: []*cnsv1.Claim{
				{ClaimId: "c1", Text: "A randomized trial found a clear effect."},
				{ClaimId: "c2", Text: "The effect persisted after adjustment for confounders."},
			},
			Edges: []*cnsv1.Edge{
				{From: "c1", To: "root", Relation: cnsv1.Relation_RELATION_SUPPORTS, Strength: 0.9},
				{From: "c2", To: "c1", Relation: cnsv1.Relation_RELATION_SUPPORTS},
			},
			Evidence:       []*cnsv1.Evidence{{SourceId: fmt.Sprintf("https://doi.org/10.5555/TRIAL.%d", i), Content: h + " A randomized trial found a clear effect.", SupportsClaimIds: []string{"c1"}}},
			IdempotencyKey: fmt.Sprintf("k%d", i),
		}
		resp, err := b.grpc.SubmitNarrative(ctx, authed(b.token, req))
		if err != nil {
			t.Fatal(err)
		}
		// A retry with the same idempotency key returns the same job.
		again, err := b.grpc.SubmitNarrative(ctx, authed(b.token, req))
		if err != nil || again.Msg.JobId != resp.Msg.JobId {
			t.Fatalf("idempotent retry: %v, %v vs %v", err, again.Msg.GetJobId(), resp.Msg.JobId)
		}
		job := waitJob(t, b, resp.Msg.JobId)
		if job.State != cnsv1.JobState_JOB_STATE_SUCCEEDED {
			t.Fatalf("job %v", job)
		}
		snoIDs = append(snoIDs, job.SnoId)
	}
	got, err := b.grpc.GetSNO(ctx, authed(b.token, &cnsv1.GetSNORequest{SnoId: snoIDs[0]}))
	if err != nil {
		t.Fatal(err)
	}
	if ev := got.Msg.Sno.Evidence; len(ev) != 1 || ev[0].EvidenceId != "doi:10.5555/trial.0" {
		t.Fatalf("evidence id not canonical: %v", ev)
	}

	// Pages of 2, ordered by trust, every SNO exactly once.
	seen := map[string]bool{}
	prev := 2.0
	token := ""
	for page := 0; ; page++ {
		resp, err := b.grpc.ListSNOs(ctx, authed(b.token, &cnsv1.ListSNOsRequest{PageSize: 2, PageToken: token}))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range resp.Msg.Snos {
			if seen[s.SnoId] || s.TrustScore > prev {
				t.Fatalf("page %d: duplicate or out of order: %s %.3f after %.3f", page, s.SnoId, s.TrustScore, prev)
			}
			seen[s.SnoId], prev = true, s.TrustScore
		}
		if token = resp.Msg.NextPageToken; token == "" {
			break
		}
		// A page token used with other filters is refused.
		_, err = b.grpc.ListSNOs(ctx, authed(b.token, &cnsv1.ListSNOsRequest{PageSize: 2, PageToken: token, Status: cnsv1.SnoStatus_SNO_STATUS_ACTIVE}))
		wantViolation(t, err, connect.CodeInvalidArgument, "pageToken")
	}
	if len(seen) != len(hyps) {
		t.Fatalf("listed %d SNOs, want %d", len(seen), len(hyps))
	}

	// Views (AIP-157): a list is BASIC unless FULL is asked for, which is what GetSNO returns.
	basic, err := b.grpc.ListSNOs(ctx, authed(b.token, &cnsv1.ListSNOsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	full, err := b.grpc.ListSNOs(ctx, authed(b.token, &cnsv1.ListSNOsRequest{View: cnsv1.SnoView_SNO_VIEW_FULL}))
	if err != nil {
		t.Fatal(err)
	}
	if len(basic.Msg.Snos) != len(hyps) || len(full.Msg.Snos) != len(hyps) {
		t.Fatalf("views list %d and %d SNOs, want %d", len(basic.Msg.Snos), len(full.Msg.Snos), len(hyps))
	}
	for i, s := range basic.Msg.Snos {
		f := full.Msg.Snos[i]
		one, err := b.grpc.GetSNO(ctx, authed(b.token, &cnsv1.GetSNORequest{SnoId: f.SnoId}))
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(f, one.Msg.Sno) {
			t.Fatalf("FULL view of %s differs from GetSNO", f.SnoId)
		}
		if len(s.Claims)+len(s.Edges)+len(s.Evidence) != 0 || len(f.Claims) == 0 || len(f.Edges) == 0 || len(f.Evidence) == 0 {
			t.Fatalf("BASIC view has %d claims, %d edges, %d evidence; FULL %d, %d, %d",
				len(s.Claims), len(s.Edges), len(s.Evidence), len(f.Claims), len(f.Edges), len(f.Evidence))
		}
		f.Claims, f.Edges, f.Evidence = nil, nil, nil
		if !proto.Equal(s, f) {
			t.Fatalf("BASIC view of %s differs from FULL beyond the graph and evidence:\n%v\n%v", f.SnoId, s, f)
		}
		if s.Hypothesis == "" || len(s.Critics) == 0 || s.TrustScore == 0 {
			t.Fatalf("BASIC view lacks what a list shows: %v", s)
		}
	}
	status, resp := postJSON(t, b, b.token, "/cns.v1.NarrativeService/ListSNOs", `{"view": 7}`)
	if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(resp), "view") {
		t.Fatalf("unknown view: %d %v", status, resp)
	}

	// Semantic search finds the sleep narrative first.
	sr, err := b.connect.SearchSNOs(ctx, authed(b.token, &cnsv1.SearchSNOsRequest{Query: "does exercise help people sleep better", K: 3}))
	if err != nil {
		t.Fatal(err)
	}
	if len(sr.Msg.Results) == 0 || sr.Msg.Results[0].Sno.SnoId != snoIDs[0] {
		t.Fatalf("search: %v", sr.Msg.Results)
	}

	// EvaluateSNO: a preset is a what-if; without one the scores are stored.
	ev, err := b.grpc.EvaluateSNO(ctx, authed(b.token, &cnsv1.EvaluateSNORequest{SnoId: snoIDs[0], Preset: "exploration"}))
	if err != nil || ev.Msg.Stored || ev.Msg.Sno.Critics[0].Weight == 0 {
		t.Fatalf("what-if evaluate: %v %v", err, ev)
	}
	_, err = b.grpc.EvaluateSNO(ctx, authed(b.token, &cnsv1.EvaluateSNORequest{SnoId: snoIDs[0], Preset: "fast"}))
	wantViolation(t, err, connect.CodeInvalidArgument, "preset")

	// Archive: out of search, still readable.
	if _, err := b.grpc.ArchiveSNO(ctx, authed(b.token, &cnsv1.ArchiveSNORequest{SnoId: snoIDs[0]})); err != nil {
		t.Fatal(err)
	}
	sr, err = b.connect.SearchSNOs(ctx, authed(b.token, &cnsv1.SearchSNOsRequest{Query: "does exercise help people sleep better", K: 5}))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sr.Msg.Results {
		if r.Sno.SnoId == snoIDs[0] {
			t.Fatal("archived SNO still searchable")
		}
	}
	arch, err := b.grpc.GetSNO(ctx, authed(b.token, &cnsv1.GetSNORequest{SnoId: snoIDs[0]}))
	if err != nil || arch.Msg.Sno.Status != cnsv1.SnoStatus_SNO_STATUS_ARCHIVED {
		t.Fatalf("archived SNO: %v %v", err, arch)
	}

	jobs, err := b.grpc.ListJobs(ctx, authed(b.token, &cnsv1.ListJobsRequest{State: cnsv1.JobState_JOB_STATE_SUCCEEDED}))
	if err != nil || len(jobs.Msg.Jobs) != len(hyps) {
		t.Fatalf("list jobs: %v %d", err, len(jobs.Msg.GetJobs()))
	}
}

func wantViolation(t *testing.T, err error, code connect.Code, field string) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != code {
		t.Fatalf("want %v, got %v", code, err)
	}
	if field == "" {
		return
	}
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		if br, ok := v.(*errdetails.BadRequest); ok {
			for _, fv := range br.FieldViolations {
				if fv.Field == field {
					return
				}
			}
			t.Fatalf("no violation on %q in %v", field, br.FieldViolations)
		}
	}
	t.Fatalf("no BadRequest detail in %v", err)
}

func TestBadInputGetsPreciseErrors(t *testing.T) {
	t.Parallel()
	b := start(t, options{set: map[string]string{"limits.max_document_bytes": "2048", "server.max_request_bytes": "65536"}})
	ctx := context.Background()
	ingest := func(text string) error {
		_, err := b.grpc.IngestDocument(ctx, authed(b.token, &cnsv1.IngestDocumentRequest{Text: text}))
		return err
	}
	wantViolation(t, ingest(""), connect.CodeInvalidArgument, "text")
	wantViolation(t, ingest("   \n"), connect.CodeInvalidArgument, "text")
	wantViolation(t, ingest(strings.Repeat("long text. ", 300)), connect.CodeInvalidArgument, "text")

	// Non-UTF-8 text cannot even be decoded as a proto3 string: JSON and proto both refuse it.
	status, resp := postJSON(t, b, b.token, "/cns.v1.NarrativeService/IngestDocument", "{\"text\": \"caf\xe9\"}")
	if status != http.StatusBadRequest || resp["code"] != "invalid_argument" {
		t.Fatalf("non-UTF-8 JSON: %d %v", status, resp)
	}
	status, resp = postJSON(t, b, b.token, "/cns.v1.NarrativeService/IngestDocument", `{"text": "unterminated`)
	if status != http.StatusBadRequest || resp["code"] != "invalid_argument" {
		t.Fatalf("malformed JSON: %d %v", status, resp)
	}
	status, resp = postJSON(t, b, b.token, "/cns.v1.NarrativeService/ListSNOs", `{"status": "SNO_STATUS_HAPPY"}`)
	if status != http.StatusBadRequest || resp["code"] != "invalid_argument" {
		t.Fatalf("unknown enum: %d %v", status, resp)
	}
	status, resp = postJSON(t, b, b.token, "/cns.v1.NarrativeService/ListSNOs", `{"stauts": "SNO_STATUS_ACTIVE"}`)
	if status != http.StatusBadRequest || resp["code"] != "invalid_argument" {
		t.Fatalf("unknown field: %d %v", status, resp)
	}
	status, resp = postJSON(t, b, b.token, "/cns.v1.NarrativeService/ListSNOs", `{"pageToken": "garbage"}`)
	if status != http.StatusBadRequest {
		t.Fatalf("bad page token: %d %v", status, resp)
	}

	submit := func(r *cnsv1.SubmitNarrativeRequest) error {
		_, err := b.grpc.SubmitNarrative(ctx, authed(b.token, r))
		return err
	}
	claims := []*cnsv1.Claim{{ClaimId: "a", Text: "Claim a."}, {ClaimId: "b", Text: "Claim b."}}
	wantViolation(t, submit(&cnsv1.SubmitNarrativeRequest{Hypothesis: "H.", Claims: claims, Edges: []*cnsv1.Edge{
		{From: "a", To: "b", Relation: cnsv1.Relation_RELATION_SUPPORTS},
		{From: "b", To: "a", Relation: cnsv1.Relation_RELATION_IMPLIES},
	}}), connect.CodeInvalidArgument, "edges[1]")
	wantViolation(t, submit(&cnsv1.SubmitNarrativeRequest{Hypothesis: "H.", Claims: claims, Edges: []*cnsv1.Edge{
		{From: "a", To: "ghost", Relation: cnsv1.Relation_RELATION_SUPPORTS},
	}}), connect.CodeInvalidArgument, "edges[0].to")
	wantViolation(t, submit(&cnsv1.SubmitNarrativeRequest{Hypothesis: "H.", Claims: claims, Edges: []*cnsv1.Edge{
		{From: "a", To: "root", Relation: 42},
	}}), connect.CodeInvalidArgument, "edges[0].relation")
	wantViolation(t, submit(&cnsv1.SubmitNarrativeRequest{Hypothesis: "H.", Evidence: []*cnsv1.Evidence{{Content: "anonymous"}}}),
		connect.CodeInvalidArgument, "evidence[0].evidenceId")
	wantViolation(t, submit(&cnsv1.SubmitNarrativeRequest{Hypothesis: "H.", Claims: []*cnsv1.Claim{{ClaimId: "root", Text: "x"}}}),
		connect.CodeInvalidArgument, "claims[0].claimId")

	_, err := b.grpc.GetSNO(ctx, authed(b.token, &cnsv1.GetSNORequest{SnoId: "sno_nope"}))
	wantViolation(t, err, connect.CodeNotFound, "")
	_, err = b.grpc.GetJob(ctx, authed(b.token, &cnsv1.GetJobRequest{}))
	wantViolation(t, err, connect.CodeInvalidArgument, "jobId")

	// Nothing half-written: no job was accepted by any of the above, and the server still serves.
	jobs, err := b.grpc.ListJobs(ctx, authed(b.token, &cnsv1.ListJobsRequest{}))
	if err != nil || len(jobs.Msg.Jobs) != 0 {
		t.Fatalf("rejected requests left jobs behind: %v %v", err, jobs)
	}
	if _, err := b.grpc.IngestDocument(ctx, authed(b.token, &cnsv1.IngestDocumentRequest{Text: "Exercise improves sleep. A trial showed it."})); err != nil {
		t.Fatalf("server stopped serving: %v", err)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	other := auth.EncodeSecret(bytes.Repeat([]byte{7}, 32))
	b := start(t, options{environ: []string{"CNS_AUTH__PROJECTS__ACME__SECRET=" + other}})
	ctx := context.Background()
	secretA, _ := b.m.projectSecret("dev")
	secretB, _ := auth.DecodeSecret(other)
	now := time.Now()
	mint := func(secret []byte, project string, perms []string, iat, exp time.Time) string {
		tok, err := auth.Mint(secret, auth.Claims{Project: project, Perms: perms, IssuedAt: iat, ExpiresAt: exp})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// A document in project dev.
	resp, err := b.grpc.IngestDocument(ctx, authed(b.token, &cnsv1.IngestDocumentRequest{Text: abstract}))
	if err != nil {
		t.Fatal(err)
	}
	job := waitJob(t, b, resp.Msg.JobId)

	get := func(tok string) error {
		r := connect.NewRequest(&cnsv1.GetSNORequest{SnoId: job.SnoId})
		if tok != "" {
			r.Header().Set("Authorization", "Bearer "+tok)
		}
		_, err := b.grpc.GetSNO(ctx, r)
		return err
	}
	all := auth.AllPerms()
	cases := []struct {
		name string
		tok  string
		code connect.Code
	}{
		{"missing", "", connect.CodeUnauthenticated},
		{"garbage", "not-a-token", connect.CodeUnauthenticated},
		{"forged", mint(bytes.Repeat([]byte{9}, 32), "dev", all, now, now.Add(time.Hour)), connect.CodeUnauthenticated},
		{"expired", mint(secretA, "dev", all, now.Add(-2*time.Hour), now.Add(-time.Hour)), connect.CodeUnauthenticated},
		{"another project's SNO", mint(secretB, "acme", all, now, now.Add(time.Hour)), connect.CodeNotFound},
		{"project claimed with another's secret", mint(secretB, "dev", all, now, now.Add(time.Hour)), connect.CodeUnauthenticated},
		{"no read permission", mint(secretA, "dev", []string{auth.PermSNOWrite}, now, now.Add(time.Hour)), connect.CodePermissionDenied},
	}
	for _, c := range cases {
		err := get(c.tok)
		if connect.CodeOf(err) != c.code {
			t.Errorf("%s: got %v, want %v", c.name, err, c.code)
		}
		if c.tok != "" && err != nil && strings.Contains(err.Error(), c.tok) {
			t.Errorf("%s: error echoes the token", c.name)
		}
	}
	if err := get(b.token); err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	// A read-only token cannot write; the admin service needs admin:read.
	ro := mint(secretA, "dev", []string{auth.PermSNORead}, now, now.Add(time.Hour))
	_, err = b.grpc.IngestDocument(ctx, authed(ro, &cnsv1.IngestDocumentRequest{Text: "x y z."}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("read-only ingest: %v", err)
	}
	_, err = b.admin.GetConfig(ctx, authed(ro, &cnsv1.GetConfigRequest{}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("read-only admin: %v", err)
	}
	// acme sees none of dev's jobs or SNOs.
	acme := mint(secretB, "acme", all, now, now.Add(time.Hour))
	jobs, err := b.grpc.ListJobs(ctx, authed(acme, &cnsv1.ListJobsRequest{}))
	if err != nil || len(jobs.Msg.Jobs) != 0 {
		t.Fatalf("acme sees jobs: %v %v", err, jobs)
	}
	snos, err := b.grpc.ListSNOs(ctx, authed(acme, &cnsv1.ListSNOsRequest{}))
	if err != nil || len(snos.Msg.Snos) != 0 {
		t.Fatalf("acme sees SNOs: %v %v", err, snos)
	}
	// Dead letters: reading needs admin:read, operating admin:write, and a bulk call must say what it hits.
	dls, err := b.admin.ListDeadLetters(ctx, authed(b.token, &cnsv1.ListDeadLettersRequest{}))
	if err != nil || len(dls.Msg.DeadLetters) != 0 {
		t.Fatalf("list dead letters: %v %v", err, dls)
	}
	_, err = b.admin.PurgeDeadLetters(ctx, authed(b.token, &cnsv1.PurgeDeadLettersRequest{}))
	wantViolation(t, err, connect.CodeInvalidArgument, "deadLetterIds")
	adminRO := mint(secretA, "dev", []string{auth.PermAdminRead}, now, now.Add(time.Hour))
	_, err = b.admin.RedriveDeadLetters(ctx, authed(adminRO, &cnsv1.RedriveDeadLettersRequest{All: true}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("redrive with admin:read: %v", err)
	}
	// GetConfig redacts the secret.
	cfg, err := b.admin.GetConfig(ctx, authed(b.token, &cnsv1.GetConfigRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range cfg.Msg.Entries {
		if strings.Contains(e.Value, other) {
			t.Fatalf("GetConfig leaks a secret: %v", e)
		}
	}
}

func TestRestartResumesJobs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := start(t, options{noWorkers: true, dir: dir})
	resp, err := first.grpc.IngestDocument(context.Background(), authed(first.token, &cnsv1.IngestDocumentRequest{Text: abstract}))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := start(t, options{dir: dir})
	job := waitJob(t, second, resp.Msg.JobId)
	if job.State != cnsv1.JobState_JOB_STATE_SUCCEEDED || job.SnoId == "" {
		t.Fatalf("resumed job: %v", job)
	}
}

func TestHealthReflectionMetricsAndCLI(t *testing.T) {
	t.Parallel()
	b := start(t, options{})
	// gRPC health over the Connect JSON protocol (what a curl-based probe does).
	status, resp := postJSON(t, b, "", "/grpc.health.v1.Health/Check", `{}`)
	if st, _ := resp["status"].(string); status != http.StatusOK || !strings.HasSuffix(st, "SERVING") {
		t.Fatalf("health: %d %v", status, resp)
	}
	r, err := http.Get(b.m.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !strings.Contains(string(body), "go_goroutines") {
		t.Fatalf("metrics: %s", body[:min(200, len(body))])
	}
	// cns token mints a token that the server accepts.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "--project", "dev", "--perm", "sno:read", "--data", b.dir}, &out, io.Discard, os.Getenv); err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(out.String())
	if _, err := b.grpc.ListSNOs(context.Background(), authed(tok, &cnsv1.ListSNOsRequest{})); err != nil {
		t.Fatalf("minted token refused: %v", err)
	}
	if err := run(context.Background(), []string{"token", "--project", "nobody", "--data", b.dir}, io.Discard, io.Discard, os.Getenv); err == nil {
		t.Fatal("token for an unknown project minted")
	}
	// config check lists every problem and fails.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("addr: x\nlog:\n  level: loud\n"), 0o600)
	err = run(context.Background(), []string{"config", "check", "--config", bad}, io.Discard, io.Discard, os.Getenv)
	if list, ok := configs.AsProblems(err); !ok || len(list) != 2 {
		t.Fatalf("config check: %v", err)
	}
	_ = structpb.NewNullValue
}
