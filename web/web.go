// Package web is the CNS admin dashboard: server-rendered templ pages, htmx for the live parts, htmx and
// the stylesheet embedded in the binary (no CDN). Each page lives in its own package (handler, view model,
// view); this package wires them onto the API's mux behind sign-in, roles, CSRF protection and security
// headers. It reads and acts through the small interfaces of package ports, which the composition root
// adapts, so it works the same in `cns dev` and in the distributed mode.
//
// Security model: a session is an AES-GCM encrypted cookie (package session) holding the project, the
// role and a CSRF token, so any replica with the same key serves it. Every mutation is a POST that must
// come from the dashboard's own origin (Sec-Fetch-Site/Origin, net/http.CrossOriginProtection) and echo
// the session's CSRF token; operator-only actions check the role on the server. A strict Content Security
// Policy allows only the embedded script and stylesheet, and templ escapes every value, so an SNO's text
// can never run as script.
package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/auth"
	"github.com/cns-dev/cns/web/configuration"
	"github.com/cns-dev/cns/web/deadletters"
	"github.com/cns-dev/cns/web/history"
	"github.com/cns-dev/cns/web/jobs"
	"github.com/cns-dev/cns/web/login"
	"github.com/cns-dev/cns/web/overview"
	"github.com/cns-dev/cns/web/pairs"
	"github.com/cns-dev/cns/web/ports"
	"github.com/cns-dev/cns/web/session"
	"github.com/cns-dev/cns/web/snos"
	"github.com/cns-dev/cns/web/trust"
	"github.com/cns-dev/cns/web/ui"
	"github.com/cns-dev/cns/web/workers"
)

// User is a password account from configuration.
type User struct {
	PasswordHash string // bcrypt
	Role         string // viewer or operator
	Project      string // empty: Config.DefaultProject
}

// Config is the dashboard's part of the service configuration.
type Config struct {
	RefreshInterval time.Duration
	SessionTTL      time.Duration
	SessionKey      []byte // ≥ 32 bytes; the same on every replica
	HistorySize     int
	Users           map[string]User
	// DefaultProject is the project of users configured without one; it is sampled for the history from
	// the start, as are Projects.
	DefaultProject string
	Projects       []string
	Version        string
	// LoginHint tells people on the sign-in page where a token is (cns dev: the dev.token file).
	LoginHint string
	Limits    cns.Limits
}

// Deps are the dashboard's collaborators, adapted by the composition root.
type Deps struct {
	Store      ports.Store
	Engine     ports.Engine
	Search     ports.SearchFunc
	Dispatcher ports.Dispatcher
	// Verify checks a bearer token (auth.Verifier.Verify).
	Verify func(token string) (auth.Claims, error)
	// Revoked reports whether a token id is revoked; sessions signed in with that token end at their next
	// request. nil: no revocation list.
	Revoked   func(tokenID string) bool
	Queues    ports.QueuesFunc    // nil: no queue information
	Processes ports.ProcessesFunc // nil: no registry
	Config    func() []ports.ConfigEntry
	// Pairs lists chiral pairs; nil when this process has no pair discovery (its store keeps no pairs),
	// which the pages say instead of showing an empty list as if no pair existed.
	Pairs ports.PairsFunc
	Log   *zap.Logger
	Now   func() time.Time
}

// Dashboard is the mounted dashboard. Close stops its history sampler.
type Dashboard struct {
	cfg      Config
	d        Deps
	log      *zap.Logger
	sessions *session.Manager
	assets   map[string]asset
	csrf     *http.CrossOriginProtection
	sampler  *history.Sampler
	stop     context.CancelFunc
	stopped  chan struct{}

	login       *login.Handler
	overview    *overview.Handler
	snos        *snos.Handler
	trust       *trust.Handler
	pairs       *pairs.Handler
	jobs        *jobs.Handler
	deadletters *deadletters.Handler
	workers     *workers.Handler
	config      *configuration.Handler
}

// New builds the dashboard and starts sampling queue depth for the history chart.
func New(cfg Config, d Deps) (*Dashboard, error) {
	if d.Store == nil || d.Engine == nil || d.Search == nil || d.Dispatcher == nil || d.Verify == nil || d.Config == nil || d.Log == nil {
		return nil, errors.New("dashboard: store, engine, search, dispatcher, verify, config and log are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if cfg.RefreshInterval <= 0 {
		return nil, errors.New("dashboard: refresh interval must be positive")
	}
	sm, err := session.NewManager(cfg.SessionKey, cfg.SessionTTL, d.Now)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	assets, err := loadAssets()
	if err != nil {
		return nil, fmt.Errorf("dashboard: embedded assets: %w", err)
	}
	users := map[string]login.User{}
	for name, u := range cfg.Users {
		role := session.Role(u.Role)
		if !role.Valid() {
			return nil, fmt.Errorf("dashboard: user %s: unknown role %q", name, u.Role)
		}
		p := u.Project
		if p == "" {
			p = cfg.DefaultProject
		}
		users[name] = login.User{PasswordHash: []byte(u.PasswordHash), Role: role, Project: p}
	}
	db := &Dashboard{cfg: cfg, d: d, log: d.Log, sessions: sm, assets: assets, csrf: http.NewCrossOriginProtection()}
	db.csrf.SetDenyHandler(http.HandlerFunc(db.crossOrigin))
	hist := history.New(cfg.HistorySize)
	db.sampler = &history.Sampler{History: hist, Interval: cfg.RefreshInterval, Queues: d.Queues, Stats: d.Store.Stats, Log: d.Log, Now: d.Now}
	for _, p := range append([]string{cfg.DefaultProject}, cfg.Projects...) {
		if p != "" {
			db.sampler.Watch(p)
		}
	}
	a := db.uiAssets()
	db.login = &login.Handler{Assets: a, Sessions: sm, Verify: d.Verify, Revoked: d.Revoked, Users: users, Hint: cfg.LoginHint, Log: d.Log,
		Throttle: login.NewThrottle(10, 5*time.Minute),
		SignedIn: func(s session.Session) { db.sampler.Watch(s.Project) }}
	db.overview = &overview.Handler{Shell: db.shell, Stats: d.Store.Stats, Queues: d.Queues, Processes: d.Processes, History: hist, Refresh: cfg.RefreshInterval, Now: d.Now}
	db.snos = &snos.Handler{Shell: db.shell, Done: db.done, Store: d.Store, Engine: d.Engine, Search: d.Search, Pairs: d.Pairs, Log: d.Log}
	db.trust = &trust.Handler{Shell: db.shell, Store: d.Store}
	db.pairs = &pairs.Handler{Shell: db.shell, Pairs: d.Pairs}
	db.jobs = &jobs.Handler{Shell: db.shell, Done: db.done, Store: d.Store, Dispatcher: d.Dispatcher, Limits: cfg.Limits, Log: d.Log}
	db.deadletters = &deadletters.Handler{Shell: db.shell, Done: db.done, Store: d.Store, Dispatcher: d.Dispatcher, Log: d.Log}
	db.workers = &workers.Handler{Shell: db.shell, Processes: d.Processes, Now: d.Now}
	db.config = &configuration.Handler{Shell: db.shell, Entries: d.Config}

	ctx, cancel := context.WithCancel(context.Background())
	db.stop, db.stopped = cancel, make(chan struct{})
	go func() {
		defer close(db.stopped)
		db.sampler.Run(ctx)
	}()
	return db, nil
}

// Close stops the history sampler.
func (db *Dashboard) Close() {
	db.stop()
	<-db.stopped
}

// SampleNow takes a history sample at once (tests; the sampler also runs on its own).
func (db *Dashboard) SampleNow(ctx context.Context) { db.sampler.SampleNow(ctx) }

// Mount registers the dashboard's routes on mux. They share the API's port; none of them overlaps an
// API path.
func (db *Dashboard) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /static/", db.serveStatic)
	mux.Handle("GET /login", db.public(db.login.Page))
	mux.Handle("POST /login", db.public(db.login.SignIn))
	mux.Handle("POST /logout", db.action(false, func(w http.ResponseWriter, r *http.Request) error { db.login.SignOut(w, r); return nil }))

	mux.Handle("GET /{$}", db.page(db.overview.Page))
	mux.Handle("GET /overview/live", db.page(db.overview.Live))
	mux.Handle("GET /snos", db.page(db.snos.List))
	mux.Handle("GET /snos/{id}", db.page(db.snos.Detail))
	mux.Handle("POST /snos/{id}/archive", db.action(true, db.snos.Archive))
	mux.Handle("POST /snos/{id}/evaluate", db.action(true, db.snos.Evaluate))
	mux.Handle("GET /trust", db.page(db.trust.Page))
	mux.Handle("GET /pairs", db.page(db.pairs.Page))
	mux.Handle("GET /jobs", db.page(db.jobs.List))
	mux.Handle("POST /jobs", db.action(true, db.jobs.Submit))
	mux.Handle("GET /jobs/{id}", db.page(db.jobs.Detail))
	mux.Handle("GET /dead-letters", db.page(db.deadletters.Page))
	mux.Handle("POST /dead-letters/redrive", db.action(true, db.deadletters.Redrive))
	mux.Handle("POST /dead-letters/purge", db.action(true, db.deadletters.Purge))
	mux.Handle("GET /workers", db.page(db.workers.Page))
	mux.Handle("GET /config", db.page(db.config.Page))
}

// csp allows the embedded script and stylesheet only: no inline script or style, no eval, no framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	// Pages show a project's data: never keep them in a shared cache, nor in history after sign-out.
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Cookie, HX-Request")
}

// public serves pages anyone may see (sign-in); its POST still must be same-origin.
func (db *Dashboard) public(h http.HandlerFunc) http.Handler {
	return db.csrf.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		h(w, r)
	}))
}

// authenticate returns the request's session, or answers the request itself (sign-in redirect) and
// returns false.
func (db *Dashboard) authenticate(w http.ResponseWriter, r *http.Request) (session.Session, bool) {
	s, err := db.sessions.Read(r)
	if err == nil && s.TokenID != "" && db.d.Revoked != nil && db.d.Revoked(s.TokenID) {
		db.log.Info("dashboard session of a revoked token ended", zap.String("project", s.Project))
		err = session.ErrInvalid
	}
	if err == nil {
		return s, true
	}
	if !errors.Is(err, session.ErrNoSession) {
		db.sessions.Clear(w)
	}
	to := "/login"
	if r.Method == http.MethodGet && r.URL.Path != "/overview/live" {
		to += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	if r.Header.Get("HX-Request") == "true" {
		// htmx would swap the sign-in page into a fragment: tell it to navigate instead.
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusUnauthorized)
		return session.Session{}, false
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return session.Session{}, false
}

// page serves a signed-in GET page.
func (db *Dashboard) page(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		s, ok := db.authenticate(w, r)
		if !ok {
			return
		}
		r = r.WithContext(session.NewContext(r.Context(), s))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		db.answer(w, r, h(w, r))
	})
}

// action serves a signed-in POST: same origin, the session's CSRF token, and for operatorOnly the
// operator role, all checked before the handler runs.
func (db *Dashboard) action(operatorOnly bool, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return db.csrf.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		r.Body = http.MaxBytesReader(w, r.Body, int64(db.cfg.Limits.MaxDocumentBytes)+64<<10)
		s, ok := db.authenticate(w, r)
		if !ok {
			return
		}
		r = r.WithContext(session.NewContext(r.Context(), s))
		if err := r.ParseForm(); err != nil {
			db.answer(w, r, ui.BadRequest("The form could not be read (it may be too large)."))
			return
		}
		if !session.CheckCSRF(s, r) {
			db.log.Warn("dashboard action without a valid CSRF token refused", zap.String("project", s.Project), zap.String("path", r.URL.Path))
			db.answer(w, r, &ui.Problem{Status: http.StatusForbidden, Title: "Refused",
				Text: "The form was stale or did not come from this dashboard. Reload the page and try again."})
			return
		}
		if operatorOnly && !s.CanOperate() {
			db.log.Warn("dashboard action refused to a viewer", zap.String("project", s.Project), zap.String("path", r.URL.Path), zap.String("by", s.Subject))
			db.answer(w, r, &ui.Problem{Status: http.StatusForbidden, Title: "Operators only",
				Text: "This action needs the operator role; you are signed in as a viewer."})
			return
		}
		db.answer(w, r, h(w, r))
	}))
}

// crossOrigin answers a refused cross-origin request.
func (db *Dashboard) crossOrigin(w http.ResponseWriter, r *http.Request) {
	headers(w)
	db.log.Warn("cross-origin dashboard request refused", zap.String("path", r.URL.Path))
	db.render(w, r, &ui.Problem{Status: http.StatusForbidden, Title: "Cross-origin request refused",
		Text: "Changes can only be made from the dashboard's own pages."})
}

// answer turns a handler's error into a page: a Problem as it is, a domain code as its status, anything
// else as a logged 500 with no detail shown.
func (db *Dashboard) answer(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil {
		return
	}
	var p *ui.Problem
	if !errors.As(err, &p) {
		switch cns.ErrorCode(err) {
		case cns.ENOTFOUND:
			p = &ui.Problem{Status: http.StatusNotFound, Title: "Not found", Text: cns.ErrorMessage(err)}
		case cns.EINVALID:
			p = ui.BadRequest(cns.ErrorMessage(err))
		case cns.EUNAVAILABLE, cns.EEXHAUSTED:
			p = &ui.Problem{Status: http.StatusServiceUnavailable, Title: "Busy", Text: "The service is busy or a dependency is down; try again shortly."}
		default:
			if r.Context().Err() != nil {
				return // the browser went away
			}
			s, _ := session.FromContext(r.Context())
			db.log.Error("dashboard request failed", zap.String("project", s.Project), zap.String("path", r.URL.Path), zap.Error(err))
			p = &ui.Problem{Status: http.StatusInternalServerError, Title: "Something went wrong", Text: "The page could not be produced; the error is in the service log."}
		}
	}
	db.render(w, r, p)
}

func (db *Dashboard) render(w http.ResponseWriter, r *http.Request, p *ui.Problem) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(p.Status)
	var err error
	if _, ok := session.FromContext(r.Context()); ok {
		err = ui.ProblemPage(db.shell(w, r, p.Title, ""), p.Title, p.Text).Render(r.Context(), w)
	} else {
		err = ui.ProblemBare(db.uiAssets(), p.Title, p.Text).Render(r.Context(), w)
	}
	if err != nil {
		db.log.Warn("render problem page", zap.Error(err))
	}
}

// shell builds the frame of a signed-in page.
func (db *Dashboard) shell(w http.ResponseWriter, r *http.Request, title, active string) ui.Shell {
	s, _ := session.FromContext(r.Context())
	sh := ui.Shell{Title: title, Active: active, User: s.Subject, Project: s.Project, Role: string(s.Role), Operator: s.CanOperate(),
		CSRF: s.CSRF, Version: db.cfg.Version, Assets: db.uiAssets()}
	if r.Header.Get("HX-Request") != "true" {
		sh.Flash = db.sessions.TakeFlash(w, r)
	}
	return sh
}

func (db *Dashboard) uiAssets() ui.Assets {
	return ui.Assets{CSS: db.assets["app.css"].url, JS: db.assets["htmx.min.js"].url}
}

// done ends a form action with a notice and a redirect (POST-redirect-GET).
func (db *Dashboard) done(w http.ResponseWriter, r *http.Request, to, notice string) {
	if notice != "" {
		db.sessions.SetFlash(w, notice)
	}
	if !strings.HasPrefix(to, "/") {
		to = "/"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
