// Package record is the stored form of jobs and SNOs, shared by every store adapter (bolt, Redis): versioned
// records converted to and from the domain by hand, so a store written by an older build still opens.
// They are CBOR with JSON-named fields (codec.go); JSON records of older builds still decode.
package record

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/cns-dev/cns"
)

// Records are what is written to disk. They are deliberately separate from the domain types: the domain
// may rename fields or renumber enums, but a data dir written by an older build must still open. So
// records carry a schema number, use explicit field names (the json tags, used by the CBOR codec too), store enums by name (not by the domain's
// numbering), and are converted to and from the domain by hand.
//
// Compatibility rules for future changes: add fields (readers tolerate unknown and missing ones); never
// reuse a field name with a new meaning; to change a meaning, bump recordSchema, keep the old struct and
// upgrade in decode*. Numeric fields are not omitempty where a future reader might want to tell "absent"
// from 0 (e.g. evidence confidence defaults to 1 when not given).

const recordSchema = 1

type jobRecord struct {
	Schema         int              `json:"schema"`
	ID             string           `json:"id"`
	Project        string           `json:"project"`
	Kind           string           `json:"kind"`
	State          string           `json:"state"`
	SNOID          string           `json:"sno_id,omitempty"`
	Error          string           `json:"error,omitempty"`
	ErrorCode      string           `json:"error_code,omitempty"`
	Attempts       int              `json:"attempts"`
	IdempotencyKey string           `json:"idempotency_key,omitempty"`
	Document       *documentRecord  `json:"document,omitempty"`
	Narrative      *narrativeRecord `json:"narrative,omitempty"`
	Synthesis      *synthesisRecord `json:"synthesis,omitempty"`
	CreatedAt      time.Time        `json:"created_at,omitzero"`
	UpdatedAt      time.Time        `json:"updated_at,omitzero"`
	StartedAt      time.Time        `json:"started_at,omitzero"`
	FinishedAt     time.Time        `json:"finished_at,omitzero"`
}

type documentRecord struct {
	Source   string            `json:"source,omitempty"`
	Text     string            `json:"text"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

type narrativeRecord struct {
	Hypothesis string            `json:"hypothesis"`
	Claims     []claimRecord     `json:"claims,omitempty"`
	Edges      []edgeRecord      `json:"edges,omitempty"`
	Evidence   []evidenceRecord  `json:"evidence,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
}

type claimRecord struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

type edgeRecord struct {
	From     string  `json:"from"`
	To       string  `json:"to"`
	Relation string  `json:"relation"`
	Strength float64 `json:"strength"`
}

type evidenceRecord struct {
	ID               string   `json:"id,omitempty"`
	SourceID         string   `json:"source_id,omitempty"`
	Content          string   `json:"content,omitempty"`
	Confidence       float64  `json:"confidence"`
	SupportsClaimIDs []string `json:"supports,omitempty"`
}

type snoRecord struct {
	Schema     int    `json:"schema"`
	ID         string `json:"id"`
	Project    string `json:"project"`
	Hypothesis string `json:"hypothesis"`
	// Embedding is the vector as little-endian float32s (base64 in JSON): exact, a third of the size of
	// decimal text, and NaN-safe.
	Embedding []byte            `json:"embedding,omitempty"`
	Graph     graphRecord       `json:"graph"`
	Evidence  []evidenceRecord  `json:"evidence,omitempty"`
	Trust     float64           `json:"trust"`
	Critics   []criticRecord    `json:"critics,omitempty"`
	Status    string            `json:"status"`
	Lineage   lineageRecord     `json:"lineage"`
	Source    string            `json:"source,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	// SNOSchema is the domain's SNO layout version (cns.SNO.SchemaVersion), distinct from the record
	// schema: it says how the SNO was built, not how it is stored.
	SNOSchema int       `json:"sno_schema"`
	JobID     string    `json:"job_id,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

type graphRecord struct {
	Claims []claimRecord `json:"claims,omitempty"`
	Edges  []edgeRecord  `json:"edges,omitempty"`
}

type criticRecord struct {
	Name        string             `json:"name"`
	Score       float64            `json:"score"`
	Confidence  float64            `json:"confidence"`
	Weight      float64            `json:"weight"`
	Explanation string             `json:"explanation,omitempty"`
	SubScores   map[string]float64 `json:"sub_scores,omitempty"`
}

type lineageRecord struct {
	Parents      []string `json:"parents,omitempty"`
	Strategy     string   `json:"strategy,omitempty"`
	Generator    string   `json:"generator,omitempty"`
	Chirality    float64  `json:"chirality"`
	Entanglement float64  `json:"entanglement"`
}

// Enum tables. The names are the on-disk spelling; the position in each table is the one-byte code used
// in index values. Both are permanent: append new values, never reorder or rename.
var (
	statusTable = []struct {
		v    cns.Status
		name string
	}{
		{cns.StatusUnspecified, "unspecified"},
		{cns.StatusActive, "active"},
		{cns.StatusReview, "review"},
		{cns.StatusArchived, "archived"},
		{cns.StatusRejected, "rejected"},
	}
	stateTable = []struct {
		v    cns.JobState
		name string
	}{
		{cns.JobStateUnspecified, "unspecified"},
		{cns.JobQueued, "queued"},
		{cns.JobRunning, "running"},
		{cns.JobSucceeded, "succeeded"},
		{cns.JobFailed, "failed"},
	}
	kindTable = []struct {
		v    cns.JobKind
		name string
	}{
		{cns.JobKindUnspecified, "unspecified"},
		{cns.JobIngestDocument, "ingest_document"},
		{cns.JobSubmitNarrative, "submit_narrative"},
		{cns.JobSynthesizePair, "synthesize_pair"},
	}
	relationTable = []struct {
		v    cns.Relation
		name string
	}{
		{cns.RelationUnspecified, "unspecified"},
		{cns.RelationSupports, "supports"},
		{cns.RelationContradicts, "contradicts"},
		{cns.RelationImplies, "implies"},
		{cns.RelationWeakens, "weakens"},
		{cns.RelationExplains, "explains"},
		{cns.RelationGeneralizes, "generalizes"},
	}
)

func StatusCode(s cns.Status) (byte, string, error) {
	for i, e := range statusTable {
		if e.v == s {
			return byte(i), e.name, nil
		}
	}
	return 0, "", cns.Errorf(cns.EINVALID, "sno status %d is not a known status", int(s))
}

func statusFromName(name string) (cns.Status, error) {
	for _, e := range statusTable {
		if e.name == name {
			return e.v, nil
		}
	}
	return 0, fmt.Errorf("unknown sno status %q in record", name)
}

func StatusFromCode(c byte) (cns.Status, bool) {
	if int(c) >= len(statusTable) {
		return 0, false
	}
	return statusTable[c].v, true
}

func StateCode(s cns.JobState) (byte, string, error) {
	for i, e := range stateTable {
		if e.v == s {
			return byte(i), e.name, nil
		}
	}
	return 0, "", cns.Errorf(cns.EINVALID, "job state %d is not a known state", int(s))
}

func stateFromName(name string) (cns.JobState, error) {
	for _, e := range stateTable {
		if e.name == name {
			return e.v, nil
		}
	}
	return 0, fmt.Errorf("unknown job state %q in record", name)
}

func StateFromCode(c byte) (cns.JobState, bool) {
	if int(c) >= len(stateTable) {
		return 0, false
	}
	return stateTable[c].v, true
}

func kindName(k cns.JobKind) (string, error) {
	for _, e := range kindTable {
		if e.v == k {
			return e.name, nil
		}
	}
	return "", cns.Errorf(cns.EINVALID, "job kind %d is not a known kind", int(k))
}

func kindFromName(name string) (cns.JobKind, error) {
	for _, e := range kindTable {
		if e.name == name {
			return e.v, nil
		}
	}
	return 0, fmt.Errorf("unknown job kind %q in record", name)
}

func relationName(r cns.Relation) (string, error) {
	for _, e := range relationTable {
		if e.v == r {
			return e.name, nil
		}
	}
	return "", cns.Errorf(cns.EINVALID, "edge relation %d is not a known relation", int(r))
}

func relationFromName(name string) (cns.Relation, error) {
	for _, e := range relationTable {
		if e.name == name {
			return e.v, nil
		}
	}
	return 0, fmt.Errorf("unknown edge relation %q in record", name)
}

// ---- domain → record ----

func EncodeJob(j *cns.Job) ([]byte, error) {
	kind, err := kindName(j.Kind)
	if err != nil {
		return nil, err
	}
	_, state, err := StateCode(j.State)
	if err != nil {
		return nil, err
	}
	r := jobRecord{
		Schema:         recordSchema,
		ID:             j.ID,
		Project:        j.Project,
		Kind:           kind,
		State:          state,
		SNOID:          j.SNOID,
		Error:          j.Error,
		ErrorCode:      j.ErrorCode,
		Attempts:       j.Attempts,
		IdempotencyKey: j.IdempotencyKey,
		CreatedAt:      j.CreatedAt,
		UpdatedAt:      j.UpdatedAt,
		StartedAt:      j.StartedAt,
		FinishedAt:     j.FinishedAt,
	}
	if d := j.Document; d != nil {
		r.Document = &documentRecord{Source: d.Source, Text: d.Text, Metadata: d.Metadata}
	}
	if n := j.Narrative; n != nil {
		edges, err := edgesToRecord(n.Edges)
		if err != nil {
			return nil, err
		}
		r.Narrative = &narrativeRecord{
			Hypothesis: n.Hypothesis,
			Claims:     claimsToRecord(n.Claims),
			Edges:      edges,
			Evidence:   evidenceToRecord(n.Evidence),
			Metadata:   n.Metadata,
		}
	}
	if y := j.Synthesis; y != nil {
		r.Synthesis = &synthesisRecord{A: y.A, B: y.B, Generator: y.Generator, Auto: y.Auto}
	}
	return marshal(&r)
}

func EncodeSNO(s *cns.SNO) ([]byte, error) {
	_, status, err := StatusCode(s.Status)
	if err != nil {
		return nil, err
	}
	edges, err := edgesToRecord(s.Graph.Edges)
	if err != nil {
		return nil, err
	}
	r := snoRecord{
		Schema:     recordSchema,
		ID:         s.ID,
		Project:    s.Project,
		Hypothesis: s.Hypothesis,
		Embedding:  embeddingToBytes(s.Embedding),
		Graph:      graphRecord{Claims: claimsToRecord(s.Graph.Claims), Edges: edges},
		Evidence:   evidenceToRecord(s.Evidence),
		Trust:      s.Trust,
		Status:     status,
		Lineage: lineageRecord{
			Parents:      s.Lineage.Parents,
			Strategy:     s.Lineage.Strategy,
			Generator:    s.Lineage.Generator,
			Chirality:    s.Lineage.Chirality,
			Entanglement: s.Lineage.Entanglement,
		},
		Source:    s.Source,
		Metadata:  s.Metadata,
		SNOSchema: s.SchemaVersion,
		JobID:     s.JobID,
		CreatedAt: s.CreatedAt,
		UpdatedAt: s.UpdatedAt,
	}
	if len(s.Critics) > 0 {
		r.Critics = make([]criticRecord, len(s.Critics))
		for i, c := range s.Critics {
			r.Critics[i] = criticRecord{
				Name:        c.Name,
				Score:       c.Score,
				Confidence:  c.Confidence,
				Weight:      c.Weight,
				Explanation: c.Explanation,
				SubScores:   c.SubScores,
			}
		}
	}
	return marshal(&r)
}

func claimsToRecord(cs []cns.Claim) []claimRecord {
	if len(cs) == 0 {
		return nil
	}
	out := make([]claimRecord, len(cs))
	for i, c := range cs {
		out[i] = claimRecord{ID: c.ID, Text: c.Text}
	}
	return out
}

func edgesToRecord(es []cns.Edge) ([]edgeRecord, error) {
	if len(es) == 0 {
		return nil, nil
	}
	out := make([]edgeRecord, len(es))
	for i, e := range es {
		rel, err := relationName(e.Relation)
		if err != nil {
			return nil, err
		}
		out[i] = edgeRecord{From: e.From, To: e.To, Relation: rel, Strength: e.Strength}
	}
	return out, nil
}

func evidenceToRecord(ev []cns.Evidence) []evidenceRecord {
	if len(ev) == 0 {
		return nil
	}
	out := make([]evidenceRecord, len(ev))
	for i, e := range ev {
		out[i] = evidenceRecord{
			ID:               e.ID,
			SourceID:         e.SourceID,
			Content:          e.Content,
			Confidence:       e.Confidence,
			SupportsClaimIDs: e.SupportsClaimIDs,
		}
	}
	return out
}

func embeddingToBytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// ---- record → domain ----

// checkSchema rejects records this build cannot read. A schema-2 build would switch on the number here
// and upgrade schema-1 records in memory.
func checkSchema(what string, schema int) error {
	if schema != recordSchema {
		return fmt.Errorf("%s record has schema %d, this build reads schema %d (written by a newer cns?)", what, schema, recordSchema)
	}
	return nil
}

func DecodeJob(b []byte) (*cns.Job, error) {
	var r jobRecord
	if err := unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode job record: %w", err)
	}
	if err := checkSchema("job", r.Schema); err != nil {
		return nil, err
	}
	kind, err := kindFromName(r.Kind)
	if err != nil {
		return nil, err
	}
	state, err := stateFromName(r.State)
	if err != nil {
		return nil, err
	}
	j := &cns.Job{
		ID:             r.ID,
		Project:        r.Project,
		Kind:           kind,
		State:          state,
		SNOID:          r.SNOID,
		Error:          r.Error,
		ErrorCode:      r.ErrorCode,
		Attempts:       r.Attempts,
		IdempotencyKey: r.IdempotencyKey,
		CreatedAt:      r.CreatedAt,
		UpdatedAt:      r.UpdatedAt,
		StartedAt:      r.StartedAt,
		FinishedAt:     r.FinishedAt,
	}
	if d := r.Document; d != nil {
		j.Document = &cns.DocumentInput{Source: d.Source, Text: d.Text, Metadata: d.Metadata}
	}
	if n := r.Narrative; n != nil {
		edges, err := edgesFromRecord(n.Edges)
		if err != nil {
			return nil, err
		}
		j.Narrative = &cns.NarrativeInput{
			Hypothesis: n.Hypothesis,
			Claims:     claimsFromRecord(n.Claims),
			Edges:      edges,
			Evidence:   evidenceFromRecord(n.Evidence),
			Metadata:   n.Metadata,
		}
	}
	if y := r.Synthesis; y != nil {
		j.Synthesis = &cns.SynthesisInput{A: y.A, B: y.B, Generator: y.Generator, Auto: y.Auto}
	}
	return j, nil
}

func DecodeSNO(b []byte) (*cns.SNO, error) {
	var r snoRecord
	if err := unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode sno record: %w", err)
	}
	if err := checkSchema("sno", r.Schema); err != nil {
		return nil, err
	}
	status, err := statusFromName(r.Status)
	if err != nil {
		return nil, err
	}
	edges, err := edgesFromRecord(r.Graph.Edges)
	if err != nil {
		return nil, err
	}
	emb, err := embeddingFromBytes(r.Embedding)
	if err != nil {
		return nil, err
	}
	s := &cns.SNO{
		ID:         r.ID,
		Project:    r.Project,
		Hypothesis: r.Hypothesis,
		Embedding:  emb,
		Graph:      cns.Graph{Claims: claimsFromRecord(r.Graph.Claims), Edges: edges},
		Evidence:   evidenceFromRecord(r.Evidence),
		Trust:      r.Trust,
		Status:     status,
		Lineage: cns.Lineage{
			Parents:      r.Lineage.Parents,
			Strategy:     r.Lineage.Strategy,
			Generator:    r.Lineage.Generator,
			Chirality:    r.Lineage.Chirality,
			Entanglement: r.Lineage.Entanglement,
		},
		Source:        r.Source,
		Metadata:      r.Metadata,
		SchemaVersion: r.SNOSchema,
		JobID:         r.JobID,
		CreatedAt:     r.CreatedAt,
		UpdatedAt:     r.UpdatedAt,
	}
	if len(r.Critics) > 0 {
		s.Critics = make([]cns.CriticScore, len(r.Critics))
		for i, c := range r.Critics {
			s.Critics[i] = cns.CriticScore{
				Name:        c.Name,
				Score:       c.Score,
				Confidence:  c.Confidence,
				Weight:      c.Weight,
				Explanation: c.Explanation,
				SubScores:   c.SubScores,
			}
		}
	}
	return s, nil
}

func claimsFromRecord(cs []claimRecord) []cns.Claim {
	if len(cs) == 0 {
		return nil
	}
	out := make([]cns.Claim, len(cs))
	for i, c := range cs {
		out[i] = cns.Claim{ID: c.ID, Text: c.Text}
	}
	return out
}

func edgesFromRecord(es []edgeRecord) ([]cns.Edge, error) {
	if len(es) == 0 {
		return nil, nil
	}
	out := make([]cns.Edge, len(es))
	for i, e := range es {
		rel, err := relationFromName(e.Relation)
		if err != nil {
			return nil, err
		}
		out[i] = cns.Edge{From: e.From, To: e.To, Relation: rel, Strength: e.Strength}
	}
	return out, nil
}

func evidenceFromRecord(ev []evidenceRecord) []cns.Evidence {
	if len(ev) == 0 {
		return nil
	}
	out := make([]cns.Evidence, len(ev))
	for i, e := range ev {
		out[i] = cns.Evidence{
			ID:               e.ID,
			SourceID:         e.SourceID,
			Content:          e.Content,
			Confidence:       e.Confidence,
			SupportsClaimIDs: e.SupportsClaimIDs,
		}
	}
	return out
}

func embeddingFromBytes(b []byte) ([]float32, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("sno record embedding is %d bytes, not a whole number of float32s", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}
