package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/auth"
	"github.com/cns-dev/cns/web"
	"github.com/cns-dev/cns/web/ports"
)

// dashboardKeyFile holds the session key `cns dev` makes when dashboard.session_key is not configured.
const dashboardKeyFile = "dashboard.key"

// mountDashboard builds the admin dashboard over the same store, engine, dispatcher and verifier as the
// API and mounts it on mux. The adapters below are the only place that knows both the dashboard's ports
// and this process's parts.
func (m *Main) mountDashboard(mux *http.ServeMux, verifier *auth.Verifier) error {
	c := &m.Config.Config
	key, err := m.dashboardKey()
	if err != nil {
		return err
	}
	users := map[string]web.User{}
	for name, u := range c.Dashboard.Users {
		users[name] = web.User{PasswordHash: u.PasswordHash, Role: u.Role, Project: u.Project}
	}
	projects := make([]string, 0, len(c.Auth.Projects))
	for p := range c.Auth.Projects {
		projects = append(projects, p)
	}
	hint := ""
	if m.mode() == ModeDev {
		hint = fmt.Sprintf("cns dev wrote an operator token for project %q to %s.", c.Auth.DevProject, filepath.Join(c.DataDir, devTokenFile))
	}
	deps := web.Deps{
		Store: m.store, Engine: m.engine, Dispatcher: m.dispatcher, Verify: verifier.Verify,
		Search:    m.dashboardSearch,
		Queues:    m.dashboardQueues,
		Processes: m.dashboardProcesses,
		Config:    m.dashboardConfig,
		Log:       m.Log.Named("web"),
	}
	if m.loop != nil {
		// Without a pair store the loop is off; the pages then say that pair discovery is not available.
		deps.Pairs = m.dashboardPairs
	}
	if m.revoked != nil {
		deps.Revoked = m.revoked.Revoked
	}
	dash, err := web.New(web.Config{
		RefreshInterval: c.Dashboard.RefreshInterval, SessionTTL: c.Dashboard.SessionTTL, SessionKey: key,
		HistorySize: c.Dashboard.HistorySize, Users: users, DefaultProject: c.Auth.DevProject, Projects: projects,
		Version: version, LoginHint: hint, Limits: limits(c),
	}, deps)
	if err != nil {
		return err
	}
	m.dash = dash
	dash.Mount(mux)
	return nil
}

// dashboardKey is the configured session key; otherwise `cns dev` keeps one in its data dir, and a
// `cns serve` replica makes a random one (sessions then last only as long as this replica, which the log
// says, because replicas must share the key).
func (m *Main) dashboardKey() ([]byte, error) {
	c := &m.Config.Config
	if c.Dashboard.SessionKey != "" {
		k, err := auth.DecodeSecret(c.Dashboard.SessionKey)
		if err != nil {
			return nil, fmt.Errorf("dashboard.session_key: %w", err)
		}
		return k, nil
	}
	if m.mode() == ModeDev {
		return loadOrCreateSecret(filepath.Join(c.DataDir, dashboardKeyFile))
	}
	m.Log.Warn("dashboard.session_key is not set: dashboard sessions are valid on this replica only, until it restarts")
	return auth.GenerateSecret()
}

func (m *Main) dashboardSearch(ctx context.Context, project, query string, k int) ([]ports.Hit, error) {
	hits, err := m.engine.Search(ctx, project, query, k)
	if err != nil {
		return nil, err
	}
	out := make([]ports.Hit, len(hits))
	for i, h := range hits {
		out[i] = ports.Hit{SNO: h.SNO, Score: h.Score}
	}
	return out, nil
}

func (m *Main) dashboardQueues(ctx context.Context, project string) ([]ports.Queue, error) {
	qs, err := m.queues(ctx, project)
	if err != nil {
		return nil, err
	}
	out := make([]ports.Queue, len(qs))
	for i, q := range qs {
		out[i] = ports.Queue{Name: q.Name, Length: q.Length, Pending: q.Pending, Lag: q.Lag, OldestPending: q.OldestPending}
	}
	return out, nil
}

func (m *Main) dashboardProcesses(ctx context.Context) ([]ports.Process, error) {
	ps, err := m.processes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ports.Process, len(ps))
	for i, p := range ps {
		out[i] = ports.Process{Service: p.Service, Instance: p.Instance, Version: p.Version, Address: p.Address,
			Concurrency: p.Concurrency, StartedAt: p.StartedAt, LastHeartbeat: p.LastHeartbeat, Online: p.Online}
	}
	return out, nil
}

func (m *Main) dashboardConfig() []ports.ConfigEntry {
	var out []ports.ConfigEntry
	for _, e := range m.Config.Entries() {
		out = append(out, ports.ConfigEntry{Key: e.Key, Value: e.Value, Source: e.Source, Secret: e.Secret})
	}
	return out
}

// dashboardPairs lists chiral pairs with their SNOs' hypotheses and, when the pair was synthesized by the
// current generator and that job succeeded, the synthesized SNO.
func (m *Main) dashboardPairs(ctx context.Context, project, snoID string, limit int) ([]ports.Pair, error) {
	ps, err := m.engine.ListPairs(ctx, cns.PairFilter{Project: project, SNOID: snoID, Limit: limit})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ids []string
	for _, p := range ps {
		for _, id := range []string{p.A, p.B} {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	snos, err := m.loop.pairs.GetSNOs(ctx, project, ids)
	if err != nil {
		return nil, fmt.Errorf("load paired snos: %w", err)
	}
	byID := make(map[string]*cns.SNO, len(snos))
	for _, s := range snos {
		byID[s.ID] = s
	}
	ref := func(id string) ports.SNORef {
		if s, ok := byID[id]; ok {
			return ports.SNORef{ID: id, Hypothesis: s.Hypothesis, Trust: s.Trust}
		}
		return ports.SNORef{ID: id, Hypothesis: id}
	}
	gen := m.engine.Generator()
	out := make([]ports.Pair, 0, len(ps))
	for _, p := range ps {
		dp := ports.Pair{A: ref(p.A), B: ref(p.B), Chirality: p.Chirality, Entanglement: p.Entanglement, Potential: p.Potential,
			SharedEvidence: p.SharedEvidenceIDs}
		jobID, err := m.loop.pairs.SynthesisClaim(ctx, project, p.A, p.B, gen)
		switch {
		case err == nil:
			if j, err := m.store.GetJob(ctx, project, jobID); err == nil && j.State == cns.JobSucceeded {
				dp.SynthesisID = j.SNOID
			}
		case cns.ErrorCode(err) != cns.ENOTFOUND:
			return nil, fmt.Errorf("synthesis of pair: %w", err)
		}
		out = append(out, dp)
	}
	return out, nil
}
