// Package configs loads, validates and describes the service configuration: built-in defaults, then an
// optional YAML file (CNS_CONFIG / --config; examples beside this file), then CNS_* environment variables.
// Every key can be set by environment: the variable is CNS_ + the key upper-cased with dots as
// underscores (redis.url → CNS_REDIS_URL); map entries use "__" for the dots
// (CNS_AUTH__PROJECTS__ALPHA__SECRET). The configuration is validated once at boot and every problem is
// reported together.
package configs

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// Profiles.
const (
	ProfileDev        = "dev"
	ProfileProduction = "production"
)

// Config is the whole service configuration. Field tags are the koanf keys.
type Config struct {
	Profile string `koanf:"profile"`
	Addr    string `koanf:"addr"`
	// Instance names this process in the registry and in consumer names; "" = the host name. Two
	// workers on one host need different instances (the systemd template uses %i).
	Instance  string    `koanf:"instance"`
	DataDir   string    `koanf:"data_dir"`
	Redis     Redis     `koanf:"redis"`
	Log       Log       `koanf:"log"`
	Auth      Auth      `koanf:"auth"`
	Server    Server    `koanf:"server"`
	Worker    Worker    `koanf:"worker"`
	Limits    Limits    `koanf:"limits"`
	Critics   Critics   `koanf:"critics"`
	Admission Admission `koanf:"admission"`
	NLP       NLP       `koanf:"nlp"`
	Vector    Vector    `koanf:"vector"`
	Dashboard Dashboard `koanf:"dashboard"`
	// The operational loop (loop.go).
	Pairs      Pairs      `koanf:"pairs"`
	Synthesis  Synthesis  `koanf:"synthesis"`
	Population Population `koanf:"population"`
}

// Redis configures the broker and system of record of the distributed mode.
type Redis struct {
	URL string `koanf:"url"`
	// Cluster reads the URL as a cluster seed list (redis://host:port?addr=host2:port2&addr=…).
	Cluster bool `koanf:"cluster"`
	// StreamMaxLen caps each command stream (approximate trimming); event streams have their own, lower
	// cap (pubsub.EventsMaxLen).
	StreamMaxLen int64 `koanf:"stream_maxlen"`
	// Heartbeat is the registry heartbeat interval; a process is offline after three missed beats.
	Heartbeat time.Duration `koanf:"heartbeat"`
	// ResyncInterval is how often a process rebuilds its in-memory index replica from the store, to
	// recover events it missed.
	ResyncInterval time.Duration `koanf:"resync_interval"`
	// CAFile verifies the server certificate of a rediss:// URL (default: the system roots).
	CAFile string `koanf:"ca_file"`
	// Insecure allows a plaintext redis:// URL in production (Redis on the same host or a private link).
	Insecure bool `koanf:"insecure"`
	// EncryptionKeys are AES-256 keys (base64, 32 bytes) by id; EncryptionKeyID names the one new
	// records are written with. Records written with older keys stay readable while their key is listed.
	EncryptionKeys  map[string]string `koanf:"encryption_keys"`
	EncryptionKeyID string            `koanf:"encryption_key_id"`
}

// Log configures zap.
type Log struct {
	Level  string `koanf:"level"`  // debug, info, warn, error
	Format string `koanf:"format"` // json or console
}

// Auth configures bearer tokens.
type Auth struct {
	// Projects maps a project name to its signing secret (base64, at least 32 bytes decoded in production).
	Projects  map[string]Project `koanf:"projects"`
	ClockSkew time.Duration      `koanf:"clock_skew"`
	// DevProject is the project `cns dev` creates a secret and an admin token for.
	DevProject string `koanf:"dev_project"`
	// RevocationFile lists revoked token ids (the jti printed by `cns token`), one per line; it is
	// re-read when it changes.
	RevocationFile string `koanf:"revocation_file"`
}

// Project is one tenant's auth settings.
type Project struct {
	Secret string `koanf:"secret"`
}

// Server configures the HTTP listener.
type Server struct {
	TLS               TLS           `koanf:"tls"`
	ReadHeaderTimeout time.Duration `koanf:"read_header_timeout"`
	IdleTimeout       time.Duration `koanf:"idle_timeout"`
	ShutdownTimeout   time.Duration `koanf:"shutdown_timeout"`
	MaxRequestBytes   int           `koanf:"max_request_bytes"`
	WatchInterval     time.Duration `koanf:"watch_interval"`
}

// TLS configures the API listener's TLS. A certificate and key turn it on (reloaded on SIGHUP); a client
// CA file also requires and verifies client certificates (mTLS). Production refuses plaintext unless
// Insecure says TLS is terminated elsewhere (a proxy on the same host).
type TLS struct {
	CertFile     string `koanf:"cert_file"`
	KeyFile      string `koanf:"key_file"`
	ClientCAFile string `koanf:"client_ca_file"`
	Insecure     bool   `koanf:"insecure"`
}

// Enabled reports whether the listener serves TLS.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Worker configures command processing.
type Worker struct {
	// Addr is where `cns worker` serves health and metrics.
	Addr        string `koanf:"addr"`
	Concurrency int    `koanf:"concurrency"`
	// ClaimIdle is how long an unacknowledged command waits before another worker claims it (the
	// messages of a crashed worker); it must exceed job_timeout.
	ClaimIdle    time.Duration `koanf:"claim_idle"`
	MaxAttempts  int           `koanf:"max_attempts"`
	JobTimeout   time.Duration `koanf:"job_timeout"`
	DrainTimeout time.Duration `koanf:"drain_timeout"`
	// JobRetention is how long succeeded and failed jobs are kept (their SNOs stay).
	JobRetention time.Duration `koanf:"job_retention"`
}

// Limits bound requests (see cns.Limits).
type Limits struct {
	// RequestsPerSecond and Burst bound each project's API calls (a token bucket per project and API
	// process); 0 turns the limit off.
	RequestsPerSecond float64 `koanf:"requests_per_second"`
	Burst             int     `koanf:"burst"`
	// MaxActiveJobs bounds a project's queued and running jobs; 0 turns the limit off.
	MaxActiveJobs int `koanf:"max_active_jobs"`
	// MaxBacklog is the command backlog (undelivered + unacknowledged) above which ingest calls fail
	// fast with ResourceExhausted instead of growing Redis without bound.
	MaxBacklog       int `koanf:"max_backlog"`
	MaxDocumentBytes int `koanf:"max_document_bytes"`
	MaxClaims        int `koanf:"max_claims"`
	MaxEvidence      int `koanf:"max_evidence"`
	MaxEdges         int `koanf:"max_edges"`
}

// Critics configures the critics and the trust score.
type Critics struct {
	// Preset names the weights: default, exploration or verification. Weights set explicitly win.
	Preset       string  `koanf:"preset"`
	Weights      Weights `koanf:"weights"`
	NoveltyAlpha float64 `koanf:"novelty_alpha"`
	NoveltyBeta  float64 `koanf:"novelty_beta"`
	NoveltyK     int     `koanf:"novelty_k"`
	TrustFloor   float64 `koanf:"trust_floor"`
	MaxBranching int     `koanf:"max_branching"`
	// Adversarial narratives (critic.Config): flooding, miscited evidence, self-supporting claims.
	FloodSimilarity          float64 `koanf:"flood_similarity"`
	FloodCluster             int     `koanf:"flood_cluster"` // 0 = off
	FloodTrustCap            float64 `koanf:"flood_trust_cap"`
	MiscitationContradiction float64 `koanf:"miscitation_contradiction"` // 0 = off
	RestatementSimilarity    float64 `koanf:"restatement_similarity"`    // 0 = off
}

// Weights of the trust score; all zero means "use the preset".
type Weights struct {
	Grounding float64 `koanf:"grounding"`
	Logic     float64 `koanf:"logic"`
	Novelty   float64 `koanf:"novelty"`
}

// Admission decides what an evaluated SNO becomes.
type Admission struct {
	MinTrust float64 `koanf:"min_trust"` // below: REJECTED
}

// NLP chooses the embedder and NLI backend.
type NLP struct {
	Backend string `koanf:"backend"` // builtin, glove, cybertron
	Dim     int    `koanf:"dim"`     // builtin embedder dimension; model backends take theirs from the model
	// ModelsDir holds installed model assets (make models); model names below are directories in it.
	ModelsDir     string `koanf:"models_dir"`
	EmbedderModel string `koanf:"embedder_model"`
	NLIModel      string `koanf:"nli_model"`
}

// Vector chooses the vector index backend.
type Vector struct {
	Backend string `koanf:"backend"` // exact, faiss
	// FaissIndex is the FAISS index_factory description (e.g. "IDMap,Flat" or "IDMap,HNSW32").
	FaissIndex   string `koanf:"faiss_index"`
	HNSWEfSearch int    `koanf:"hnsw_ef_search"`
}

// Dashboard configures the admin dashboard served on the API's port.
type Dashboard struct {
	// RefreshInterval is how often live parts of pages poll, and how often the in-process queue-depth
	// history is sampled.
	RefreshInterval time.Duration `koanf:"refresh_interval"`
	// SessionTTL is how long a sign-in lasts (never longer than the token signed in with).
	SessionTTL time.Duration `koanf:"session_ttl"`
	// SessionKey (base64, ≥ 32 bytes) encrypts and authenticates session cookies. Every replica needs the
	// same key; empty means `cns dev` makes one in its data dir.
	SessionKey string `koanf:"session_key"`
	// HistorySize is how many queue-depth samples each process keeps for the overview chart.
	HistorySize int `koanf:"history_size"`
	// Users are the accounts that sign in with a password instead of a token.
	Users map[string]DashboardUser `koanf:"users"`
}

// DashboardUser is one password account of the dashboard.
type DashboardUser struct {
	PasswordHash string `koanf:"password_hash"` // bcrypt
	Role         string `koanf:"role"`          // viewer or operator
	Project      string `koanf:"project"`       // empty: auth.dev_project
}

// DashboardRoles are the accepted dashboard roles.
var DashboardRoles = []string{"viewer", "operator"}

// NLPBackends and VectorBackends are the accepted backend names.
var (
	NLPBackends    = []string{"builtin", "glove", "cybertron"}
	VectorBackends = []string{"exact", "faiss"}
)

// Defaults returns the built-in defaults as a flat key map. It is the list of known keys too.
func Defaults() map[string]any {
	return map[string]any{
		"profile":                    ProfileDev,
		"addr":                       "127.0.0.1:8080",
		"instance":                   "",
		"data_dir":                   "./.cns-data",
		"redis.url":                  "",
		"redis.cluster":              false,
		"redis.stream_maxlen":        1000000,
		"redis.heartbeat":            "10s",
		"redis.resync_interval":      "5m",
		"redis.ca_file":              "",
		"redis.insecure":             false,
		"redis.encryption_key_id":    "",
		"server.tls.cert_file":       "",
		"server.tls.key_file":        "",
		"server.tls.client_ca_file":  "",
		"server.tls.insecure":        false,
		"auth.revocation_file":       "",
		"limits.requests_per_second": 0.0,
		"limits.burst":               50,
		"limits.max_active_jobs":     0,
		"log.level":                  "info",
		"log.format":                 "json",
		"auth.clock_skew":            "30s",
		"auth.dev_project":           "dev",
		"server.read_header_timeout": "10s",
		"server.idle_timeout":        "120s",
		"server.shutdown_timeout":    "15s",
		"server.max_request_bytes":   (1 << 20) + (64 << 10),
		"server.watch_interval":      "100ms",
		"worker.addr":                "127.0.0.1:9090",
		"worker.concurrency":         2,
		"worker.claim_idle":          "90s",
		"worker.max_attempts":        5,
		"worker.job_timeout":         "60s",
		"worker.drain_timeout":       "10s",
		"worker.job_retention":       "168h",
		"limits.max_backlog":         10000,
		"limits.max_document_bytes":  1 << 20,
		"limits.max_claims":          256,
		"limits.max_evidence":        256,
		"limits.max_edges":           1024,
		"critics.preset":             "default",
		"critics.weights.grounding":  0.0,
		"critics.weights.logic":      0.0,
		"critics.weights.novelty":    0.0,
		"critics.novelty_alpha":      0.7,
		"critics.novelty_beta":       0.3,
		"critics.novelty_k":          5,
		"critics.trust_floor":        0.3,
		"critics.max_branching":      5,
		"admission.min_trust":        0.3,
		"nlp.backend":                "builtin",
		"nlp.dim":                    256,
		"nlp.models_dir":             "./models",
		"nlp.embedder_model":         "",
		"nlp.nli_model":              "",
		"vector.backend":             "exact",
		"vector.faiss_index":         "IDMap,Flat",
		"vector.hnsw_ef_search":      64,
		"dashboard.refresh_interval": "5s",
		"dashboard.session_ttl":      "8h",
		"dashboard.session_key":      "",
		"dashboard.history_size":     180,
		// Adversarial narratives (critic.Config): flooding, miscited evidence, self-supporting claims.
		"critics.flood_similarity":          0.95,
		"critics.flood_cluster":             3,
		"critics.flood_trust_cap":           0.2,
		"critics.miscitation_contradiction": 0.5,
		"critics.restatement_similarity":    0.85,
		// The operational loop (loop.go); pair thresholds calibrated on SciFact train (docs/pairs.md).
		"pairs.min_chirality":               0.175,
		"pairs.min_entanglement":            0.55,
		"pairs.nli_weight":                  0.75,
		"pairs.engagement_weight":           1.0,
		"pairs.conflict_threshold":          0.5,
		"pairs.max_candidates":              1000,
		"synthesis.generator":               "builtin",
		"synthesis.auto_per_sno":            1,
		"synthesis.accept_trust":            0.75,
		"synthesis.reject_trust":            0.45,
		"synthesis.max_per_hour":            60,
		"synthesis.cooldown":                "10m",
		"synthesis.llm.base_url":            "",
		"synthesis.llm.model":               "",
		"synthesis.llm.api_key":             "",
		"synthesis.llm.timeout":             "60s",
		"synthesis.llm.max_attempts":        3,
		"synthesis.llm.max_tokens":          1024,
		"synthesis.llm.temperature":         0.2,
		"synthesis.llm.max_tokens_per_hour": 200000,
		"population.max_active":             10000,
		"population.protect_recent":         "1h",
	}
}

// secretKey reports whether a key holds a secret (redacted everywhere it is shown).
func secretKey(k string) bool {
	return strings.HasSuffix(k, ".secret") || k == "dashboard.session_key" || encryptionKey.MatchString(k) || strings.HasSuffix(k, ".password_hash") ||
		k == "synthesis.llm.api_key"
}

// Loaded is a loaded configuration with the source of every value.
type Loaded struct {
	Config
	sources map[string]string
	values  map[string]any
}

// Entry is one effective value for display.
type Entry struct {
	Key, Value, Source string
	Secret             bool
}

// Entries lists every effective value, sorted by key, secrets redacted. Redis URLs lose their password.
func (l *Loaded) Entries() []Entry {
	keys := make([]string, 0, len(l.values))
	for k := range l.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Entry, 0, len(keys))
	for _, k := range keys {
		e := Entry{Key: k, Value: fmt.Sprint(l.values[k]), Source: l.sources[k]}
		switch {
		case secretKey(k):
			e.Value, e.Secret = "[redacted]", true
		case k == "redis.url":
			e.Value = RedactURL(e.Value)
		}
		out = append(out, e)
	}
	return out
}

// RedactURL removes the password of a URL ("redis://:pw@h" → "redis://:[redacted]@h").
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "[redacted]")
	}
	return u.String()
}

// EnvName is the environment variable of a key.
func EnvName(key string) string {
	return "CNS_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Options say where to load from.
type Options struct {
	File    string            // YAML path; "" = none (CNS_CONFIG is read by the caller)
	Environ func() []string   // nil = os.Environ
	Set     map[string]string // flag overrides (e.g. --addr), highest precedence
}

// Load reads defaults, the YAML file and the environment, and validates the result. The error lists every
// problem found (see Problems).
func Load(o Options) (*Loaded, error) {
	k := koanf.New(".")
	sources := map[string]string{}
	defaults := Defaults()
	if err := k.Load(confmap.Provider(defaults, "."), nil); err != nil {
		return nil, fmt.Errorf("load defaults: %w", err)
	}
	for key := range defaults {
		sources[key] = "default"
	}
	var problems []string
	if o.File != "" {
		fk := koanf.New(".")
		if err := fk.Load(file.Provider(o.File), yaml.Parser()); err != nil {
			return nil, &Problems{List: []string{fmt.Sprintf("config file %s: %v", o.File, err)}}
		}
		for _, key := range fk.Keys() {
			if _, known := defaults[key]; !known && !mapKey(key) {
				problems = append(problems, fmt.Sprintf("%s: unknown key %q", o.File, key))
				continue
			}
			sources[key] = "file"
		}
		if err := k.Merge(fk); err != nil {
			return nil, fmt.Errorf("merge config file: %w", err)
		}
	}
	envKnown := make(map[string]string, len(defaults))
	for key := range defaults {
		envKnown[EnvName(key)] = key
	}
	environ := o.Environ
	if environ == nil {
		environ = os.Environ
	}
	ek := koanf.New(".")
	err := ek.Load(env.Provider(".", env.Opt{
		Prefix:      "CNS_",
		EnvironFunc: environ,
		TransformFunc: func(name, v string) (string, any) {
			if key, ok := envKnown[name]; ok {
				return key, v
			}
			if strings.Contains(name, "__") {
				key := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "CNS_"), "__", "."))
				if _, ok := defaults[key]; ok || mapKey(key) {
					return key, v
				}
			}
			return "", nil // CNS_CONFIG and variables of other tools
		},
	}), nil)
	if err != nil {
		return nil, fmt.Errorf("load environment: %w", err)
	}
	for _, key := range ek.Keys() {
		sources[key] = "env"
	}
	if err := k.Merge(ek); err != nil {
		return nil, fmt.Errorf("merge environment: %w", err)
	}
	for key, v := range o.Set {
		if err := k.Set(key, v); err != nil {
			return nil, fmt.Errorf("set %s: %w", key, err)
		}
		sources[key] = "flag"
	}

	var c Config
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		problems = append(problems, fmt.Sprintf("decode: %v", err))
	}
	problems = append(problems, c.problems()...)
	if len(problems) > 0 {
		return nil, &Problems{List: problems}
	}
	values := map[string]any{}
	for _, key := range k.Keys() {
		values[key] = k.Get(key)
	}
	return &Loaded{Config: c, sources: sources, values: values}, nil
}

var (
	projectKey = regexp.MustCompile(`^auth\.projects\.[a-z0-9][a-z0-9_-]{0,62}\.secret$`)
	// encryptionKey matches redis.encryption_keys.<id>.
	encryptionKey = regexp.MustCompile(`^redis\.encryption_keys\.[a-z0-9][a-z0-9_-]{0,31}$`)
	projectName   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	// dashboardUserKey matches the keys of dashboard.users.<name>.
	dashboardUserKey = regexp.MustCompile(`^dashboard\.users\.[a-z0-9][a-z0-9_-]{0,62}\.(password_hash|role|project)$`)
	bcryptHash       = regexp.MustCompile(`^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$`)
)

// mapKey reports whether key is an entry of one of the configuration's maps (project secrets, dashboard
// users), which have no defaults to be recognised by.
func mapKey(key string) bool {
	return projectKey.MatchString(key) || dashboardUserKey.MatchString(key) || encryptionKey.MatchString(key)
}

// Problems is every problem found in a configuration.
type Problems struct{ List []string }

func (p *Problems) Error() string {
	return fmt.Sprintf("invalid configuration (%d problems):\n  - %s", len(p.List), strings.Join(p.List, "\n  - "))
}

// AsProblems returns the problem list of err, if it is one.
func AsProblems(err error) ([]string, bool) {
	var p *Problems
	if errors.As(err, &p) {
		return p.List, true
	}
	return nil, false
}

// PresetWeights are the named weight sets of the CNS 2.0 guide.
var PresetWeights = map[string]Weights{
	"default":      {Grounding: 0.4, Logic: 0.3, Novelty: 0.3},
	"exploration":  {Grounding: 0.1, Logic: 0.1, Novelty: 0.8},
	"verification": {Grounding: 0.45, Logic: 0.45, Novelty: 0.1},
}

// EffectiveWeights returns the explicit weights if any is set, else the preset's.
func (c *Critics) EffectiveWeights() Weights {
	if c.Weights != (Weights{}) {
		return c.Weights
	}
	return PresetWeights[c.Preset]
}

func finite01(x float64) bool { return !math.IsNaN(x) && x >= 0 && x <= 1 }

func (c *Config) problems() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if c.Profile != ProfileDev && c.Profile != ProfileProduction {
		add("profile: %q is not dev or production", c.Profile)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		add("addr: %q is not host:port", c.Addr)
	}
	if _, _, err := net.SplitHostPort(c.Worker.Addr); err != nil {
		add("worker.addr: %q is not host:port", c.Worker.Addr)
	}
	if strings.ContainsAny(c.Instance, " |{}") {
		add("instance: %q must not contain spaces, | or braces", c.Instance)
	}
	if c.Worker.ClaimIdle <= c.Worker.JobTimeout {
		add("worker.claim_idle: must be longer than worker.job_timeout, or running jobs are claimed by other workers")
	}
	if c.Redis.URL != "" {
		u, err := url.Parse(c.Redis.URL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			add("redis.url: must be redis://host:port or rediss://host:port")
		}
	}
	p = append(p, c.securityProblems()...)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level: %q is not debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "console" {
		add("log.format: %q is not json or console", c.Log.Format)
	}
	for name, pr := range c.Auth.Projects {
		if !projectName.MatchString(name) {
			add("auth.projects.%s: project names are lower-case letters, digits, - and _", name)
		}
		if pr.Secret == "" {
			add("auth.projects.%s.secret: missing", name)
		} else if b, err := base64.StdEncoding.DecodeString(pr.Secret); err != nil {
			add("auth.projects.%s.secret: not base64", name)
		} else if len(b) < 16 || (c.Profile == ProfileProduction && len(b) < 32) {
			add("auth.projects.%s.secret: %d bytes is too short (32 in production)", name, len(b))
		}
	}
	if !projectName.MatchString(c.Auth.DevProject) {
		add("auth.dev_project: %q is not a valid project name", c.Auth.DevProject)
	}
	if c.Auth.ClockSkew < 0 || c.Auth.ClockSkew > 10*time.Minute {
		add("auth.clock_skew: must be between 0 and 10m")
	}
	positiveDur := map[string]time.Duration{
		"server.read_header_timeout": c.Server.ReadHeaderTimeout, "server.idle_timeout": c.Server.IdleTimeout,
		"server.shutdown_timeout": c.Server.ShutdownTimeout, "server.watch_interval": c.Server.WatchInterval,
		"worker.job_timeout": c.Worker.JobTimeout, "worker.drain_timeout": c.Worker.DrainTimeout,
		"redis.heartbeat": c.Redis.Heartbeat, "redis.resync_interval": c.Redis.ResyncInterval,
		"worker.job_retention": c.Worker.JobRetention,
	}
	for _, k := range sortedKeys(positiveDur) {
		if positiveDur[k] <= 0 {
			add("%s: must be a positive duration", k)
		}
	}
	positiveInt := map[string]int{
		"worker.concurrency": c.Worker.Concurrency, "worker.max_attempts": c.Worker.MaxAttempts,
		"limits.max_document_bytes": c.Limits.MaxDocumentBytes, "limits.max_claims": c.Limits.MaxClaims,
		"limits.max_evidence": c.Limits.MaxEvidence, "limits.max_edges": c.Limits.MaxEdges,
		"critics.novelty_k": c.Critics.NoveltyK, "critics.max_branching": c.Critics.MaxBranching,
		"nlp.dim": c.NLP.Dim, "server.max_request_bytes": c.Server.MaxRequestBytes,
		"limits.max_backlog": c.Limits.MaxBacklog, "redis.stream_maxlen": int(c.Redis.StreamMaxLen),
	}
	for _, k := range sortedKeys(positiveInt) {
		if positiveInt[k] <= 0 {
			add("%s: must be positive", k)
		}
	}
	if c.Worker.Concurrency > 256 {
		add("worker.concurrency: %d is more than 256", c.Worker.Concurrency)
	}
	if c.Server.MaxRequestBytes < c.Limits.MaxDocumentBytes {
		add("server.max_request_bytes: must be at least limits.max_document_bytes")
	}
	if _, ok := PresetWeights[c.Critics.Preset]; !ok {
		add("critics.preset: %q is not default, exploration or verification", c.Critics.Preset)
	}
	w := c.Critics.Weights
	if w != (Weights{}) {
		if !(w.Grounding >= 0 && w.Logic >= 0 && w.Novelty >= 0) || math.IsInf(w.Grounding+w.Logic+w.Novelty, 0) || w.Grounding+w.Logic+w.Novelty <= 0 {
			add("critics.weights: each weight must be ≥ 0 and their sum > 0")
		}
	}
	for k, v := range map[string]float64{"critics.novelty_alpha": c.Critics.NoveltyAlpha, "critics.novelty_beta": c.Critics.NoveltyBeta,
		"critics.trust_floor": c.Critics.TrustFloor, "admission.min_trust": c.Admission.MinTrust,
		"critics.flood_similarity": c.Critics.FloodSimilarity, "critics.flood_trust_cap": c.Critics.FloodTrustCap,
		"critics.miscitation_contradiction": c.Critics.MiscitationContradiction, "critics.restatement_similarity": c.Critics.RestatementSimilarity} {
		if !finite01(v) {
			add("%s: must be in [0,1]", k)
		}
	}
	if n := c.Critics.FloodCluster; n < 0 || n == 1 {
		add("critics.flood_cluster: must be 0 (off) or at least 2, got %d", n)
	} else if n > 0 && c.Critics.FloodSimilarity == 0 {
		add("critics.flood_similarity: must be above 0 while critics.flood_cluster is on")
	}
	if !slices.Contains(NLPBackends, c.NLP.Backend) {
		add("nlp.backend: %q is not one of %s", c.NLP.Backend, strings.Join(NLPBackends, ", "))
	}
	if !slices.Contains(VectorBackends, c.Vector.Backend) {
		add("vector.backend: %q is not one of %s", c.Vector.Backend, strings.Join(VectorBackends, ", "))
	}
	if c.Vector.HNSWEfSearch <= 0 {
		add("vector.hnsw_ef_search: must be positive")
	}
	if c.NLP.Backend == "cybertron" {
		for key, v := range map[string]string{"nlp.embedder_model": c.NLP.EmbedderModel, "nlp.nli_model": c.NLP.NLIModel} {
			if strings.TrimSpace(v) == "" {
				add("%s: required with nlp.backend cybertron (a model directory in nlp.models_dir)", key)
			}
		}
	}
	if c.Vector.Backend == "faiss" && !strings.HasPrefix(c.Vector.FaissIndex, "IDMap,") && !strings.HasPrefix(c.Vector.FaissIndex, "IDMap2,") {
		add("vector.faiss_index: %q must start with \"IDMap,\" (e.g. IDMap,Flat or IDMap,HNSW32)", c.Vector.FaissIndex)
	}
	p = append(p, c.Dashboard.problems()...)
	p = append(p, c.loopProblems()...)
	sort.Strings(p)
	return p
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (d *Dashboard) problems() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if d.RefreshInterval < 100*time.Millisecond || d.RefreshInterval > 10*time.Minute {
		add("dashboard.refresh_interval: must be between 100ms and 10m")
	}
	if d.SessionTTL < time.Minute || d.SessionTTL > 30*24*time.Hour {
		add("dashboard.session_ttl: must be between 1m and 720h")
	}
	if d.SessionKey != "" {
		if b, err := base64.StdEncoding.DecodeString(d.SessionKey); err != nil {
			add("dashboard.session_key: not base64")
		} else if len(b) < 32 {
			add("dashboard.session_key: %d bytes is too short (32 needed)", len(b))
		}
	}
	if d.HistorySize < 2 || d.HistorySize > 100000 {
		add("dashboard.history_size: must be between 2 and 100000")
	}
	for _, name := range sortedKeys(d.Users) {
		u := d.Users[name]
		if !projectName.MatchString(name) {
			add("dashboard.users.%s: user names are lower-case letters, digits, - and _", name)
		}
		if !bcryptHash.MatchString(u.PasswordHash) {
			// The value is never echoed: a hash is a secret too.
			add("dashboard.users.%s.password_hash: missing or not a bcrypt hash ($2a$, $2b$ or $2y$)", name)
		}
		if !slices.Contains(DashboardRoles, u.Role) {
			add("dashboard.users.%s.role: %q is not viewer or operator", name, u.Role)
		}
		if u.Project != "" && !projectName.MatchString(u.Project) {
			add("dashboard.users.%s.project: %q is not a valid project name", name, u.Project)
		}
	}
	return p
}

// securityProblems checks TLS, encryption keys and rate limits in every profile, and the production
// profile's refusals: every problem is listed so an operator fixes them in one go.
func (c *Config) securityProblems() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	t := c.Server.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		add("server.tls: cert_file and key_file go together")
	}
	if t.ClientCAFile != "" && !t.Enabled() {
		add("server.tls.client_ca_file: mTLS needs server.tls.cert_file and key_file")
	}
	for key, f := range map[string]string{"server.tls.cert_file": t.CertFile, "server.tls.key_file": t.KeyFile,
		"server.tls.client_ca_file": t.ClientCAFile, "redis.ca_file": c.Redis.CAFile, "auth.revocation_file": c.Auth.RevocationFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			add("%s: %s cannot be read", key, f)
		}
	}
	for id, k := range c.Redis.EncryptionKeys {
		if b, err := base64.StdEncoding.DecodeString(k); err != nil || len(b) != 32 {
			add("redis.encryption_keys.%s: must be 32 bytes, base64", id)
		}
	}
	if c.Redis.EncryptionKeyID != "" {
		if _, ok := c.Redis.EncryptionKeys[c.Redis.EncryptionKeyID]; !ok {
			add("redis.encryption_key_id: %q is not in redis.encryption_keys", c.Redis.EncryptionKeyID)
		}
	} else if len(c.Redis.EncryptionKeys) > 0 {
		add("redis.encryption_key_id: name the key new records are written with")
	}
	if c.Limits.RequestsPerSecond < 0 || math.IsNaN(c.Limits.RequestsPerSecond) || c.Limits.Burst < 1 || c.Limits.MaxActiveJobs < 0 {
		add("limits: requests_per_second and max_active_jobs must be ≥ 0, burst ≥ 1")
	}
	if c.Profile != ProfileProduction {
		return p
	}
	if len(c.Auth.Projects) == 0 {
		add("auth.projects: production needs at least one project secret (CNS_AUTH__PROJECTS__<NAME>__SECRET)")
	}
	if c.Dashboard.SessionKey == "" {
		add("dashboard.session_key: production needs a session key for admin sign-in (32 random bytes, base64)")
	}
	if c.Redis.URL == "" {
		add("redis.url: production runs on Redis (CNS_REDIS_URL)")
	} else if strings.HasPrefix(c.Redis.URL, "redis://") && !c.Redis.Insecure {
		add("redis.url: production needs rediss:// (TLS), or redis.insecure: true for Redis on a private link")
	}
	if !t.Enabled() && !t.Insecure {
		add("server.tls: production needs cert_file and key_file, or server.tls.insecure: true behind a TLS proxy")
	}
	if w := c.Critics.Weights; w != (Weights{}) && (w.Grounding == 0 || w.Logic == 0) {
		add("critics.weights: production weights must give grounding and logic a positive weight")
	}
	if c.Critics.FloodCluster > 0 && c.Critics.FloodTrustCap >= c.Admission.MinTrust {
		add("critics.flood_trust_cap: production needs it below admission.min_trust, so flooding SNOs are rejected and stay out of pair search")
	}
	return p
}
