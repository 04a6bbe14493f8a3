package server

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cns-dev/cns"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
)

// The API's enums are numbered like the domain's, so conversions are casts; these helpers keep the casts
// in one place.

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func jobToProto(j *cns.Job) *cnsv1.Job {
	return &cnsv1.Job{
		JobId:          j.ID,
		Project:        j.Project,
		Kind:           cnsv1.JobKind(j.Kind),
		State:          cnsv1.JobState(j.State),
		SnoId:          j.SNOID,
		Error:          j.Error,
		Attempts:       int32(j.Attempts),
		IdempotencyKey: j.IdempotencyKey,
		CreatedAt:      ts(j.CreatedAt),
		UpdatedAt:      ts(j.UpdatedAt),
		StartedAt:      ts(j.StartedAt),
		FinishedAt:     ts(j.FinishedAt),
	}
}

func snoToProto(s *cns.SNO) *cnsv1.Sno {
	out := snoBasic(s)
	for _, c := range s.Graph.Claims {
		out.Claims = append(out.Claims, &cnsv1.Claim{ClaimId: c.ID, Text: c.Text})
	}
	for _, e := range s.Graph.Edges {
		out.Edges = append(out.Edges, &cnsv1.Edge{From: e.From, To: e.To, Relation: cnsv1.Relation(e.Relation), Strength: e.Strength})
	}
	for _, e := range s.Evidence {
		out.Evidence = append(out.Evidence, &cnsv1.Evidence{
			EvidenceId: e.ID, SourceId: e.SourceID, Content: e.Content, Confidence: e.Confidence,
			SupportsClaimIds: e.SupportsClaimIDs,
		})
	}
	return out
}

// snoBasic is the SNO_VIEW_BASIC of s: all but the claims, edges and evidence, which make up most of an
// SNO's size (an ingested document is its own evidence).
func snoBasic(s *cns.SNO) *cnsv1.Sno {
	out := &cnsv1.Sno{
		SnoId:         s.ID,
		Project:       s.Project,
		Hypothesis:    s.Hypothesis,
		TrustScore:    s.Trust,
		Status:        cnsv1.SnoStatus(s.Status),
		Source:        s.Source,
		Metadata:      s.Metadata,
		SchemaVersion: int32(s.SchemaVersion),
		JobId:         s.JobID,
		CreatedAt:     ts(s.CreatedAt),
		UpdatedAt:     ts(s.UpdatedAt),
		Lineage: &cnsv1.Lineage{
			Parents: s.Lineage.Parents, Strategy: s.Lineage.Strategy, Generator: s.Lineage.Generator,
			Chirality: s.Lineage.Chirality, Entanglement: s.Lineage.Entanglement,
		},
	}
	for _, c := range s.Critics {
		out.Critics = append(out.Critics, &cnsv1.CriticScore{
			Name: c.Name, Score: c.Score, Confidence: c.Confidence, Explanation: c.Explanation,
			Weight: c.Weight, SubScores: c.SubScores,
		})
	}
	return out
}

func narrativeFromProto(r *cnsv1.SubmitNarrativeRequest) *cns.NarrativeInput {
	in := &cns.NarrativeInput{Hypothesis: r.GetHypothesis(), Metadata: r.GetMetadata()}
	for _, c := range r.GetClaims() {
		in.Claims = append(in.Claims, cns.Claim{ID: c.GetClaimId(), Text: c.GetText()})
	}
	for _, e := range r.GetEdges() {
		in.Edges = append(in.Edges, cns.Edge{From: e.GetFrom(), To: e.GetTo(), Relation: cns.Relation(e.GetRelation()), Strength: e.GetStrength()})
	}
	for _, e := range r.GetEvidence() {
		in.Evidence = append(in.Evidence, cns.Evidence{
			ID: e.GetEvidenceId(), SourceID: e.GetSourceId(), Content: e.GetContent(),
			Confidence: e.GetConfidence(), SupportsClaimIDs: e.GetSupportsClaimIds(),
		})
	}
	return in
}
