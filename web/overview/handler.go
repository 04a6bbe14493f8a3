// Package overview is the dashboard's first page: population, average trust, SNOs per minute, job states,
// queue depth with its recent history drawn as SVG, and the live processes. Its live part polls with htmx
// at the configured interval, so it refreshes without reloading the page.
package overview

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/web/chart"
	"github.com/cns-dev/cns/web/history"
	"github.com/cns-dev/cns/web/ports"
	"github.com/cns-dev/cns/web/session"
	"github.com/cns-dev/cns/web/ui"
)

// Handler serves GET / and GET /overview/live.
type Handler struct {
	Shell     ui.ShellFunc
	Stats     func(ctx context.Context, project string) (cns.Stats, error)
	Queues    ports.QueuesFunc    // nil: no queue information
	Processes ports.ProcessesFunc // nil: no registry
	History   *history.History
	Refresh   time.Duration
	Now       func() time.Time
}

// Page renders the whole overview.
func (h *Handler) Page(w http.ResponseWriter, r *http.Request) error {
	s, _ := session.FromContext(r.Context())
	live, err := h.live(r.Context(), s.Project)
	if err != nil {
		return err
	}
	return View(Model{Shell: h.Shell(w, r, "Overview", "overview"), Live: live}).Render(r.Context(), w)
}

// Live renders only the refreshing part (htmx swaps it in place).
func (h *Handler) Live(w http.ResponseWriter, r *http.Request) error {
	s, _ := session.FromContext(r.Context())
	live, err := h.live(r.Context(), s.Project)
	if err != nil {
		return err
	}
	return LiveView(live).Render(r.Context(), w)
}

var statusOrder = []cns.Status{cns.StatusActive, cns.StatusReview, cns.StatusArchived, cns.StatusRejected}
var stateOrder = []cns.JobState{cns.JobQueued, cns.JobRunning, cns.JobSucceeded, cns.JobFailed}

func (h *Handler) live(ctx context.Context, project string) (Live, error) {
	now := h.Now()
	st, err := h.Stats(ctx, project)
	if err != nil {
		return Live{}, fmt.Errorf("overview stats: %w", err)
	}
	l := Live{
		Trigger: "every " + strconv.FormatInt(h.Refresh.Milliseconds(), 10) + "ms",
		Refresh: ui.Age(h.Refresh), UpdatedAt: now.UTC().Format("15:04:05") + " UTC", UpdatedISO: ui.ISO(now),
		AverageTrust: "–", PerMinute: "–",
	}
	for _, s := range statusOrder {
		n := st.SNOsByStatus[s]
		l.Population += n
		l.ByStatus = append(l.ByStatus, Count{Key: s.String(), Label: s.String(), N: n, Href: "/snos?status=" + s.String()})
	}
	if a := st.SNOsByStatus[cns.StatusActive]; a > 0 {
		l.AverageTrust = ui.Score(st.ActiveTrustSum / float64(a))
	}
	for _, s := range stateOrder {
		l.Jobs = append(l.Jobs, Count{Key: s.String(), Label: s.String(), N: st.JobsByState[s], Href: "/jobs?state=" + s.String()})
	}
	if h.Queues != nil {
		qs, err := h.Queues(ctx, project)
		if err != nil {
			return Live{}, fmt.Errorf("overview queues: %w", err)
		}
		for _, q := range qs {
			l.Queues = append(l.Queues, QueueRow{Name: q.Name, Length: q.Length, Pending: q.Pending, Lag: q.Lag, Oldest: oldest(q.OldestPending)})
		}
	}
	samples := h.History.Samples(project)
	if rate, ok := history.PerMinute(samples, now); ok {
		l.PerMinute = strconv.FormatFloat(rate, 'f', 1, 64)
	}
	l.Chart, l.HistoryNote = queueChart(samples, h.Refresh)
	if h.Processes != nil {
		ps, err := h.Processes(ctx)
		if err != nil {
			return Live{}, fmt.Errorf("overview processes: %w", err)
		}
		for _, p := range ps {
			if !p.Online {
				continue
			}
			l.Processes = append(l.Processes, ProcessRow{Service: p.Service, Instance: p.Instance, Version: p.Version, Address: p.Address,
				Concurrency: p.Concurrency, Heartbeat: ui.Ago(now.Sub(p.LastHeartbeat)), HeartbeatISO: ui.ISO(p.LastHeartbeat), Online: p.Online})
		}
	}
	return l, nil
}

func oldest(d time.Duration) string {
	if d <= 0 {
		return "–"
	}
	return ui.Age(d)
}

// seriesClasses colour up to four queues; more queues reuse them (their names are in the legend).
var seriesClasses = []string{"s1", "s2", "s3", "s4"}

// queueChart draws each queue's length over the samples this process has taken.
func queueChart(samples []history.Sample, every time.Duration) (chart.Line, string) {
	var names []string
	seen := map[string]bool{}
	for _, s := range samples {
		for _, q := range s.Queues {
			if !seen[q.Name] {
				seen[q.Name] = true
				names = append(names, q.Name)
			}
		}
	}
	var series []chart.LineSeries
	for i, n := range names {
		vals := make([]float64, len(samples))
		for j, s := range samples {
			for _, q := range s.Queues {
				if q.Name == n {
					vals[j] = float64(q.Length)
				}
			}
		}
		series = append(series, chart.LineSeries{Name: n + " length", Class: seriesClasses[i%len(seriesClasses)], Values: vals})
	}
	start, end := "", ""
	if len(samples) > 0 {
		start = samples[0].At.UTC().Format("15:04:05")
		end = samples[len(samples)-1].At.UTC().Format("15:04:05")
	}
	note := fmt.Sprintf("%d samples, one every %s, kept by this process since it started (each API replica keeps its own).", len(samples), ui.Age(every))
	return chart.NewLine("Queue length over time", "Messages not yet acknowledged, per queue, sampled by this process.", series, start, end), note
}
