package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"connectrpc.com/connect"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/engine"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
	"github.com/cns-dev/cns/relation"
)

// Pairs is what the pair and review RPCs need from the engine; *engine.Engine implements it.
type Pairs interface {
	FindPairs(ctx context.Context, q engine.PairQuery) ([]cns.Pair, bool, error)
	ListPairs(ctx context.Context, f cns.PairFilter) ([]*cns.Pair, error)
	Review(ctx context.Context, project, id string, d cns.ReviewDecision) (*cns.SNO, error)
	DefaultThresholds() relation.Thresholds
}

// SynthesisQueue queues synthesize_pair jobs; *dispatch.Syntheses implements it.
type SynthesisQueue interface {
	Accept(ctx context.Context, project, a, b string, auto bool) (jobID string, created bool, err error)
}

var _ Pairs = (*engine.Engine)(nil)

func (s *Server) pairsEnabled() error {
	if s.d.Pairs == nil || s.d.Syntheses == nil {
		return cns.Errorf(cns.EFAILEDPRECOND, "pair discovery and synthesis are not enabled in this deployment")
	}
	return nil
}

// pairToken is the page token of pair listings: the last pair's position, bound to its query.
type pairToken struct {
	Potential float64 `json:"p"`
	A         string  `json:"a"`
	B         string  `json:"b"`
	Query     string  `json:"q"`
}

func encodePairToken(query string, p cns.Pair) string {
	b, _ := json.Marshal(pairToken{Potential: p.Potential, A: p.A, B: p.B, Query: fingerprint(query)})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePairToken(tok, query string) (*cns.PairCursor, error) {
	var t pairToken
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) > 2048 || json.Unmarshal(b, &t) != nil || t.A == "" || t.B == "" || math.IsNaN(t.Potential) {
		return nil, errors.New("is not a valid page token")
	}
	if t.Query != fingerprint(query) {
		return nil, errors.New("belongs to another query; keep the same filters while paging")
	}
	return &cns.PairCursor{Potential: t.Potential, A: t.A, B: t.B}, nil
}

func optionalID(v *cns.Violations, field, id string) {
	if id != "" && (len(id) > 256 || !validUTF8(id)) {
		v.Add(field, "is not a valid id")
	}
}

func (n *narrative) FindChiralPairs(ctx context.Context, req *connect.Request[cnsv1.FindChiralPairsRequest]) (*connect.Response[cnsv1.FindChiralPairsResponse], error) {
	if err := n.pairsEnabled(); err != nil {
		return nil, n.fail(ctx, err)
	}
	m := req.Msg
	var v cns.Violations
	optionalID(&v, "snoId", m.GetSnoId())
	th := n.d.Pairs.DefaultThresholds()
	if m.MinChirality != nil {
		if !in01(m.GetMinChirality()) {
			v.Add("minChirality", "must be in [0,1]")
		}
		th.MinChirality = m.GetMinChirality()
	}
	if m.MinEntanglement != nil {
		if !in01(m.GetMinEntanglement()) {
			v.Add("minEntanglement", "must be in [0,1]")
		}
		th.MinEntanglement = m.GetMinEntanglement()
	}
	limit := int(m.GetLimit())
	switch {
	case limit < 0:
		v.Add("limit", "must not be negative")
	case limit == 0:
		limit = 20
	case limit > 1000:
		limit = 1000
	}
	query := fmt.Sprintf("chiral|%s|%s|%v|%v", project(ctx), m.GetSnoId(), th.MinChirality, th.MinEntanglement)
	var after *cns.PairCursor
	if m.GetPageToken() != "" {
		c, err := decodePairToken(m.GetPageToken(), query)
		if err != nil {
			v.Add("pageToken", "%s", err)
		}
		after = c
	}
	if err := v.Err("invalid request"); err != nil {
		return nil, n.fail(ctx, err)
	}
	pairs, more, err := n.d.Pairs.FindPairs(ctx, engine.PairQuery{Project: project(ctx), SNOID: m.GetSnoId(), Thresholds: th, Limit: limit, After: after})
	if err != nil {
		return nil, n.fail(ctx, err)
	}
	resp := &cnsv1.FindChiralPairsResponse{Pairs: make([]*cnsv1.ChiralPair, 0, len(pairs))}
	for i := range pairs {
		resp.Pairs = append(resp.Pairs, pairToProto(&pairs[i]))
	}
	if more && len(pairs) > 0 {
		resp.NextPageToken = encodePairToken(query, pairs[len(pairs)-1])
	}
	return connect.NewResponse(resp), nil
}

func (n *narrative) ListPairs(ctx context.Context, req *connect.Request[cnsv1.ListPairsRequest]) (*connect.Response[cnsv1.ListPairsResponse], error) {
	if err := n.pairsEnabled(); err != nil {
		return nil, n.fail(ctx, err)
	}
	m := req.Msg
	var v cns.Violations
	size := pageSize(&v, m.GetPageSize())
	optionalID(&v, "snoId", m.GetSnoId())
	query := fmt.Sprintf("pairs|%s|%s", project(ctx), m.GetSnoId())
	f := cns.PairFilter{Project: project(ctx), SNOID: m.GetSnoId(), Limit: size + 1}
	if m.GetPageToken() != "" {
		c, err := decodePairToken(m.GetPageToken(), query)
		if err != nil {
			v.Add("pageToken", "%s", err)
		}
		f.After = c
	}
	if err := v.Err("invalid request"); err != nil {
		return nil, n.fail(ctx, err)
	}
	pairs, err := n.d.Pairs.ListPairs(ctx, f)
	if err != nil {
		return nil, n.fail(ctx, err)
	}
	resp := &cnsv1.ListPairsResponse{Pairs: make([]*cnsv1.ChiralPair, 0, len(pairs))}
	if len(pairs) > size {
		pairs = pairs[:size]
		resp.NextPageToken = encodePairToken(query, *pairs[len(pairs)-1])
	}
	for _, p := range pairs {
		resp.Pairs = append(resp.Pairs, pairToProto(p))
	}
	return connect.NewResponse(resp), nil
}

func (n *narrative) SynthesizePair(ctx context.Context, req *connect.Request[cnsv1.SynthesizePairRequest]) (*connect.Response[cnsv1.SynthesizePairResponse], error) {
	if err := n.pairsEnabled(); err != nil {
		return nil, n.fail(ctx, err)
	}
	m := req.Msg
	var v cns.Violations
	for _, f := range []struct{ name, id string }{{"snoA", m.GetSnoA()}, {"snoB", m.GetSnoB()}} {
		if err := requireID(f.name, f.id); err != nil {
			var de *cns.Error
			if asErr(err, &de) {
				v = append(v, de.Violations...)
			}
		}
	}
	if m.GetSnoA() != "" && m.GetSnoA() == m.GetSnoB() {
		v.Add("snoB", "must differ from snoA")
	}
	if err := v.Err("invalid request"); err != nil {
		return nil, n.fail(ctx, err)
	}
	p := project(ctx)
	for _, id := range []string{m.GetSnoA(), m.GetSnoB()} {
		s, err := n.d.Store.GetSNO(ctx, p, id)
		if err != nil {
			return nil, n.fail(ctx, err)
		}
		if s.Status != cns.StatusActive {
			return nil, n.fail(ctx, cns.Errorf(cns.EFAILEDPRECOND, "sno %s is %s: only ACTIVE SNOs are synthesized", id, s.Status))
		}
	}
	if err := n.backpressure(ctx); err != nil {
		return nil, n.fail(ctx, err)
	}
	id, _, err := n.d.Syntheses.Accept(ctx, p, m.GetSnoA(), m.GetSnoB(), false)
	if err != nil {
		return nil, n.fail(ctx, err)
	}
	return connect.NewResponse(&cnsv1.SynthesizePairResponse{JobId: id}), nil
}

// backpressure refuses new work while the command backlog is over its limit (see accept).
func (s *Server) backpressure(ctx context.Context) error {
	if s.d.Backlog == nil {
		return nil
	}
	n, err := s.d.Backlog(ctx)
	if err != nil {
		return err
	}
	if n >= s.d.MaxBacklog {
		return &cns.Error{Code: cns.EEXHAUSTED, RetryAfterSeconds: 5,
			Message: fmt.Sprintf("the queue holds %d commands (limit %d): retry later", n, s.d.MaxBacklog)}
	}
	return nil
}

func (n *narrative) ListReviewQueue(ctx context.Context, req *connect.Request[cnsv1.ListReviewQueueRequest]) (*connect.Response[cnsv1.ListReviewQueueResponse], error) {
	m := req.Msg
	var v cns.Violations
	size := pageSize(&v, m.GetPageSize())
	f := cns.SNOFilter{Project: project(ctx), Statuses: []cns.Status{cns.StatusReview}, Limit: size + 1}
	query := fmt.Sprintf("review|%s", project(ctx))
	if m.GetPageToken() != "" {
		var c cursor
		if err := decodeToken(m.GetPageToken(), query, &c); err != nil {
			v.Add("pageToken", "%s", err)
		} else {
			f.After = &cns.SNOCursor{Trust: c.Trust, ID: c.ID}
		}
	}
	if err := v.Err("invalid request"); err != nil {
		return nil, n.fail(ctx, err)
	}
	snos, err := n.d.Store.ListSNOs(ctx, f)
	if err != nil {
		return nil, n.fail(ctx, err)
	}
	resp := &cnsv1.ListReviewQueueResponse{}
	if len(snos) > size {
		snos = snos[:size]
		last := snos[len(snos)-1]
		resp.NextPageToken = encodeToken(query, cursor{Trust: last.Trust, ID: last.ID})
	}
	for _, s := range snos {
		resp.Snos = append(resp.Snos, snoToProto(s))
	}
	return connect.NewResponse(resp), nil
}

func (n *narrative) ReviewSNO(ctx context.Context, req *connect.Request[cnsv1.ReviewSNORequest]) (*connect.Response[cnsv1.ReviewSNOResponse], error) {
	if err := n.pairsEnabled(); err != nil {
		return nil, n.fail(ctx, err)
	}
	var v cns.Violations
	if err := requireID("snoId", req.Msg.GetSnoId()); err != nil {
		var de *cns.Error
		if asErr(err, &de) {
			v = append(v, de.Violations...)
		}
	}
	d := cns.ReviewDecision(req.Msg.GetDecision())
	if d != cns.ReviewApprove && d != cns.ReviewReject {
		v.Add("decision", "must be REVIEW_DECISION_APPROVE or REVIEW_DECISION_REJECT")
	}
	if err := v.Err("invalid request"); err != nil {
		return nil, n.fail(ctx, err)
	}
	s, err := n.d.Pairs.Review(ctx, project(ctx), req.Msg.GetSnoId(), d)
	if err != nil {
		return nil, n.fail(ctx, err)
	}
	return connect.NewResponse(&cnsv1.ReviewSNOResponse{Sno: snoToProto(s)}), nil
}

func pairToProto(p *cns.Pair) *cnsv1.ChiralPair {
	out := &cnsv1.ChiralPair{
		SnoA: p.A, SnoB: p.B, Chirality: p.Chirality, Entanglement: p.Entanglement, Potential: p.Potential,
		SharedEvidenceIds: p.SharedEvidenceIDs, Contradiction: p.Contradiction, EvidenceEngagement: p.EvidenceEngagement,
		MeasuredAt: ts(p.UpdatedAt),
	}
	if out.SharedEvidenceIds == nil {
		out.SharedEvidenceIds = []string{}
	}
	for _, c := range p.ConflictPoints {
		out.ConflictPoints = append(out.ConflictPoints, &cnsv1.ConflictPoint{ClaimA: c.ClaimA, ClaimB: c.ClaimB,
			TextA: c.TextA, TextB: c.TextB, Contradiction: c.Contradiction})
	}
	return out
}
