package record

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cns-dev/cns"
)

func benchSNO() *cns.SNO {
	now := time.Now().UTC()
	g := cns.NewGraph("Supervised exercise programmes improve sleep duration in adults with low baseline activity.")
	for i := 1; i <= 10; i++ {
		g.Claims = append(g.Claims, cns.Claim{ID: "c" + strconv.Itoa(i), Text: strings.Repeat("participants slept longer and reported less fatigue ", 2)})
		g.Edges = append(g.Edges, cns.Edge{From: "c" + strconv.Itoa(i), To: cns.RootClaimID, Relation: cns.RelationSupports, Strength: 0.5})
	}
	var ev []cns.Evidence
	for i := range 4 {
		ev = append(ev, cns.Evidence{ID: fmt.Sprintf("doi:10.1000/x.%d", i), SourceID: "10.1000/x", Confidence: 0.8,
			Content: strings.Repeat("We enrolled adults in a randomized controlled trial of the intervention. ", 4), SupportsClaimIDs: []string{"c1", "c2"}})
	}
	emb := make([]float32, 300)
	for i := range emb {
		emb[i] = float32(i) / 300
	}
	var critics []cns.CriticScore
	for _, n := range []string{"grounding", "logic", "novelty"} {
		critics = append(critics, cns.CriticScore{Name: n, Score: 0.7, Confidence: 1, Weight: 0.3,
			Explanation: "3 of 3 claims entailed by evidence; weakest: claim root (0.92)", SubScores: map[string]float64{"a": 1, "b": 2, "c": 3}})
	}
	return &cns.SNO{ID: "sno_x", Project: "p", Hypothesis: g.Claims[0].Text, Embedding: emb, Graph: g, Evidence: ev, Trust: 0.61,
		Critics: critics, Status: cns.StatusActive, SchemaVersion: 1, JobID: "job_x", CreatedAt: now, UpdatedAt: now,
		Lineage: cns.Lineage{Strategy: "ingest", Generator: "ingest/builtin@1"}}
}

// BenchmarkCodecs compares encoding/json (the records of older builds) with the CBOR codec on the record
// of an SNO about the size ingestion produces.
func BenchmarkCodecs(b *testing.B) {
	cb, err := EncodeSNO(benchSNO())
	if err != nil {
		b.Fatal(err)
	}
	var r snoRecord
	if err := unmarshal(cb, &r); err != nil {
		b.Fatal(err)
	}
	rec, err := json.Marshal(&r)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("json %d bytes, cbor %d bytes", len(rec), len(cb))
	b.Run("json-decode", func(b *testing.B) {
		for b.Loop() {
			var x snoRecord
			_ = json.Unmarshal(rec, &x)
		}
	})
	b.Run("cbor-decode", func(b *testing.B) {
		for b.Loop() {
			var x snoRecord
			_ = unmarshal(cb, &x)
		}
	})
	b.Run("json-encode", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(&r)
		}
	})
	b.Run("cbor-encode", func(b *testing.B) {
		for b.Loop() {
			_, _ = marshal(&r)
		}
	})
}
