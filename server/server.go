// Package server is the API edge of CNS: Connect handlers for cns.v1 (Connect, gRPC and gRPC-Web on one
// port), the auth interceptor, gRPC health and reflection, and the HTTP wiring. It validates requests,
// writes job records and publishes commands; it never imports the worker. Domain errors are translated
// into Connect codes here, once.
package server

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	lru "github.com/hashicorp/golang-lru/v2"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/auth"
	"github.com/cns-dev/cns/dispatch"
	"github.com/cns-dev/cns/engine"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
	"github.com/cns-dev/cns/proto/gen/cns/v1/cnsv1connect"
)

// Engine is what the API needs from the engine for synchronous calls.
type Engine interface {
	Search(ctx context.Context, project, query string, k int) ([]engine.SearchHit, error)
	Evaluate(ctx context.Context, project, id, preset string) (*cns.SNO, bool, error)
	Archive(ctx context.Context, project, id string) (*cns.SNO, error)
}

// Queue is the depth of one command queue.
type Queue struct {
	Name          string
	Length        int64
	Pending       int64
	Lag           int64
	OldestPending time.Duration
}

// Process is one registered cns process.
type Process struct {
	Service, Instance, Version, Address string
	Concurrency                         int
	StartedAt, LastHeartbeat            time.Time
	Online                              bool
}

// ConfigEntry is one effective configuration value, already redacted.
type ConfigEntry struct {
	Key, Value, Source string
	Secret             bool
}

// Deps are the server's collaborators, wired by the composition root.
type Deps struct {
	Store      cns.Store
	Dispatcher *dispatch.Dispatcher
	Engine     Engine
	Verifier   *auth.Verifier
	Log        *zap.Logger
	Limits     cns.Limits
	// MaxRequestBytes bounds a request body before it is decoded.
	MaxRequestBytes int
	// WatchInterval is how often WatchJob looks at the job.
	WatchInterval time.Duration
	// Queues, Processes and Config feed AdminService; nil means none.
	Queues    func(ctx context.Context, project string) ([]Queue, error)
	Processes func(ctx context.Context) ([]Process, error)
	Config    func() []ConfigEntry
	// Backlog, if set, reports the command backlog; above MaxBacklog new jobs are refused with
	// ResourceExhausted so Redis does not grow without bound while workers are behind or gone.
	Backlog    func(ctx context.Context) (int64, error)
	MaxBacklog int64
	// MaxActiveJobs bounds a project's queued + running jobs (0: no bound).
	MaxActiveJobs int
	// RequestsPerSecond and Burst bound each project's calls (0: no bound).
	RequestsPerSecond float64
	Burst             int
	// Revocations lists revoked token ids (nil: none).
	Revocations *auth.Revocations
	// Pairs and Syntheses serve the pair, synthesis and review RPCs (pairs.go); nil: not enabled.
	Pairs     Pairs
	Syntheses SynthesisQueue
	Profile   string
	Version   string
	NLPName   string
	Now       func() time.Time
}

// Server implements cns.v1.NarrativeService and cns.v1.AdminService.
type Server struct {
	d Deps
	// protos keeps the API form of the SNOs a cns.SNOViewer store hands out, keyed by the store's own
	// SNO and the view: a new version of an SNO is a new key, so an entry is never stale, and GetSNO or
	// ListSNOs of unchanged SNOs neither copies nor converts them (a deep copy and ~100 small objects
	// per SNO and call before).
	protos *lru.Cache[protoKey, *cnsv1.Sno]
}

// protoKey is an SNO a cns.SNOViewer store handed out and the view it was converted to.
type protoKey struct {
	sno  *cns.SNO
	full bool
}

// protoOf is the API form of a shared SNO in the full or the basic view, converted once per version.
// The message is shared by the concurrent responses that carry it: it is only read (marshalled).
func (s *Server) protoOf(sno *cns.SNO, full bool) *cnsv1.Sno {
	k := protoKey{sno, full}
	if pb, ok := s.protos.Get(k); ok {
		return pb
	}
	pb := snoBasic(sno)
	if full {
		pb = snoToProto(sno)
	}
	s.protos.Add(k, pb)
	return pb
}

// protoCacheSize is as many SNOs as the Redis store keeps decoded.
const protoCacheSize = 2048

// New returns a server.
func New(d Deps) *Server {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.WatchInterval <= 0 {
		d.WatchInterval = 100 * time.Millisecond
	}
	protos, err := lru.New[protoKey, *cnsv1.Sno](protoCacheSize)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return &Server{d: d, protos: protos}
}

// Mount registers the Connect services, gRPC health and reflection on mux.
func (s *Server) Mount(mux *http.ServeMux) {
	// Every handler, health and reflection included: connect-go otherwise answers any client that
	// accepts gzip (every gRPC client does) with the standard library's gzip, whatever the size — a
	// health Check took ~25 µs of CPU to set up a compressor for a few bytes.
	transport := []connect.HandlerOption{
		connect.WithReadMaxBytes(s.d.MaxRequestBytes),
		// Compressing a few-KB SNO costs more CPU than it saves on a LAN; only large responses are
		// worth it.
		connect.WithCompressMinBytes(16 << 10),
		fastGzip(),
	}
	opts := append([]connect.HandlerOption{
		connect.WithInterceptors(&authInterceptor{verifier: s.d.Verifier, revoked: s.d.Revocations,
			limits: newProjectLimiter(s.d.RequestsPerSecond, s.d.Burst)}),
	}, transport...)
	opts = append(opts, jsonCodecs()...)
	mux.Handle(cnsv1connect.NewNarrativeServiceHandler(&narrative{s}, opts...))
	mux.Handle(cnsv1connect.NewAdminServiceHandler(&admin{s}, opts...))
	checker := grpchealth.NewStaticChecker(cnsv1connect.NarrativeServiceName, cnsv1connect.AdminServiceName)
	mux.Handle(grpchealth.NewHandler(checker, transport...))
	reflector := grpcreflect.NewStaticReflector(cnsv1connect.NarrativeServiceName, cnsv1connect.AdminServiceName, grpchealth.HealthV1ServiceName)
	mux.Handle(grpcreflect.NewHandlerV1(reflector, transport...))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector, transport...))
}

func (s *Server) fail(ctx context.Context, err error) error {
	return toConnect(ctx, s.d.Log.With(zap.String("project", project(ctx))), err)
}

type narrative struct{ *Server }

func (s *Server) accept(ctx context.Context, job *cns.Job) (string, error) {
	job.Project = project(ctx)
	if err := s.checkActiveJobs(ctx, job.Project); err != nil {
		return "", err
	}
	if s.d.Backlog != nil {
		n, err := s.d.Backlog(ctx)
		if err != nil {
			return "", err
		}
		if n >= s.d.MaxBacklog {
			return "", &cns.Error{Code: cns.EEXHAUSTED, RetryAfterSeconds: 5,
				Message: fmt.Sprintf("the queue holds %d commands (limit %d): retry later", n, s.d.MaxBacklog)}
		}
	}
	return s.d.Dispatcher.Accept(ctx, job)
}

func checkIdempotencyKey(v *cns.Violations, key string, l cns.Limits) {
	if len(key) > l.MaxIDBytes || !validUTF8(key) {
		v.Add("idempotencyKey", "must be valid UTF-8 of at most %d bytes", l.MaxIDBytes)
	}
}

func (n *narrative) IngestDocument(ctx context.Context, req *connect.Request[cnsv1.IngestDocumentRequest]) (*connect.Response[cnsv1.IngestDocumentResponse], error) {
	m := req.Msg
	in := &cns.DocumentInput{Source: m.GetSource(), Text: m.GetText(), Metadata: m.GetMetadata()}
	var v cns.Violations
	if err := cns.ValidateDocument(*in, n.d.Limits); err != nil {
		var de *cns.Error
		if asErr(err, &de) {
			v = append(v, de.Violations...)
		}
	}
	checkIdempotencyKey(&v, m.GetIdempotencyKey(), n.d.Limits)
	if err := v.Err("invalid document"); err != nil {
		return nil, n.fail(ctx, err)
	}
	id, err := n.accept(ctx, &cns.Job{Kind: cns.JobIngestDocument, Document: in, IdempotencyKey: m.GetIdempotencyKey()})
	if err != nil {
		return nil, n.fail(ctx, err)
	}
	return connect.NewResponse(&cnsv1.IngestDocumentResponse{JobId: id}), nil
}

func (n *narrative) SubmitNarrative(ctx context.Context, req *connect.Request[cnsv1.SubmitNarrativeRequest]) (*connect.Response[cnsv1.SubmitNarrativeResponse], error) {
	in := narrativeFromProto(req.Msg)
	// Validate the whole narrative now, so a client learns about a cycle or a dangling edge from this
	// call instead of from a failed job.
	var v cns.Violations
	if _, _, err := cns.BuildNarrative(*in, n.d.Limits); err != nil {
		var de *cns.Error
		if !asErr(err, &de) {
			return nil, n.fail(ctx, err)
		}
		v = append(v, de.Violations...)
	}
	checkIdempotencyKey(&v, req.Msg.GetIdempotencyKey(), n.d.Limits)
	if err := v.Err("invalid narrative"); err != nil {
		return nil, n.fail(ctx, err)
	}
	id, err := n.accept(ctx, &cns.Job{Kind: cns.JobSubmitNarrative, Narrative: in, IdempotencyKey: req.Msg.GetIdempotencyKey()})
	if err != nil {
		return nil, n.fail(ctx, err)
	}
	return connect.NewResponse(&cnsv1.SubmitNarrativeResponse{JobId: id}), nil
}

func requireID(field, id string) error {
	if strings.TrimSpace(id) == "" {
		return invalid(field, "must not be empty")
	}
	if len(id) > 256 || !validUTF8(id) {
		return invalid(field, "is not a valid id")
	}
	return nil
}

func (n *narrative) GetJob(ctx context.Context, req *connect.Request[cnsv1.GetJobRequest]) (*connect.Response[cnsv1.GetJobResponse], error) {
	if err := requireID("jobId", req.Msg.GetJobId()); err != nil {
		return nil, n.fail(ctx, err)
	}
	j, err := n.d.Store.GetJob(ctx, project(ctx), req.Msg.GetJobId())
	if err != nil {
		return nil, n.fail(ctx, err)
	}
	return connect.NewResponse(&cnsv1.GetJobResponse{Job: jobToProto(j)}), nil
}

func (n *narrative) WatchJob(ctx context.Context, req *connect.Request[cnsv1.WatchJobRequest], stream *connect.ServerStream[cnsv1.WatchJobResponse]) error {
	if err := requireID("jobId", req.Msg.GetJobId()); err != nil {
		return n.fail(ctx, err)
	}
	// Polling the store keeps WatchJob correct in every deployment (any replica, any worker) at the cost
	// of one read per interval per watcher.
	t := time.NewTicker(n.d.WatchInterval)
	defer t.Stop()
	var last *cns.Job
	for {
		j, err := n.d.Store.GetJob(ctx, project(ctx), req.Msg.GetJobId())
		if err != nil {
			return n.fail(ctx, err)
		}
		if last == nil || j.State != last.State || j.Attempts != last.Attempts || !j.UpdatedAt.Equal(last.UpdatedAt) {
			if err := stream.Send(&cnsv1.WatchJobResponse{Job: jobToProto(j)}); err != nil {
				return err
			}
			last = j
		}
		if j.State.Terminal() {
			return nil
		}
		select {
		case <-ctx.Done():
			return n.fail(ctx, ctx.Err())
		case <-t.C:
		}
	}
}

func pageSize(v *cns.Violations, n int32) int {
	switch {
	case n < 0:
		v.Add("pageSize", "must not be negative")
	case n == 0:
		return 50
	case n > 1000:
		return 1000
	}
	return int(n)
}

func (n *narrative) ListJobs(ctx context.Context, req *connect.Request[cnsv1.ListJobsRequest]) (*connect.Response[cnsv1.ListJobsResponse], error) {
	m := req.Msg
	var v cns.Violations
	size := pageSize(&v, m.GetPageSize())
	f := cns.JobFilter{Project: project(ctx), Limit: size + 1}
	if st := m.GetState(); st != cnsv1.JobState_JOB_STATE_UNSPECIFIED {
		if _, ok := cnsv1.JobState_name[int32(st)]; !ok {
			v.Add("state", "unknown job state %d", int32(st))
		}
		f.States = []cns.JobState{cns.JobState(st)}
	}
	query := fmt.Sprintf("jobs|%s|%d", project(ctx), m.GetState())
	if m.GetPageToken() != "" {
		var c cursor
		if err := decodeToken(m.GetPageToken(), query, &c); err != nil {
			v.Add("pageToken", "%s", err)
		} else {
			f.After = &cns.JobCursor{CreatedAt: time.Unix(0, c.Nanos).UTC(), ID: c.ID}
		}
	}
	if err := v.Err("invalid request"); err != nil {
		return nil, n.fail(ctx, err)
	}
	jobs, err := n.d.Store.ListJobs(ctx, f)
	if err != nil {
		return nil, n.fail(ctx, err)
	}
	resp := &cnsv1.ListJobsResponse{}
	if len(jobs) > size {
		jobs = jobs[:size]
		last := jobs[len(jobs)-1]
		resp.NextPageToken = encodeToken(query, cursor{Nanos: last.CreatedAt.UnixNano(), ID: last.ID})
	}
	for _, j := range jobs {
		resp.Jobs = append(resp.Jobs, jobToProto(j))
	}
	return connect.NewResponse(resp), nil
}

func (n *narrative) GetSNO(ctx context.Context, req *connect.Request[cnsv1.GetSNORequest]) (*connect.Response[cnsv1.GetSNOResponse], error) {
	if err := requireID("snoId", req.Msg.GetSnoId()); err != nil {
		return nil, n.fail(ctx, err)
	}
	if v, ok := n.d.Store.(cns.SNOViewer); ok {
		s, err := v.ViewSNO(ctx, project(ctx), req.Msg.GetSnoId())
		if err != nil {
			return nil, n.fail(ctx, err)
		}
		return connect.NewResponse(&cnsv1.GetSNOResponse{Sno: n.protoOf(s, true)}), nil
	}
	s, err := n.d.Store.GetSNO(ctx, project(ctx), req.Msg.GetSnoId())
	if err != nil {
		return nil, n.fail(ctx, err)
	}
	return connect.NewResponse(&cnsv1.GetSNOResponse{Sno: snoToProto(s)}), nil
}

func (n *narrative) ListSNOs(ctx context.Context, req *connect.Request[cnsv1.ListSNOsRequest]) (*connect.Response[cnsv1.ListSNOsResponse], error) {
	m := req.Msg
	var v cns.Violations
	size := pageSize(&v, m.GetPageSize())
	f := cns.SNOFilter{Project: project(ctx), Limit: size + 1}
	if m.MinTrust != nil {
		if !in01(m.GetMinTrust()) {
			v.Add("minTrust", "must be in [0,1]")
		}
		f.MinTrust = m.GetMinTrust()
	}
	if m.MaxTrust != nil {
		if !in01(m.GetMaxTrust()) {
			v.Add("maxTrust", "must be in [0,1]")
		}
		f.MaxTrust = m.GetMaxTrust()
		if f.MaxTrust == 0 {
			// The store reads 0 as "no upper bound"; an explicit 0 means "trust exactly 0".
			f.MaxTrust = math.SmallestNonzeroFloat64
		}
		if m.MinTrust != nil && m.GetMinTrust() > m.GetMaxTrust() {
			v.Add("maxTrust", "must not be below minTrust")
		}
	}
	if st := m.GetStatus(); st != cnsv1.SnoStatus_SNO_STATUS_UNSPECIFIED {
		if !cns.Status(st).Valid() {
			v.Add("status", "unknown status %d", int32(st))
		}
		f.Statuses = []cns.Status{cns.Status(st)}
	}
	view := m.GetView()
	if _, ok := cnsv1.SnoView_name[int32(view)]; !ok {
		v.Add("view", "unknown view %d", int32(view))
	}
	query := fmt.Sprintf("snos|%s|", project(ctx)) + fmt.Sprintf("%v|%v|%v|%v|%d", m.MinTrust != nil, m.GetMinTrust(), m.MaxTrust != nil, m.GetMaxTrust(), m.GetStatus())
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
	full := view == cnsv1.SnoView_SNO_VIEW_FULL
	f.Summary = !full
	var snos []*cns.SNO
	var err error
	viewer, shared := n.d.Store.(cns.SNOViewer)
	if shared {
		snos, err = viewer.ViewSNOs(ctx, f)
	} else {
		snos, err = n.d.Store.ListSNOs(ctx, f)
	}
	if err != nil {
		return nil, n.fail(ctx, err)
	}
	resp := &cnsv1.ListSNOsResponse{}
	if len(snos) > size {
		snos = snos[:size]
		last := snos[len(snos)-1]
		resp.NextPageToken = encodeToken(query, cursor{Trust: last.Trust, ID: last.ID})
	}
	for _, s := range snos {
		switch {
		case shared:
			resp.Snos = append(resp.Snos, n.protoOf(s, full))
		case full:
			resp.Snos = append(resp.Snos, snoToProto(s))
		default:
			resp.Snos = append(resp.Snos, snoBasic(s))
		}
	}
	return connect.NewResponse(resp), nil
}

func (n *narrative) SearchSNOs(ctx context.Context, req *connect.Request[cnsv1.SearchSNOsRequest]) (*connect.Response[cnsv1.SearchSNOsResponse], error) {
	m := req.Msg
	var v cns.Violations
	if strings.TrimSpace(m.GetQuery()) == "" {
		v.Add("query", "must not be empty")
	} else if len(m.GetQuery()) > n.d.Limits.MaxHypothesisBytes || !validUTF8(m.GetQuery()) {
		v.Add("query", "must be valid UTF-8 of at most %d bytes", n.d.Limits.MaxHypothesisBytes)
	}
	k := int(m.GetK())
	switch {
	case k == 0:
		k = 10
	case k < 0 || k > 100:
		v.Add("k", "must be between 1 and 100")
	}
	if err := v.Err("invalid request"); err != nil {
		return nil, n.fail(ctx, err)
	}
	hits, err := n.d.Engine.Search(ctx, project(ctx), m.GetQuery(), k)
	if err != nil {
		return nil, n.fail(ctx, err)
	}
	resp := &cnsv1.SearchSNOsResponse{}
	for _, h := range hits {
		resp.Results = append(resp.Results, &cnsv1.SearchResult{Sno: snoToProto(h.SNO), Score: h.Score})
	}
	return connect.NewResponse(resp), nil
}

func (n *narrative) EvaluateSNO(ctx context.Context, req *connect.Request[cnsv1.EvaluateSNORequest]) (*connect.Response[cnsv1.EvaluateSNOResponse], error) {
	if err := requireID("snoId", req.Msg.GetSnoId()); err != nil {
		return nil, n.fail(ctx, err)
	}
	s, stored, err := n.d.Engine.Evaluate(ctx, project(ctx), req.Msg.GetSnoId(), req.Msg.GetPreset())
	if err != nil {
		return nil, n.fail(ctx, err)
	}
	return connect.NewResponse(&cnsv1.EvaluateSNOResponse{Sno: snoToProto(s), Stored: stored}), nil
}

func (n *narrative) ArchiveSNO(ctx context.Context, req *connect.Request[cnsv1.ArchiveSNORequest]) (*connect.Response[cnsv1.ArchiveSNOResponse], error) {
	if err := requireID("snoId", req.Msg.GetSnoId()); err != nil {
		return nil, n.fail(ctx, err)
	}
	s, err := n.d.Engine.Archive(ctx, project(ctx), req.Msg.GetSnoId())
	if err != nil {
		return nil, n.fail(ctx, err)
	}
	return connect.NewResponse(&cnsv1.ArchiveSNOResponse{Sno: snoToProto(s)}), nil
}

type admin struct{ *Server }

func (a *admin) GetSystemStatus(ctx context.Context, _ *connect.Request[cnsv1.GetSystemStatusRequest]) (*connect.Response[cnsv1.GetSystemStatusResponse], error) {
	p := project(ctx)
	st, err := a.d.Store.Stats(ctx, p)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	resp := &cnsv1.GetSystemStatusResponse{
		Project: p, Profile: a.d.Profile, Version: a.d.Version, NlpBackend: a.d.NLPName,
		Population: &cnsv1.Population{
			Active: int64(st.SNOsByStatus[cns.StatusActive]), Review: int64(st.SNOsByStatus[cns.StatusReview]),
			Archived: int64(st.SNOsByStatus[cns.StatusArchived]), Rejected: int64(st.SNOsByStatus[cns.StatusRejected]),
		},
		Jobs: &cnsv1.JobCounts{
			Queued: int64(st.JobsByState[cns.JobQueued]), Running: int64(st.JobsByState[cns.JobRunning]),
			Succeeded: int64(st.JobsByState[cns.JobSucceeded]), Failed: int64(st.JobsByState[cns.JobFailed]),
		},
	}
	if n := st.SNOsByStatus[cns.StatusActive]; n > 0 {
		resp.Population.AverageTrust = st.ActiveTrustSum / float64(n)
	}
	if a.d.Queues != nil {
		qs, err := a.d.Queues(ctx, p)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		for _, q := range qs {
			resp.Queues = append(resp.Queues, &cnsv1.QueueDepth{Name: q.Name, Length: q.Length, Pending: q.Pending, Lag: q.Lag,
				OldestPendingAge: durationpb.New(q.OldestPending)})
		}
	}
	if resp.Processes, err = a.processes(ctx); err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(resp), nil
}

func (a *admin) processes(ctx context.Context) ([]*cnsv1.Process, error) {
	if a.d.Processes == nil {
		return nil, nil
	}
	ps, err := a.d.Processes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*cnsv1.Process, 0, len(ps))
	for _, pr := range ps {
		out = append(out, &cnsv1.Process{Service: pr.Service, Instance: pr.Instance, Version: pr.Version,
			Address: pr.Address, Concurrency: int32(pr.Concurrency), StartedAt: ts(pr.StartedAt),
			LastHeartbeat: ts(pr.LastHeartbeat), Online: pr.Online})
	}
	return out, nil
}

func (a *admin) ListWorkers(ctx context.Context, _ *connect.Request[cnsv1.ListWorkersRequest]) (*connect.Response[cnsv1.ListWorkersResponse], error) {
	ps, err := a.processes(ctx)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&cnsv1.ListWorkersResponse{Processes: ps}), nil
}

func (a *admin) GetConfig(ctx context.Context, _ *connect.Request[cnsv1.GetConfigRequest]) (*connect.Response[cnsv1.GetConfigResponse], error) {
	resp := &cnsv1.GetConfigResponse{}
	if a.d.Config != nil {
		for _, e := range a.d.Config() {
			resp.Entries = append(resp.Entries, &cnsv1.ConfigEntry{Key: e.Key, Value: e.Value, Source: e.Source, Secret: e.Secret})
		}
	}
	return connect.NewResponse(resp), nil
}

func (a *admin) ListDeadLetters(ctx context.Context, req *connect.Request[cnsv1.ListDeadLettersRequest]) (*connect.Response[cnsv1.ListDeadLettersResponse], error) {
	limit := int(req.Msg.GetLimit())
	switch {
	case limit < 0:
		return nil, a.fail(ctx, invalid("limit", "must not be negative"))
	case limit == 0:
		limit = 100
	case limit > 1000:
		limit = 1000
	}
	dls, err := a.d.Store.ListDeadLetters(ctx, project(ctx), limit)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	resp := &cnsv1.ListDeadLettersResponse{}
	for _, dl := range dls {
		resp.DeadLetters = append(resp.DeadLetters, &cnsv1.DeadLetter{DeadLetterId: dl.ID, JobId: dl.JobID, Topic: dl.Topic,
			Reason: dl.Reason, Deliveries: int32(dl.Deliveries), CreatedAt: ts(dl.CreatedAt)})
	}
	return connect.NewResponse(resp), nil
}

// selection checks that a bulk operation names its targets or says "all" explicitly, so an empty list
// sent by mistake never wipes every dead letter.
func selection(ids []string, all bool) error {
	switch {
	case all && len(ids) > 0:
		return invalid("deadLetterIds", "must be empty when all is set")
	case !all && len(ids) == 0:
		return invalid("deadLetterIds", "name at least one dead letter, or set all")
	case len(ids) > 1000:
		return invalid("deadLetterIds", "at most 1000 per call")
	}
	return nil
}

func (a *admin) RedriveDeadLetters(ctx context.Context, req *connect.Request[cnsv1.RedriveDeadLettersRequest]) (*connect.Response[cnsv1.RedriveDeadLettersResponse], error) {
	if err := selection(req.Msg.GetDeadLetterIds(), req.Msg.GetAll()); err != nil {
		return nil, a.fail(ctx, err)
	}
	n, err := a.d.Dispatcher.Redrive(ctx, project(ctx), req.Msg.GetDeadLetterIds())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&cnsv1.RedriveDeadLettersResponse{Redriven: int32(n)}), nil
}

func (a *admin) PurgeDeadLetters(ctx context.Context, req *connect.Request[cnsv1.PurgeDeadLettersRequest]) (*connect.Response[cnsv1.PurgeDeadLettersResponse], error) {
	if err := selection(req.Msg.GetDeadLetterIds(), req.Msg.GetAll()); err != nil {
		return nil, a.fail(ctx, err)
	}
	n, err := a.d.Dispatcher.Purge(ctx, project(ctx), req.Msg.GetDeadLetterIds())
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return connect.NewResponse(&cnsv1.PurgeDeadLettersResponse{Purged: int32(n)}), nil
}
