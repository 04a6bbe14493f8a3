package storetest

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/cns-dev/cns"
)

// RealisticSNO is about what ingesting a 2 KB abstract produces: 10 claims, 10 edges, 4 evidence items,
// a unit 256-dimension embedding and three critic breakdowns. Benchmarks of stores and record codecs (and
// the bench harness) use it so their sizes and costs are comparable.
func RealisticSNO(project, id, jobID string, r *rand.Rand) *cns.SNO {
	now := time.Now().UTC()
	g := cns.NewGraph("Supervised exercise programmes improve sleep duration in adults with low baseline activity.")
	for i := 1; i <= 10; i++ {
		g.Claims = append(g.Claims, cns.Claim{ID: "c" + strconv.Itoa(i), Text: strings.Repeat("participants slept longer and reported less fatigue ", 2)})
		g.Edges = append(g.Edges, cns.Edge{From: "c" + strconv.Itoa(i), To: cns.RootClaimID, Relation: cns.RelationSupports, Strength: 0.5})
	}
	var ev []cns.Evidence
	for i := range 4 {
		ev = append(ev, cns.Evidence{ID: fmt.Sprintf("doi:10.1000/x.%d.%d", r.IntN(1000), i), SourceID: "10.1000/x", Confidence: 0.8,
			Content: strings.Repeat("We enrolled adults in a randomized controlled trial of the intervention. ", 4), SupportsClaimIDs: []string{"c1", "c2"}})
	}
	emb := make([]float32, 256)
	for i := range emb {
		emb[i] = float32(r.NormFloat64())
	}
	var critics []cns.CriticScore
	for _, n := range []string{"grounding", "logic", "novelty"} {
		critics = append(critics, cns.CriticScore{Name: n, Score: r.Float64(), Confidence: 1, Weight: 0.3,
			Explanation: "3 of 3 claims entailed by evidence; weakest: claim root (0.92)", SubScores: map[string]float64{"a": 1, "b": 2, "c": 3}})
	}
	return &cns.SNO{ID: id, Project: project, Hypothesis: g.Claims[0].Text, Embedding: cns.Normalize(emb), Graph: g, Evidence: ev, Trust: r.Float64(),
		Critics: critics, Status: cns.StatusActive, SchemaVersion: 1, JobID: jobID, CreatedAt: now, UpdatedAt: now,
		Lineage: cns.Lineage{Strategy: "ingest", Generator: "ingest/builtin@1"}}
}
