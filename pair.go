package cns

import (
	"context"
	"time"
)

// Pair is a chiral pair: two SNOs of one project that disagree (chirality C) while arguing over the same
// evidence (entanglement E). A and B are SNO ids with A < B, so a pair has one identity whichever way it
// was found.
type Pair struct {
	Project      string
	A, B         string
	Chirality    float64 // C in [0,1]
	Entanglement float64 // E = Jaccard of the canonical evidence ids, in [0,1]
	Potential    float64 // √(C·E)·(1 + 0.2·(1 − |C − E|)): the ranking of pairs
	// Contradiction is the NLI contradiction probability between the two hypotheses (the larger of the
	// two directions): the input of C's NLI term, kept so C is explainable.
	Contradiction float64
	// EvidenceEngagement is ε: how much the shared evidence bears on both hypotheses (1 when it has no
	// readable content); it discounts C's NLI term.
	EvidenceEngagement float64
	SharedEvidenceIDs  []string // sorted
	ConflictPoints     []ConflictPoint
	UpdatedAt          time.Time
}

// ConflictPoint is a pair of claims, one of each SNO, that the NLI calls contradictory.
type ConflictPoint struct {
	ClaimA, ClaimB string // claim ids in A's and B's reasoning graphs ("root" is the hypothesis)
	TextA, TextB   string
	Contradiction  float64
}

// OrderPair returns the two SNO ids in pair order (smaller first).
func OrderPair(x, y string) (a, b string) {
	if y < x {
		return y, x
	}
	return x, y
}

// PairFilter selects pairs of one project, ordered by potential (descending), then A, then B.
type PairFilter struct {
	Project string
	SNOID   string // "" = every pair of the project; else only pairs with this SNO as A or B
	Limit   int    // <= 0: no limit
	After   *PairCursor
}

// PairCursor is a position in the potential ordering.
type PairCursor struct {
	Potential float64
	A, B      string
}

// SynthesisInput is the input of a JobSynthesizePair job: the pair to synthesize and the generator the
// pair was claimed for (a pair is synthesized at most once per generator version).
type SynthesisInput struct {
	A, B      string // SNO ids, A < B
	Generator string // the Synthesizer's Name, e.g. "synthesis/builtin@1"
	Auto      bool   // enqueued by pair discovery rather than requested through the API
}

// SynthesisRequest is what a Synthesizer works from: the two parents and what relates them.
type SynthesisRequest struct {
	A, B *SNO
	Pair Pair
}

// Synthesis is a synthesizer's candidate narrative, not yet embedded, scored or admitted.
type Synthesis struct {
	Hypothesis string
	Graph      Graph // validated DAG rooted at RootClaimID
	Evidence   []Evidence
	Strategy   string // dialectical, evidential, complementary or transcendent
	// Rationale says briefly how the candidate was made (kept in the SNO's metadata).
	Rationale string
	// TokensUsed is what a model-backed synthesizer spent (0 for the built-in one).
	TokensUsed int
}

// Synthesizer turns a chiral pair into a candidate narrative. Implementations are safe for concurrent use.
// Errors follow the domain codes: EFAILEDPRECOND when the generator will not produce a valid synthesis for
// this input (a refusal, repeated malformed output), EEXHAUSTED when a budget is spent, EUNAVAILABLE when
// the backend cannot be reached.
type Synthesizer interface {
	Synthesize(ctx context.Context, req SynthesisRequest) (*Synthesis, error)
	// Name is the generator and its version, recorded in the lineage and in the synthesis claim.
	Name() string
}

// ReviewDecision is a human's decision on an SNO waiting in the review queue.
type ReviewDecision int

// Review decisions, numbered as in the API's enum.
const (
	ReviewUnspecified ReviewDecision = iota
	ReviewApprove                    // the SNO becomes ACTIVE
	ReviewReject                     // the SNO becomes REJECTED
)

func (d ReviewDecision) String() string {
	switch d {
	case ReviewApprove:
		return "approve"
	case ReviewReject:
		return "reject"
	}
	return "unspecified"
}

// Quota is one fixed-window budget: at most Limit units per Window, the window opening at the first
// consumption after the previous one closed. Keys name what is counted ("synthesis", "llm_tokens",
// "cooldown:<sno id>").
type Quota struct {
	Project string
	Key     string
	Amount  int64 // units to consume now (0 only asks whether the budget is spent)
	Limit   int64
	Window  time.Duration
	Now     time.Time // the caller's clock; windows are measured in it
}

// PairStore is the storage of the operational loop: the evidence inverted index, chiral pairs, synthesis
// claims and budgets. A store that implements it keeps the evidence index inside its Store.CompleteJob
// and Store.PutSNO transactions, so the index is always exact. Entities of another project are invisible.
type PairStore interface {
	// SNOIDsByEvidence returns, for each given canonical evidence id, the ids of the project's ACTIVE SNOs
	// whose evidence set contains it, sorted ascending. Ids that no ACTIVE SNO cites are absent from the
	// map. The index is written in the same transaction as the SNO by CompleteJob and PutSNO: an SNO is
	// indexed under each of its evidence ids while its status is ACTIVE, leaves every entry when written
	// with another status, and moves when its evidence changes.
	SNOIDsByEvidence(ctx context.Context, project string, evidenceIDs []string) (map[string][]string, error)
	// GetSNOs returns the named SNOs of the project in the order asked; unknown ids are skipped.
	GetSNOs(ctx context.Context, project string, ids []string) ([]*SNO, error)

	// PutPairs creates or replaces each pair (identified by project, A, B), all in one transaction. Each
	// pair needs a project, A < B, ids without NUL bytes and a potential that is not NaN (EINVALID).
	PutPairs(ctx context.Context, pairs []*Pair) error
	// ListPairs returns the project's pairs ordered by potential descending, then A, then B ascending;
	// with f.SNOID only the pairs where it is A or B; starting strictly after f.After.
	ListPairs(ctx context.Context, f PairFilter) ([]*Pair, error)

	// ClaimSynthesis atomically claims the pair (job.Synthesis.A, job.Synthesis.B) for
	// job.Synthesis.Generator and stores the job exactly as CreateJob does (job.Kind must be
	// JobSynthesizePair with A < B, else EINVALID). When the pair already holds a claim for that
	// generator nothing is written and the claiming job is returned with created=false; when job history
	// retention (PurgeJobs) has deleted that job, what is returned is a job carrying only its id,
	// project, kind and a synthesis input of the pair and generator (state unspecified, Auto false). A claim never expires and nothing removes it
	// (PurgeJobs neither), so across all processes a pair is synthesized at most once per generator
	// version.
	ClaimSynthesis(ctx context.Context, job *Job) (stored *Job, created bool, err error)
	// SynthesisClaim returns the id of the job holding the pair's claim for generator (ENOTFOUND when the
	// pair was never claimed for it). a and b may be given in either order.
	SynthesisClaim(ctx context.Context, project, a, b, generator string) (jobID string, err error)

	// ConsumeQuota atomically adds q.Amount to the use of the budget (q.Project, q.Key) when that keeps it
	// within q.Limit, and returns the use after the call and whether the amount was granted. A refused
	// amount consumes nothing. The window opens at the first consumption (q.Now) after the previous window
	// closed (start + q.Window <= q.Now), with the use back at 0. Amount 0 consumes nothing and reports
	// whether one more unit would be granted (use < Limit), without opening a window. Limit <= 0,
	// Window <= 0 or a negative Amount is EINVALID.
	ConsumeQuota(ctx context.Context, q Quota) (used int64, ok bool, err error)
}
