// Package deadletters is the dashboard's dead-letter page: commands given up on after the configured
// number of deliveries, with their reason, and the operator's redrive (the jobs go back in the queue with
// their attempts reset) and purge.
package deadletters

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"go.uber.org/zap"

	"github.com/cns-dev/cns/web/ports"
	"github.com/cns-dev/cns/web/session"
	"github.com/cns-dev/cns/web/ui"
)

// Handler serves /dead-letters.
type Handler struct {
	Shell      ui.ShellFunc
	Done       ui.DoneFunc
	Store      ports.Store
	Dispatcher ports.Dispatcher
	Log        *zap.Logger
}

// Limit is how many dead letters the page lists.
const Limit = 500

// Page lists the dead letters, newest first.
func (h *Handler) Page(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	dls, err := h.Store.ListDeadLetters(ctx, s.Project, Limit)
	if err != nil {
		return fmt.Errorf("list dead letters: %w", err)
	}
	m := Model{Shell: h.Shell(w, r, "Dead letters", "deadletters"), CanOperate: s.CanOperate()}
	for _, d := range dls {
		row := Row{ID: d.ID, JobID: d.JobID, Topic: d.Topic, Reason: d.Reason, Deliveries: d.Deliveries, Created: ui.When(d.CreatedAt), CreatedISO: ui.ISO(d.CreatedAt)}
		if d.JobID != "" {
			row.JobHref = "/jobs/" + url.PathEscape(d.JobID)
		}
		m.Rows = append(m.Rows, row)
	}
	return View(m).Render(ctx, w)
}

// selection reads which dead letters the form names: the checked ones, or all of them.
func selection(r *http.Request) (ids []string, all bool) {
	return r.PostForm["id"], r.PostFormValue("all") == "1"
}

// Redrive puts the selected dead letters' jobs back in the queue (operators only; the router checks).
func (h *Handler) Redrive(w http.ResponseWriter, r *http.Request) error {
	return h.act(w, r, "redrive", h.Dispatcher.Redrive, "Redrove %d dead %s; the jobs are queued again.")
}

// Purge deletes the selected dead letters; their jobs stay failed (operators only).
func (h *Handler) Purge(w http.ResponseWriter, r *http.Request) error {
	return h.act(w, r, "purge", h.Dispatcher.Purge, "Purged %d dead %s; the jobs stay failed.")
}

func (h *Handler) act(w http.ResponseWriter, r *http.Request, verb string,
	do func(ctx context.Context, project string, ids []string) (int, error), done string) error {
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	ids, all := selection(r)
	if !all && len(ids) == 0 {
		h.Done(w, r, "/dead-letters", "Nothing was selected; tick the dead letters first.")
		return nil
	}
	if all {
		ids = nil // the dispatcher's "every dead letter of the project"
	}
	n, err := do(ctx, s.Project, ids)
	if err != nil {
		return fmt.Errorf("%s dead letters: %w", verb, err)
	}
	h.Log.Info("dead letters "+verb+" from the dashboard", zap.String("project", s.Project), zap.Int("count", n), zap.String("by", s.Subject))
	word := "letters"
	if n == 1 {
		word = "letter"
	}
	h.Done(w, r, "/dead-letters", fmt.Sprintf(done, n, word))
	return nil
}
