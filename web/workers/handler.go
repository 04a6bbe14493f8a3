// Package workers is the dashboard's registry page: every registered cns process (API and worker
// replicas, or the single `cns dev` process) with its version, concurrency, uptime and last heartbeat.
package workers

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/cns-dev/cns/web/ports"
	"github.com/cns-dev/cns/web/ui"
)

// Handler serves GET /workers.
type Handler struct {
	Shell     ui.ShellFunc
	Processes ports.ProcessesFunc // nil: no registry
	Now       func() time.Time
}

// Page renders the registry.
func (h *Handler) Page(w http.ResponseWriter, r *http.Request) error {
	m := Model{Shell: h.Shell(w, r, "Workers", "workers"), Available: h.Processes != nil}
	if h.Processes != nil {
		ps, err := h.Processes(r.Context())
		if err != nil {
			return fmt.Errorf("list processes: %w", err)
		}
		slices.SortFunc(ps, func(a, b ports.Process) int {
			if a.Online != b.Online {
				if a.Online {
					return -1
				}
				return 1
			}
			return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Instance, b.Instance))
		})
		now := h.Now()
		for _, p := range ps {
			m.Rows = append(m.Rows, Row{Service: p.Service, Instance: p.Instance, Version: p.Version, Address: p.Address, Concurrency: p.Concurrency,
				Started: ui.When(p.StartedAt), Uptime: ui.Age(now.Sub(p.StartedAt)), Heartbeat: ui.Ago(now.Sub(p.LastHeartbeat)),
				HeartbeatISO: ui.ISO(p.LastHeartbeat), Online: p.Online})
			if p.Online {
				m.Online++
			} else {
				m.Offline++
			}
		}
	}
	return View(m).Render(r.Context(), w)
}
