// Package configuration is the dashboard's configuration page: every effective value with its source
// (default, file, env or flag), grouped by section, secrets already redacted by the configuration package.
package configuration

import (
	"net/http"
	"strings"

	"github.com/cns-dev/cns/web/ports"
	"github.com/cns-dev/cns/web/ui"
)

// Handler serves GET /config.
type Handler struct {
	Shell   ui.ShellFunc
	Entries func() []ports.ConfigEntry
}

// Page renders the configuration, optionally filtered by a text in the key.
func (h *Handler) Page(w http.ResponseWriter, r *http.Request) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	m := Model{Shell: h.Shell(w, r, "Configuration", "config"), Query: q}
	idx := map[string]int{}
	for _, e := range h.Entries() {
		if q != "" && !strings.Contains(e.Key, strings.ToLower(q)) {
			continue
		}
		section, _, _ := strings.Cut(e.Key, ".")
		if !strings.Contains(e.Key, ".") {
			section = "general"
		}
		i, ok := idx[section]
		if !ok {
			i = len(m.Groups)
			idx[section] = i
			m.Groups = append(m.Groups, Group{Name: section})
		}
		value := e.Value
		if e.Secret {
			value = "[redacted]" // the configuration package redacts already; never trust one layer alone
		}
		m.Groups[i].Rows = append(m.Groups[i].Rows, Row{Key: e.Key, Value: value, Source: e.Source, Secret: e.Secret})
		m.Count++
	}
	return View(m).Render(r.Context(), w)
}
