package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/auth"
	"github.com/cns-dev/cns/configs"
	"github.com/cns-dev/cns/critic"
	"github.com/cns-dev/cns/dispatch"
	"github.com/cns-dev/cns/engine"
	"github.com/cns-dev/cns/pubsub"
	"github.com/cns-dev/cns/server"
	"github.com/cns-dev/cns/store/bolt"
	"github.com/cns-dev/cns/worker"
)

// Main is the embedded `cns dev` composition: API, workers, in-process bus and on-disk store in one
// process. End-to-end tests start it on port 0 exactly as the command does.
type Main struct {
	Config *configs.Loaded
	Log    *zap.Logger
	// NoWorkers starts the API without consuming commands (tests use it to stop a process before a job
	// ran).
	NoWorkers bool

	store      *bolt.Store
	bus        pubsub.Bus
	router     *message.Router
	engine     *engine.Engine
	dispatcher *dispatch.Dispatcher
	http       *http.Server
	listener   net.Listener
	started    time.Time
	secret     []byte
	serveErr   chan error
	closeOne   sync.Once
}

// devSecretFile and devTokenFile live in the data dir.
const (
	devSecretFile = "dev.secret"
	devTokenFile  = "dev.token"
)

func newLogger(level, format string) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	cfg := zap.NewProductionConfig()
	if format == "console" {
		cfg = zap.NewDevelopmentConfig()
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.DisableStacktrace = true
	cfg.Sampling = nil
	return cfg.Build()
}

// Open opens the store, the bus and the engine, and binds the listener. It does not serve yet.
func (m *Main) Open(ctx context.Context) error {
	c := &m.Config.Config
	m.started = time.Now()
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	secret, err := loadOrCreateSecret(filepath.Join(c.DataDir, devSecretFile))
	if err != nil {
		return err
	}
	m.secret = secret
	st, err := bolt.Open(filepath.Join(c.DataDir, "cns.db"))
	if err != nil {
		return err
	}
	m.store = st

	emb, nli, err := newNLP(c)
	if err != nil {
		return fmt.Errorf("nlp backend: %w", err)
	}
	newIndex, err := newIndexFactory(c)
	if err != nil {
		return fmt.Errorf("vector backend: %w", err)
	}
	w := c.Critics.EffectiveWeights()
	m.engine, err = engine.New(engine.Config{
		Limits: limits(c),
		Critic: critic.Config{
			Weights:      critic.Weights{Grounding: w.Grounding, Logic: w.Logic, Novelty: w.Novelty},
			NoveltyAlpha: c.Critics.NoveltyAlpha, NoveltyBeta: c.Critics.NoveltyBeta, NoveltyK: c.Critics.NoveltyK,
			TrustFloor: c.Critics.TrustFloor, MaxBranching: c.Critics.MaxBranching,
		},
		MinTrust: c.Admission.MinTrust,
		NewIndex: newIndex,
	}, st, emb, nli)
	if err != nil {
		return err
	}
	n, err := m.engine.Rebuild(ctx)
	if err != nil {
		return err
	}
	m.Log.Info("population loaded", zap.Int("snos", n))

	wlog := pubsub.NewZapLogger(m.Log)
	m.bus = pubsub.NewInProcess(wlog)
	m.router, err = message.NewRouter(message.RouterConfig{CloseTimeout: c.Worker.DrainTimeout}, wlog)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	metrics := newMetrics()
	if !m.NoWorkers {
		wk := worker.New(worker.Config{Concurrency: c.Worker.Concurrency, MaxAttempts: c.Worker.MaxAttempts, JobTimeout: c.Worker.JobTimeout},
			st, m.engine, nil, m.Log.Named("worker"))
		wk.OnJobEnd = metrics.jobEnded
		wk.Register(m.router, m.bus)
	}

	m.dispatcher = &dispatch.Dispatcher{Store: st, Publisher: m.bus, Log: m.Log.Named("dispatch"), OnAccepted: metrics.jobAccepted}
	verifier := auth.NewVerifier(m.projectSecret, nil, c.Auth.ClockSkew)
	srv := server.New(server.Deps{
		Store: st, Dispatcher: m.dispatcher, Engine: m.engine, Verifier: verifier, Log: m.Log.Named("api"),
		Limits: limits(c), MaxRequestBytes: c.Server.MaxRequestBytes, WatchInterval: c.Server.WatchInterval,
		Queues: m.queues, Processes: m.processes, Config: m.configEntries,
		Profile: c.Profile, Version: version, NLPName: c.NLP.Backend,
	})
	mux := http.NewServeMux()
	srv.Mount(mux)
	mux.Handle("GET /metrics", promhttp.HandlerFor(metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /{$}", m.home)

	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	m.http = &http.Server{
		Handler:           mux,
		Protocols:         &protocols,
		ReadHeaderTimeout: c.Server.ReadHeaderTimeout,
		IdleTimeout:       c.Server.IdleTimeout,
		ErrorLog:          zap.NewStdLog(m.Log.Named("http")),
	}
	m.listener, err = net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	return nil
}

// Start serves the API and starts the workers; then it re-publishes every unfinished job, so nothing
// accepted before a stop or crash is lost.
func (m *Main) Start(ctx context.Context) error {
	m.serveErr = make(chan error, 2)
	go func() {
		if err := m.router.Run(context.WithoutCancel(ctx)); err != nil {
			m.serveErr <- fmt.Errorf("router: %w", err)
		}
	}()
	if !m.NoWorkers {
		select {
		case <-m.router.Running():
		case <-ctx.Done():
			return ctx.Err()
		}
		n, err := m.dispatcher.Resume(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			m.Log.Info("resumed unfinished jobs", zap.Int("jobs", n))
		}
	}
	go func() {
		if err := m.http.Serve(m.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.serveErr <- fmt.Errorf("http: %w", err)
		}
	}()
	return nil
}

// Addr is the address the API listens on.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// URL is the base URL of the API.
func (m *Main) URL() string { return "http://" + m.Addr() }

// Errors reports a failure of the HTTP server or the router after Start.
func (m *Main) Errors() <-chan error { return m.serveErr }

// Close stops accepting requests, lets in-flight requests and jobs finish within the configured timeouts,
// and closes the store. Jobs that did not finish stay queued and resume at the next start.
func (m *Main) Close(ctx context.Context) error {
	var errs []error
	m.closeOne.Do(func() {
		c := &m.Config.Config
		if m.http != nil {
			sctx, cancel := context.WithTimeout(ctx, c.Server.ShutdownTimeout)
			if err := m.http.Shutdown(sctx); err != nil {
				errs = append(errs, fmt.Errorf("http shutdown: %w", err))
			}
			cancel()
		} else if m.listener != nil {
			m.listener.Close()
		}
		if m.router != nil {
			if err := m.router.Close(); err != nil {
				errs = append(errs, fmt.Errorf("router close: %w", err))
			}
		}
		if m.bus != nil {
			if err := m.bus.Close(); err != nil {
				errs = append(errs, fmt.Errorf("bus close: %w", err))
			}
		}
		if m.store != nil {
			if err := m.store.Close(); err != nil {
				errs = append(errs, fmt.Errorf("store close: %w", err))
			}
		}
		_ = m.Log.Sync()
	})
	return errors.Join(errs...)
}

func limits(c *configs.Config) cns.Limits {
	l := cns.DefaultLimits()
	l.MaxDocumentBytes = c.Limits.MaxDocumentBytes
	l.MaxClaims = c.Limits.MaxClaims
	l.MaxEvidence = c.Limits.MaxEvidence
	l.MaxEdges = c.Limits.MaxEdges
	return l
}

// projectSecret returns a project's signing secret: the configured ones, plus the dev project's secret
// from the data dir unless the configuration names one for it.
func (m *Main) projectSecret(project string) ([]byte, bool) {
	c := &m.Config.Config
	if p, ok := c.Auth.Projects[project]; ok {
		b, err := auth.DecodeSecret(p.Secret)
		return b, err == nil
	}
	if project == c.Auth.DevProject {
		return m.secret, true
	}
	return nil, false
}

// MintDevToken mints a token for the dev project with every permission.
func (m *Main) MintDevToken(ttl time.Duration) (string, error) {
	secret, _ := m.projectSecret(m.Config.Auth.DevProject)
	now := time.Now()
	return auth.Mint(secret, auth.Claims{Project: m.Config.Auth.DevProject, Perms: auth.AllPerms(), IssuedAt: now, ExpiresAt: now.Add(ttl)})
}

// loadOrCreateSecret reads a base64 secret from path, creating a random one (mode 0600) on first use.
func loadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s, derr := auth.DecodeSecret(strings.TrimSpace(string(b)))
		if derr != nil {
			return nil, fmt.Errorf("read dev secret %s: not a valid secret (delete it to make a new one)", path)
		}
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read dev secret: %w", err)
	}
	s, err := auth.GenerateSecret()
	if err != nil {
		return nil, fmt.Errorf("generate dev secret: %w", err)
	}
	if err := os.WriteFile(path, []byte(auth.EncodeSecret(s)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write dev secret: %w", err)
	}
	return s, nil
}

func (m *Main) queues(ctx context.Context, project string) ([]server.Queue, error) {
	jobs, err := m.store.UnfinishedJobs(ctx)
	if err != nil {
		return nil, err
	}
	q := server.Queue{Name: pubsub.TopicJobs}
	now := time.Now()
	for _, j := range jobs {
		if j.Project != project {
			continue
		}
		q.Length++
		switch j.State {
		case cns.JobRunning:
			q.Pending++
			if age := now.Sub(j.StartedAt); age > q.OldestPending {
				q.OldestPending = age
			}
		default:
			q.Lag++
		}
	}
	return []server.Queue{q}, nil
}

func (m *Main) processes(context.Context) ([]server.Process, error) {
	host, _ := os.Hostname()
	return []server.Process{{
		Service: "cns-dev", Instance: fmt.Sprintf("%s-%d", host, os.Getpid()), Version: version,
		Address: m.Addr(), Concurrency: m.Config.Worker.Concurrency, StartedAt: m.started,
		LastHeartbeat: time.Now(), Online: true,
	}}, nil
}

func (m *Main) configEntries() []server.ConfigEntry {
	var out []server.ConfigEntry
	for _, e := range m.Config.Entries() {
		out = append(out, server.ConfigEntry{Key: e.Key, Value: e.Value, Source: e.Source, Secret: e.Secret})
	}
	return out
}

func (m *Main) home(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>CNS</title></head><body>
<h1>CNS %s</h1>
<p>The API is served here: <code>cns.v1.NarrativeService</code> and <code>cns.v1.AdminService</code> over Connect, gRPC and gRPC-Web.
Health: <a href="/healthz">/healthz</a> and gRPC health; metrics: <a href="/metrics">/metrics</a>.</p>
<p>The admin dashboard is not built yet (see the README's development notes).</p>
</body></html>`, version)
}

type metrics struct {
	reg      *prometheus.Registry
	accepted *prometheus.CounterVec
	finished *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cns_jobs_accepted_total",
			Help: "Jobs accepted by the API."}, []string{"kind"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cns_jobs_finished_total",
			Help: "Jobs that reached a terminal state."}, []string{"kind", "state"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cns_job_duration_seconds",
			Help: "Time from acceptance to the end of a job.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"kind", "state"}),
	}
	m.reg.MustRegister(m.accepted, m.finished, m.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) jobAccepted(j *cns.Job) { m.accepted.WithLabelValues(j.Kind.String()).Inc() }

func (m *metrics) jobEnded(j *cns.Job) {
	m.finished.WithLabelValues(j.Kind.String(), j.State.String()).Inc()
	m.latency.WithLabelValues(j.Kind.String(), j.State.String()).Observe(j.FinishedAt.Sub(j.CreatedAt).Seconds())
}
