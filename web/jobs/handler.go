// Package jobs is the dashboard's job list (filtered by state, failed ones in one click, paged by cursor),
// the job detail with its error and attempts, and the operator's form to submit a document.
package jobs

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/web/ports"
	"github.com/cns-dev/cns/web/session"
	"github.com/cns-dev/cns/web/ui"
)

// Handler serves /jobs and /jobs/{id}.
type Handler struct {
	Shell      ui.ShellFunc
	Done       ui.DoneFunc
	Store      ports.Store
	Dispatcher ports.Dispatcher
	Limits     cns.Limits
	Log        *zap.Logger
}

// PageSize is the number of jobs per page.
const PageSize = 50

var states = []cns.JobState{cns.JobQueued, cns.JobRunning, cns.JobSucceeded, cns.JobFailed}

type cursor struct {
	C int64  `json:"c"`
	I string `json:"i"`
}

func encodeCursor(j *cns.Job) string {
	b, _ := json.Marshal(cursor{C: j.CreatedAt.UnixNano(), I: j.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*cns.JobCursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.I == "" {
		return nil, ui.BadRequest("The page link is not valid; start again from the first page.")
	}
	return &cns.JobCursor{CreatedAt: time.Unix(0, c.C).UTC(), ID: c.I}, nil
}

func jobHref(id string) string { return "/jobs/" + url.PathEscape(id) }

// List renders the jobs, newest first.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) error {
	return h.list(w, r, SubmitForm{}, http.StatusOK)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, form SubmitForm, status int) error {
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	q := r.URL.Query()
	state := q.Get("state")
	f := cns.JobFilter{Project: s.Project}
	if state != "" {
		i := slices.IndexFunc(states, func(st cns.JobState) bool { return st.String() == state })
		if i < 0 {
			return ui.BadRequest("Unknown job state.")
		}
		f.States = []cns.JobState{states[i]}
	}
	after, err := decodeCursor(q.Get("after"))
	if err != nil {
		return err
	}
	stats, err := h.Store.Stats(ctx, s.Project)
	if err != nil {
		return fmt.Errorf("job stats: %w", err)
	}
	m := ListModel{Shell: h.Shell(w, r, "Jobs", "jobs"), CanSubmit: s.CanOperate(), Submit: form}
	total := 0
	for _, st := range states {
		total += stats.JobsByState[st]
	}
	m.States = append(m.States, Tab{Label: "all", Href: "/jobs", Current: state == "", Count: total})
	for _, st := range states {
		m.States = append(m.States, Tab{Label: st.String(), Href: "/jobs?state=" + st.String(), Current: state == st.String(), Count: stats.JobsByState[st]})
	}
	f.After, f.Limit = after, PageSize+1
	list, err := h.Store.ListJobs(ctx, f)
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	if len(list) > PageSize {
		list = list[:PageSize]
		m.Next = ui.With("/jobs", q, "after", encodeCursor(list[len(list)-1]))
	}
	if after != nil {
		m.First = ui.With("/jobs", q, "after", "")
	}
	for _, j := range list {
		row := Row{ID: j.ID, Href: jobHref(j.ID), Kind: j.Kind.String(), State: j.State.String(), Attempts: j.Attempts,
			Error: j.Error, Created: ui.When(j.CreatedAt), SNOID: j.SNOID}
		if j.SNOID != "" && j.State == cns.JobSucceeded {
			row.SNOHref = "/snos/" + url.PathEscape(j.SNOID)
		}
		m.Rows = append(m.Rows, row)
	}
	dls, err := h.Store.ListDeadLetters(ctx, s.Project, 0)
	if err != nil {
		return fmt.Errorf("count dead letters: %w", err)
	}
	m.DeadLetter = len(dls)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	return ListView(m).Render(ctx, w)
}

// Detail renders one job.
func (h *Handler) Detail(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	id := r.PathValue("id")
	j, err := h.Store.GetJob(ctx, s.Project, id)
	if cns.ErrorCode(err) == cns.ENOTFOUND {
		return ui.NotFound("Job " + strconv.Quote(id))
	}
	if err != nil {
		return fmt.Errorf("get job: %w", err)
	}
	m := DetailModel{Shell: h.Shell(w, r, "Job "+j.ID, "jobs"), ID: j.ID, Kind: j.Kind.String(), State: j.State.String(),
		Attempts: j.Attempts, ErrorCode: j.ErrorCode, Error: j.Error, Created: ui.When(j.CreatedAt), Started: ui.When(j.StartedAt),
		Finished: ui.When(j.FinishedAt), Updated: ui.When(j.UpdatedAt), SNOID: j.SNOID, Idempotency: j.IdempotencyKey}
	if j.SNOID != "" && j.State == cns.JobSucceeded {
		m.SNOHref = "/snos/" + url.PathEscape(j.SNOID)
	}
	switch {
	case j.Document != nil:
		m.Input = append(m.Input, KV{"Source", j.Document.Source}, KV{"Length", strconv.Itoa(len(j.Document.Text)) + " bytes"})
		m.Excerpt = excerpt(j.Document.Text)
	case j.Narrative != nil:
		m.Input = append(m.Input, KV{"Claims", strconv.Itoa(len(j.Narrative.Claims))}, KV{"Edges", strconv.Itoa(len(j.Narrative.Edges))},
			KV{"Evidence", strconv.Itoa(len(j.Narrative.Evidence))})
		m.Excerpt = excerpt(j.Narrative.Hypothesis)
	case j.Synthesis != nil:
		m.Input = append(m.Input, KV{"Pair", j.Synthesis.A + " × " + j.Synthesis.B}, KV{"Generator", j.Synthesis.Generator})
		m.Parents = []Link{{Href: "/snos/" + url.PathEscape(j.Synthesis.A), Label: j.Synthesis.A}, {Href: "/snos/" + url.PathEscape(j.Synthesis.B), Label: j.Synthesis.B}}
	}
	dls, err := h.Store.ListDeadLetters(ctx, s.Project, 0)
	if err != nil {
		return fmt.Errorf("list dead letters: %w", err)
	}
	for _, d := range dls {
		if d.JobID == j.ID {
			m.DeadLetters = append(m.DeadLetters, DeadLetterRow{ID: d.ID, Reason: d.Reason, Created: ui.When(d.CreatedAt), Deliveries: d.Deliveries})
		}
	}
	return DetailView(m).Render(ctx, w)
}

func excerpt(s string) string {
	const n = 600
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Submit accepts a document as an ingestion job (operators only; the router checks the role).
func (h *Handler) Submit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	in := cns.DocumentInput{Source: strings.TrimSpace(r.PostFormValue("source")), Text: r.PostFormValue("text")}
	if err := cns.ValidateDocument(in, h.Limits); err != nil {
		var de *cns.Error
		if !errors.As(err, &de) {
			return fmt.Errorf("validate document: %w", err)
		}
		form := SubmitForm{Source: in.Source, Text: in.Text}
		for _, v := range de.Violations {
			form.Problems = append(form.Problems, v.Field+": "+v.Description)
		}
		if len(form.Problems) == 0 {
			form.Problems = []string{de.Message}
		}
		return h.list(w, r, form, http.StatusUnprocessableEntity)
	}
	id, err := h.Dispatcher.Accept(ctx, &cns.Job{Project: s.Project, Kind: cns.JobIngestDocument, Document: &in})
	if err != nil {
		return fmt.Errorf("accept job: %w", err)
	}
	h.Log.Info("job submitted from the dashboard", zap.String("project", s.Project), zap.String("job_id", id), zap.String("by", s.Subject))
	h.Done(w, r, jobHref(id), "Job accepted; it is queued for a worker.")
	return nil
}
