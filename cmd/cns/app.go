package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/auth"
	"github.com/cns-dev/cns/configs"
	"github.com/cns-dev/cns/critic"
	"github.com/cns-dev/cns/dispatch"
	"github.com/cns-dev/cns/engine"
	"github.com/cns-dev/cns/indexsync"
	"github.com/cns-dev/cns/pubsub"
	"github.com/cns-dev/cns/registry"
	"github.com/cns-dev/cns/server"
	"github.com/cns-dev/cns/store/bolt"
	redisstore "github.com/cns-dev/cns/store/redis"
	"github.com/cns-dev/cns/tlsconf"
	"github.com/cns-dev/cns/web"
	"github.com/cns-dev/cns/worker"
)

// Mode is what a process runs.
type Mode string

// Modes.
const (
	// ModeDev is `cns dev`: API, dashboard and workers in one process over the embedded store and the
	// in-process bus.
	ModeDev Mode = "dev"
	// ModeServe is `cns serve`: API and dashboard over Redis; any number of replicas.
	ModeServe Mode = "serve"
	// ModeWorker is `cns worker`: command consumers over Redis, plus health and metrics.
	ModeWorker Mode = "worker"
)

// Main is the composition root of every mode. End-to-end tests start it on port 0 exactly as the
// commands do.
type Main struct {
	Config *configs.Loaded
	Log    *zap.Logger
	Mode   Mode // "" means ModeDev
	// NoWorkers starts `cns dev` without consuming commands (tests use it to stop a process before a
	// job ran).
	NoWorkers bool

	store      cns.Store
	nlpInUse   string                // embedder and NLI actually in use, and why when it is the fallback
	rdb        redis.UniversalClient // serve and worker: queue depth, registry
	bus        pubsub.Bus            // dev only
	pub        message.Publisher
	router     *message.Router
	worker     *worker.Worker // nil unless this process runs workers
	engine     *engine.Engine
	dispatcher *dispatch.Dispatcher
	loop       *loopParts // pair discovery, synthesis, population (loop.go); nil = off
	registry   *registry.Registry
	metrics    *metrics
	http       *http.Server
	listener   net.Listener
	started    time.Time
	secret     []byte
	instance   string
	// origin names this process in its SNO announcements (worker.Worker.Origin, indexsync.Register):
	// unique to the process, not its configured instance name, which an API and a worker on one host
	// share by default — the API would then skip the worker's SNOs.
	origin     string
	serveErr   chan error
	bgCancel   context.CancelFunc
	bg         sync.WaitGroup
	closeOne   sync.Once
	vecClose   func() error // saves and frees the vector indexes; nil for the exact index
	queueCache queueCache
	tls        *tlsconf.Reloader
	revoked    *auth.Revocations
	dash       *web.Dashboard
}

// devSecretFile and devTokenFile live in the data dir.
const (
	devSecretFile = "dev.secret"
	devTokenFile  = "dev.token"
)

func (m *Main) mode() Mode {
	if m.Mode == "" {
		return ModeDev
	}
	return m.Mode
}

func (m *Main) service() string {
	switch m.mode() {
	case ModeServe:
		return "cns-api"
	case ModeWorker:
		return "cns-worker"
	}
	return "cns-dev"
}

// newRedisClient opens a client for the configured URL: a cluster client when redis.cluster is set.
// Timeouts are short so that with Redis down calls fail (Unavailable) instead of hanging.
func newRedisClient(c *configs.Config) (redis.UniversalClient, error) {
	const dial, rw = 2 * time.Second, 3 * time.Second
	if c.Redis.Cluster {
		o, err := redis.ParseClusterURL(c.Redis.URL)
		if err != nil {
			return nil, fmt.Errorf("redis.url: %w", err)
		}
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries = dial, rw, rw, 1
		if err := redisTLS(c, o.TLSConfig); err != nil {
			return nil, err
		}
		return redis.NewClusterClient(o), nil
	}
	o, err := redis.ParseURL(c.Redis.URL)
	if err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries = dial, rw, rw, 1
	if err := redisTLS(c, o.TLSConfig); err != nil {
		return nil, err
	}
	return redis.NewClient(o), nil
}

// storeOptions turns on encryption at rest when redis.encryption_key_id is set.
func storeOptions(c *configs.Config) ([]redisstore.Option, error) {
	if c.Redis.EncryptionKeyID == "" {
		return nil, nil
	}
	keys := map[string][]byte{}
	for id, k := range c.Redis.EncryptionKeys {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return nil, fmt.Errorf("redis.encryption_keys.%s: not base64", id)
		}
		keys[id] = b
	}
	ring, err := redisstore.NewKeyring(keys, c.Redis.EncryptionKeyID)
	if err != nil {
		return nil, fmt.Errorf("encryption keys: %w", err)
	}
	return []redisstore.Option{redisstore.WithKeyring(ring)}, nil
}

// redisTLS completes the TLS configuration of a rediss:// URL (tc is nil for redis://) with the
// configured CA bundle.
func redisTLS(c *configs.Config, tc *tls.Config) error {
	if tc == nil || c.Redis.CAFile == "" {
		return nil
	}
	pool, err := tlsconf.CertPool(c.Redis.CAFile)
	if err != nil {
		return fmt.Errorf("redis.ca_file: %w", err)
	}
	tc.RootCAs = pool
	tc.MinVersion = tls.VersionTLS12
	return nil
}

// Open opens the store, the bus and the engine, and binds the listener. It does not serve yet.
func (m *Main) Open(ctx context.Context) error {
	c := &m.Config.Config
	m.started = time.Now()
	m.metrics = newMetrics()
	m.instance = c.Instance
	if m.instance == "" {
		host, _ := os.Hostname()
		m.instance = host
	}
	m.origin = fmt.Sprintf("%s-%d-%s", m.instance, os.Getpid(), strings.ToLower(ulid.Make().String()))
	wlog := pubsub.NewZapLogger(m.Log)

	switch m.mode() {
	case ModeDev:
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
		m.bus = pubsub.NewInProcess(wlog)
		m.pub = m.bus
	default:
		if c.Redis.URL == "" {
			return fmt.Errorf("cns %s needs redis.url (CNS_REDIS_URL)", m.mode())
		}
		rdb, err := newRedisClient(c)
		if err != nil {
			return err
		}
		m.rdb = rdb
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = rdb.Ping(pctx).Err()
		cancel()
		if err != nil {
			return fmt.Errorf("connect to redis %s: %w", configs.RedactURL(c.Redis.URL), err)
		}
		opts, err := storeOptions(c)
		if err != nil {
			return err
		}
		m.store = redisstore.New(rdb, "", opts...)
		m.pub, err = pubsub.NewRedisPublisher(m.redisBus(), wlog)
		if err != nil {
			return err
		}
		m.registry = registry.New(rdb, c.Redis.Heartbeat, m.Log.Named("registry"))
	}

	emb, nli, nlpInUse, err := newNLP(c, m.Log)
	if err != nil {
		return fmt.Errorf("nlp backend: %w", err)
	}
	m.nlpInUse = nlpInUse
	vec, err := newVectorBackend(c, m.vectorDir(), m.Log.Named("vector"))
	if err != nil {
		return fmt.Errorf("vector backend: %w", err)
	}
	m.vecClose = vec.Close
	w := c.Critics.EffectiveWeights()
	ecfg := engine.Config{
		Limits: limits(c),
		Critic: critic.Config{
			Weights:      critic.Weights{Grounding: w.Grounding, Logic: w.Logic, Novelty: w.Novelty},
			NoveltyAlpha: c.Critics.NoveltyAlpha, NoveltyBeta: c.Critics.NoveltyBeta, NoveltyK: c.Critics.NoveltyK,
			TrustFloor: c.Critics.TrustFloor, MaxBranching: c.Critics.MaxBranching,
			FloodSimilarity: c.Critics.FloodSimilarity, FloodCluster: c.Critics.FloodCluster, FloodTrustCap: c.Critics.FloodTrustCap,
			MiscitationContradiction: c.Critics.MiscitationContradiction, RestatementSimilarity: c.Critics.RestatementSimilarity,
		},
		MinTrust:   c.Admission.MinTrust,
		NewIndex:   vec.NewIndex,
		OnEvaluate: m.metrics.evaluated,
	}
	if m.mode() != ModeDev {
		ecfg.Notify = indexsync.Announcer(m.pub, m.Log.Named("indexsync"))
	}
	m.engine, err = engine.New(ecfg, m.store, emb, nli)
	if err != nil {
		return err
	}
	if err := m.engine.CheckEmbeddings(ctx); err != nil {
		return err
	}
	if err := m.openLoop(c, nli); err != nil {
		return err
	}

	m.router, err = message.NewRouter(message.RouterConfig{CloseTimeout: c.Worker.DrainTimeout}, wlog)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	if m.mode() != ModeDev {
		// Subscribe to SNO events before loading the population, so nothing stored in between is missed.
		sub, err := pubsub.NewRedisFanOutSubscriber(m.redisBus(), wlog)
		if err != nil {
			return err
		}
		indexsync.Register(m.router, sub, m.store, m.engine, m.origin, m.Log.Named("indexsync"))
	}
	n, err := m.engine.Rebuild(ctx)
	if err != nil {
		return err
	}
	m.Log.Info("population loaded", zap.Int("snos", n))
	if vec.Loaded != nil {
		vec.Loaded()
	}

	runWorkers := m.mode() == ModeWorker || (m.mode() == ModeDev && !m.NoWorkers)
	if runWorkers {
		var announce message.Publisher
		var subs []message.Subscriber
		if m.mode() == ModeDev {
			subs = []message.Subscriber{m.bus}
		} else {
			announce = m.pub
			subs, err = pubsub.NewRedisCommandSubscribers(m.redisBus(), c.Worker.Concurrency, wlog)
			if err != nil {
				return err
			}
		}
		wk := worker.New(worker.Config{Concurrency: c.Worker.Concurrency, MaxAttempts: c.Worker.MaxAttempts, JobTimeout: c.Worker.JobTimeout},
			m.store, m.engine, announce, m.Log.Named("worker"))
		wk.Origin = m.origin
		wk.OnJobEnd = m.metrics.jobEnded
		wk.OnDeadLetter = m.metrics.deadLettered
		wk.Register(m.router, subs...)
		m.worker = wk
		if m.loop != nil {
			wk.AfterStore = m.loop.after.AfterStore
		}
	}
	m.dispatcher = &dispatch.Dispatcher{Store: m.store, Publisher: m.pub, Log: m.Log.Named("dispatch"), OnAccepted: m.metrics.jobAccepted}
	m.wireLoop()

	mux := http.NewServeMux()
	addr := c.Addr
	if m.mode() == ModeWorker {
		addr = c.Worker.Addr
		// Not compressed: connect-go would gzip even this few-byte answer for any client accepting gzip.
		mux.Handle(grpchealth.NewHandler(grpchealth.NewStaticChecker(), connect.WithCompressMinBytes(16<<10)))
	} else if err := m.mountAPI(mux); err != nil {
		return err
	}
	m.metrics.registerQueueGauges(m.queues)
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })

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
	if t := c.Server.TLS; t.Enabled() {
		if m.tls, err = tlsconf.NewReloader(t.CertFile, t.KeyFile); err != nil {
			return err
		}
		if m.http.TLSConfig, err = tlsconf.Server(m.tls, t.ClientCAFile); err != nil {
			return fmt.Errorf("server.tls.client_ca_file: %w", err)
		}
		protocols = http.Protocols{}
		protocols.SetHTTP1(true)
		protocols.SetHTTP2(true)
	}
	m.listener, err = net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return nil
}

// Reload re-reads what can change without a restart (SIGHUP): the TLS certificate.
func (m *Main) Reload() error {
	if m.tls == nil {
		return nil
	}
	if err := m.tls.Reload(); err != nil {
		return err
	}
	m.Log.Info("TLS certificate reloaded")
	return nil
}

// vectorDir is where `cns dev` keeps persistent vector indexes (FAISS). The distributed processes keep
// theirs in memory and rebuild from Redis at start: several of them may share a host's data directory.
func (m *Main) vectorDir() string {
	if m.mode() != ModeDev {
		return ""
	}
	return filepath.Join(m.Config.DataDir, "faiss")
}

func (m *Main) redisBus() pubsub.RedisConfig {
	c := &m.Config.Config
	return pubsub.RedisConfig{
		NewClient: func() redis.UniversalClient {
			rdb, err := newRedisClient(c)
			if err != nil {
				panic(err) // the URL parsed once already in Open
			}
			return rdb
		},
		Instance:  m.instance,
		ClaimIdle: c.Worker.ClaimIdle,
		MaxLen:    c.Redis.StreamMaxLen,
	}
}

func (m *Main) mountAPI(mux *http.ServeMux) error {
	c := &m.Config.Config
	verifier := auth.NewVerifier(m.projectSecret, nil, c.Auth.ClockSkew)
	d := server.Deps{
		Store: m.store, Dispatcher: m.dispatcher, Engine: m.engine, Verifier: verifier, Log: m.Log.Named("api"),
		Limits: limits(c), MaxRequestBytes: c.Server.MaxRequestBytes, WatchInterval: c.Server.WatchInterval,
		Queues: m.queues, Processes: m.processes, Config: m.configEntries,
		Profile: c.Profile, Version: version, NLPName: m.nlpInUse,
	}
	if m.rdb != nil {
		d.Backlog = m.backlog
		d.MaxBacklog = int64(c.Limits.MaxBacklog)
	}
	d.MaxActiveJobs, d.RequestsPerSecond, d.Burst = c.Limits.MaxActiveJobs, c.Limits.RequestsPerSecond, c.Limits.Burst
	if c.Auth.RevocationFile != "" {
		var err error
		if m.revoked, err = auth.LoadRevocations(c.Auth.RevocationFile); err != nil {
			return err
		}
		d.Revocations = m.revoked
	}
	if m.loop != nil {
		d.Pairs, d.Syntheses = m.engine, m.loop.syntheses
	}
	server.New(d).Mount(mux)
	return m.mountDashboard(mux, verifier)
}

// Start serves and starts the workers; in `cns dev` it then re-publishes every unfinished job, so
// nothing accepted before a stop or crash is lost. Workers on Redis sweep for stale unfinished jobs
// (accepted while publishing failed) periodically.
func (m *Main) Start(ctx context.Context) error {
	c := &m.Config.Config
	m.serveErr = make(chan error, 2)
	go func() {
		if err := m.router.Run(context.WithoutCancel(ctx)); err != nil {
			m.serveErr <- fmt.Errorf("router: %w", err)
		}
	}()
	select {
	case <-m.router.Running():
	case <-ctx.Done():
		return ctx.Err()
	}
	if m.mode() == ModeDev && !m.NoWorkers {
		n, err := m.dispatcher.Resume(ctx, 0)
		if err != nil {
			return err
		}
		if n > 0 {
			m.Log.Info("resumed unfinished jobs", zap.Int("jobs", n))
		}
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.bgCancel = cancel
	if m.registry != nil {
		p := registry.Process{Service: m.service(), Instance: m.instance, Version: version, Address: m.Addr(),
			Concurrency: c.Worker.Concurrency, StartedAt: m.started}
		m.goBackground(func() { m.registry.Run(bg, p) })
		m.goBackground(func() { m.every(bg, c.Redis.ResyncInterval, m.resync) })
	}
	if m.mode() == ModeWorker {
		m.goBackground(func() { m.every(bg, c.Worker.ClaimIdle, m.sweep) })
	}
	if m.mode() == ModeWorker || m.mode() == ModeDev {
		m.goBackground(func() { m.every(bg, min(time.Hour, c.Worker.JobRetention), m.purge) })
	}
	if m.revoked != nil {
		m.goBackground(func() {
			m.revoked.Watch(bg, 2*time.Second, func(err error) { m.Log.Error("revocation list not refreshed", zap.Error(err)) })
		})
	}
	go func() {
		var err error
		if m.tls != nil {
			err = m.http.ServeTLS(m.listener, "", "") // the certificate comes from TLSConfig.GetCertificate
		} else {
			err = m.http.Serve(m.listener)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.serveErr <- fmt.Errorf("http: %w", err)
		}
	}()
	return nil
}

func (m *Main) goBackground(f func()) {
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		f()
	}()
}

func (m *Main) every(ctx context.Context, d time.Duration, f func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}

func (m *Main) resync(ctx context.Context) {
	if _, err := m.engine.Rebuild(ctx); err != nil && ctx.Err() == nil {
		m.Log.Warn("index resync failed", zap.Error(err))
	}
}

// sweep re-publishes unfinished jobs untouched for twice the claim time: their command was lost (for
// example published while Redis was failing over). Duplicates are harmless: handlers skip ended jobs.
func (m *Main) sweep(ctx context.Context) {
	n, err := m.dispatcher.Resume(ctx, 2*m.Config.Worker.ClaimIdle)
	if err != nil && ctx.Err() == nil {
		m.Log.Warn("stale job sweep failed", zap.Error(err))
	}
	if n > 0 {
		m.Log.Info("re-published stale jobs", zap.Int("jobs", n))
	}
}

// purge deletes ended jobs older than worker.job_retention, in batches (several workers may run it at
// once: each job is deleted once).
func (m *Main) purge(ctx context.Context) {
	before := time.Now().Add(-m.Config.Worker.JobRetention)
	total := 0
	for ctx.Err() == nil {
		n, err := m.store.PurgeJobs(ctx, before, 1000)
		if err != nil {
			if ctx.Err() == nil {
				m.Log.Warn("job retention purge failed", zap.Error(err))
			}
			return
		}
		if total += n; n < 1000 {
			break
		}
	}
	if total > 0 {
		m.Log.Info("purged ended jobs past retention", zap.Int("jobs", total))
	}
}

// Addr is the address the process listens on.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// URL is the base URL of the process.
func (m *Main) URL() string {
	if m.tls != nil {
		return "https://" + m.Addr()
	}
	return "http://" + m.Addr()
}

// Errors reports a failure of the HTTP server or the router after Start.
func (m *Main) Errors() <-chan error { return m.serveErr }

// Close stops accepting requests, lets in-flight requests and jobs finish within the configured timeouts,
// deregisters the process and closes the store. Jobs that did not finish are redelivered (Redis) or
// resumed at the next start (dev).
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
		if m.dash != nil {
			m.dash.Close()
		}
		if m.router != nil {
			if err := m.router.Close(); err != nil {
				errs = append(errs, fmt.Errorf("router close: %w", err))
			}
		}
		if m.worker != nil {
			m.worker.Wait() // its last SNO announcements, before the publisher closes
		}
		if m.bgCancel != nil {
			m.bgCancel()
			m.bg.Wait()
		}
		if m.vecClose != nil { // nothing writes to the indexes any more
			if err := m.vecClose(); err != nil {
				errs = append(errs, fmt.Errorf("vector indexes close: %w", err))
			}
		}
		if m.pub != nil {
			if err := m.pub.Close(); err != nil {
				errs = append(errs, fmt.Errorf("publisher close: %w", err))
			}
		}
		if m.store != nil {
			if err := m.store.Close(); err != nil {
				errs = append(errs, fmt.Errorf("store close: %w", err))
			}
		}
		if m.rdb != nil {
			m.rdb.Close()
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

// projectSecret returns a project's signing secret: the configured ones, plus (in `cns dev`) the dev
// project's secret from the data dir unless the configuration names one for it.
func (m *Main) projectSecret(project string) ([]byte, bool) {
	c := &m.Config.Config
	if p, ok := c.Auth.Projects[project]; ok {
		b, err := auth.DecodeSecret(p.Secret)
		return b, err == nil
	}
	if m.secret != nil && project == c.Auth.DevProject {
		return m.secret, true
	}
	return nil, false
}

// MintDevToken mints a token for the dev project with every permission.
func (m *Main) MintDevToken(ttl time.Duration) (string, error) {
	secret, ok := m.projectSecret(m.Config.Auth.DevProject)
	if !ok {
		return "", fmt.Errorf("project %s has no secret", m.Config.Auth.DevProject)
	}
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

// queueCache keeps the last queue depth for a moment: the backpressure check runs on every ingest call
// and must not add Redis round trips to each.
type queueCache struct {
	mu   sync.Mutex
	at   time.Time
	last pubsub.QueueDepth
}

func (m *Main) queueDepth(ctx context.Context) (pubsub.QueueDepth, error) {
	m.queueCache.mu.Lock()
	defer m.queueCache.mu.Unlock()
	if time.Since(m.queueCache.at) < 500*time.Millisecond {
		return m.queueCache.last, nil
	}
	q, err := pubsub.RedisQueueDepth(ctx, m.rdb, pubsub.TopicJobs)
	if err != nil {
		return q, &cns.Error{Code: cns.EUNAVAILABLE, Message: "queue unavailable", RetryAfterSeconds: 1}
	}
	m.queueCache.at, m.queueCache.last = time.Now(), q
	return q, nil
}

func (m *Main) backlog(ctx context.Context) (int64, error) {
	q, err := m.queueDepth(ctx)
	return q.Backlog(), err
}

// queues reports the command queue. On Redis it is the stream and its consumer group (shared by all
// projects); in `cns dev` it is derived from the project's unfinished jobs.
func (m *Main) queues(ctx context.Context, project string) ([]server.Queue, error) {
	if m.rdb != nil {
		q, err := m.queueDepth(ctx)
		if err != nil {
			return nil, err
		}
		return []server.Queue{{Name: q.Name, Length: q.Length, Pending: q.Pending, Lag: q.Lag, OldestPending: q.OldestPending}}, nil
	}
	jobs, err := m.store.UnfinishedJobs(ctx)
	if err != nil {
		return nil, err
	}
	q := server.Queue{Name: pubsub.TopicJobs}
	now := time.Now()
	for _, j := range jobs {
		if project != "" && j.Project != project {
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

func (m *Main) processes(ctx context.Context) ([]server.Process, error) {
	if m.registry != nil {
		ps, err := m.registry.List(ctx)
		if err != nil {
			return nil, &cns.Error{Code: cns.EUNAVAILABLE, Message: "registry unavailable", RetryAfterSeconds: 1}
		}
		out := make([]server.Process, len(ps))
		for i, p := range ps {
			out[i] = server.Process{Service: p.Service, Instance: p.Instance, Version: p.Version, Address: p.Address,
				Concurrency: p.Concurrency, StartedAt: p.StartedAt, LastHeartbeat: p.LastHeartbeat, Online: p.Online}
		}
		return out, nil
	}
	return []server.Process{{
		Service: m.service(), Instance: fmt.Sprintf("%s-%d", m.instance, os.Getpid()), Version: version,
		Address: m.Addr(), Concurrency: m.Config.Worker.Concurrency, StartedAt: m.started,
		LastHeartbeat: time.Now(), Online: true,
	}}, nil
}

func (m *Main) configEntries() []server.ConfigEntry {
	var out []server.ConfigEntry
	for _, e := range m.Config.Entries() {
		out = append(out, server.ConfigEntry{Key: e.Key, Value: e.Value, Source: e.Source, Secret: e.Secret})
	}
	// Not a key: what nlp.backend resolved to, so a fallback to the hashed embedder is visible here too.
	out = append(out, server.ConfigEntry{Key: "nlp.in_use", Value: m.nlpInUse, Source: "runtime"})
	return out
}
