package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
)

// TestLargeResponsesAreGzipped: a response above the compression threshold goes out gzipped to a client
// that accepts it (the server's own gzip, which the standard library's reader decodes), as it is to one
// that does not; small responses are never compressed.
func TestLargeResponsesAreGzipped(t *testing.T) {
	t.Parallel()
	b := start(t, options{})
	ctx := context.Background()
	var content strings.Builder
	for i := 0; content.Len() < 40<<10; i++ {
		fmt.Fprintf(&content, "Trial %d enrolled %d adults and measured sleep quality over %d weeks. ", i, 100+i*7, 4+i%9)
	}
	resp, err := b.grpc.SubmitNarrative(ctx, authed(b.token, &cnsv1.SubmitNarrativeRequest{
		Hypothesis: "Regular aerobic exercise improves sleep quality in adults.",
		Claims:     []*cnsv1.Claim{{ClaimId: "c1", Text: "Trials found better sleep quality with exercise."}},
		Edges:      []*cnsv1.Edge{{From: "c1", To: "root", Relation: cnsv1.Relation_RELATION_SUPPORTS}},
		Evidence:   []*cnsv1.Evidence{{SourceId: "https://doi.org/10.5555/SLEEP.1", Content: content.String(), SupportsClaimIds: []string{"c1"}}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	job := waitJob(t, b, resp.Msg.JobId)
	if job.State != cnsv1.JobState_JOB_STATE_SUCCEEDED {
		t.Fatalf("job %v", job)
	}

	post := func(procedure, body, acceptEncoding string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, b.m.URL()+procedure, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+b.token)
		req.Header.Set("Accept-Encoding", acceptEncoding) // set, so the transport leaves the body as sent
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		raw, _ := io.ReadAll(r.Body)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", procedure, r.StatusCode, raw)
		}
		return r, raw
	}
	getSNO := fmt.Sprintf(`{"snoId": %q}`, job.SnoId)
	plainResp, plain := post("/cns.v1.NarrativeService/GetSNO", getSNO, "identity")
	if ce := plainResp.Header.Get("Content-Encoding"); ce != "" {
		t.Fatalf("Content-Encoding %q for a client that accepts none", ce)
	}
	zipResp, zipped := post("/cns.v1.NarrativeService/GetSNO", getSNO, "gzip")
	if ce := zipResp.Header.Get("Content-Encoding"); ce != "gzip" {
		t.Fatalf("a %d-byte response went out with Content-Encoding %q, want gzip", len(plain), ce)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	var a, z struct {
		Sno struct {
			Evidence []struct{ Content string }
		}
	}
	if err := json.Unmarshal(plain, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(unzipped, &z); err != nil {
		t.Fatal(err)
	}
	if len(z.Sno.Evidence) != 1 || z.Sno.Evidence[0].Content != content.String() || len(a.Sno.Evidence) != 1 || a.Sno.Evidence[0].Content != content.String() {
		t.Fatal("evidence content differs from what was submitted")
	}
	if len(zipped)*2 > len(plain) {
		t.Fatalf("gzip took %d bytes to %d", len(plain), len(zipped))
	}
	t.Logf("GetSNO response: %d bytes, %d gzipped", len(plain), len(zipped))

	// gRPC: the Connect client accepts gzip and decodes the server's.
	got, err := b.grpc.GetSNO(ctx, authed(b.token, &cnsv1.GetSNORequest{SnoId: job.SnoId}))
	if err != nil {
		t.Fatal(err)
	}
	if ev := got.Msg.Sno.GetEvidence(); len(ev) != 1 || ev[0].Content != content.String() {
		t.Fatal("gRPC GetSNO: evidence content differs")
	}

	// Small responses are not worth compressing: the services', nor the health check's (which load
	// balancers call all the time) nor reflection's.
	for _, c := range []struct{ procedure, body string }{
		{"/cns.v1.NarrativeService/GetJob", fmt.Sprintf(`{"jobId": %q}`, job.JobId)},
		{"/grpc.health.v1.Health/Check", `{}`},
	} {
		smallResp, _ := post(c.procedure, c.body, "gzip")
		if ce := smallResp.Header.Get("Content-Encoding"); ce != "" {
			t.Errorf("%s: a small response went out with Content-Encoding %q", c.procedure, ce)
		}
	}
}
