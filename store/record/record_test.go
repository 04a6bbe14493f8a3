package record

import (
	"reflect"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/cns-dev/cns"
)

// Records written by builds before the CBOR codec, verbatim.
const (
	legacySNO  = `{"schema":1,"id":"sno_1","project":"p1","hypothesis":"H ✓","embedding":"mpkZP83MTD8=","graph":{"claims":[{"id":"root","text":"H ✓"},{"id":"c","text":"t"}],"edges":[{"from":"c","to":"root","relation":"weakens","strength":0.5}]},"evidence":[{"id":"doi:10.1/x","source_id":"s","content":"e","confidence":0.9,"supports":["c"]}],"trust":0.3,"critics":[{"name":"logic","score":1,"confidence":0.5,"weight":0.35,"explanation":"ok","sub_scores":{"cycles":0}}],"status":"review","lineage":{"parents":["a","b"],"strategy":"synthesis","generator":"g@1","chirality":0.4,"entanglement":0.6},"source":"src","metadata":{"k":"v"},"sno_schema":1,"job_id":"job_1","created_at":"2026-11-29T09:00:00.000000005Z","updated_at":"2026-11-29T09:00:00.000000005Z"}`
	legacyJob  = `{"schema":1,"id":"job_1","project":"p1","kind":"ingest_document","state":"running","attempts":2,"idempotency_key":"k","document":{"source":"s","text":"doc","metadata":{"a":"b"}},"created_at":"2026-11-29T09:00:00.000000005Z","updated_at":"2026-11-29T09:00:00.000000005Z","started_at":"2026-11-29T09:00:00.000000005Z"}`
	legacyPair = `{"schema":1,"project":"p1","a":"a","b":"b","chirality":0.5,"entanglement":0.25,"potential":0.3,"contradiction":0.9,"engagement":0.7,"shared_evidence":["doi:10.1/x"],"conflict_points":[{"claim_a":"c","claim_b":"d","text_a":"x","text_b":"y","contradiction":0.8}],"updated_at":"2026-11-29T09:00:00.000000005Z"}`
)

var at = time.Date(2026, 11, 29, 9, 0, 0, 5, time.UTC)

// The values the legacy records hold.
func fixtures() (*cns.SNO, *cns.Job, *cns.Pair) {
	sno := &cns.SNO{ID: "sno_1", Project: "p1", Hypothesis: "H ✓", Embedding: []float32{0.6, 0.8},
		Graph: cns.Graph{Claims: []cns.Claim{{ID: cns.RootClaimID, Text: "H ✓"}, {ID: "c", Text: "t"}},
			Edges: []cns.Edge{{From: "c", To: cns.RootClaimID, Relation: cns.RelationWeakens, Strength: 0.5}}},
		Evidence: []cns.Evidence{{ID: "doi:10.1/x", SourceID: "s", Content: "e", Confidence: 0.9, SupportsClaimIDs: []string{"c"}}},
		Trust:    0.3, Critics: []cns.CriticScore{{Name: "logic", Score: 1, Confidence: 0.5, Weight: 0.35, Explanation: "ok", SubScores: map[string]float64{"cycles": 0}}},
		Status: cns.StatusReview, Lineage: cns.Lineage{Parents: []string{"a", "b"}, Strategy: "synthesis", Generator: "g@1", Chirality: 0.4, Entanglement: 0.6},
		Source: "src", Metadata: map[string]string{"k": "v"}, SchemaVersion: 1, JobID: "job_1", CreatedAt: at, UpdatedAt: at}
	job := &cns.Job{ID: "job_1", Project: "p1", Kind: cns.JobIngestDocument, State: cns.JobRunning, Attempts: 2, IdempotencyKey: "k",
		Document: &cns.DocumentInput{Source: "s", Text: "doc", Metadata: map[string]string{"a": "b"}}, CreatedAt: at, UpdatedAt: at, StartedAt: at}
	pair := &cns.Pair{Project: "p1", A: "a", B: "b", Chirality: 0.5, Entanglement: 0.25, Potential: 0.3, Contradiction: 0.9, EvidenceEngagement: 0.7,
		SharedEvidenceIDs: []string{"doi:10.1/x"}, ConflictPoints: []cns.ConflictPoint{{ClaimA: "c", ClaimB: "d", TextA: "x", TextB: "y", Contradiction: 0.8}}, UpdatedAt: at}
	return sno, job, pair
}

func wantSame(t *testing.T, what string, want, got any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// TestLegacyJSONRecords: records written as JSON by older builds decode to what they held.
func TestLegacyJSONRecords(t *testing.T) {
	wantSNO, wantJob, wantPair := fixtures()
	sno, err := DecodeSNO([]byte(legacySNO))
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "legacy sno", wantSNO, sno)
	job, err := DecodeJob([]byte(legacyJob))
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "legacy job", wantJob, job)
	pair, err := DecodePair([]byte(legacyPair))
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "legacy pair", wantPair, pair)
}

// TestCBORRecords: records are CBOR maps with the same field names and spellings as the JSON ones
// (enums by name, the embedding as little-endian float32 bytes, times as RFC 3339 text), and round-trip.
func TestCBORRecords(t *testing.T) {
	sno, job, pair := fixtures()
	b, err := EncodeSNO(sno)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] < 0xa0 || b[0] > 0xbf {
		t.Fatalf("sno record starts with %#x, not a CBOR map", b[0])
	}
	var m map[string]any
	if err := cbor.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["schema"] != uint64(1) || m["status"] != "review" || !reflect.DeepEqual(m["embedding"], []byte{0x9a, 0x99, 0x19, 0x3f, 0xcd, 0xcc, 0x4c, 0x3f}) ||
		m["created_at"] != "2026-11-29T09:00:00.000000005Z" {
		t.Fatalf("sno record = %v", m)
	}
	if len(b) >= len(legacySNO) {
		t.Errorf("CBOR record %d bytes, JSON %d", len(b), len(legacySNO))
	}
	got, err := DecodeSNO(b)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "sno round trip", sno, got)
	jb, err := EncodeJob(job)
	if err != nil {
		t.Fatal(err)
	}
	gotJob, err := DecodeJob(jb)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "job round trip", job, gotJob)
	pb, err := EncodePair(pair)
	if err != nil {
		t.Fatal(err)
	}
	gotPair, err := DecodePair(pb)
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "pair round trip", pair, gotPair)
	if _, err := DecodeSNO([]byte{0xa1, 0x61}); err == nil {
		t.Fatal("a truncated record decoded")
	}
}
