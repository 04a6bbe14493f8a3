package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"golang.org/x/crypto/bcrypt"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/auth"
	"github.com/cns-dev/cns/critic"
	"github.com/cns-dev/cns/dispatch"
	"github.com/cns-dev/cns/engine"
	"github.com/cns-dev/cns/nlp"
	"github.com/cns-dev/cns/pubsub"
	"github.com/cns-dev/cns/store/bolt"
	"github.com/cns-dev/cns/web"
	"github.com/cns-dev/cns/web/ports"
)

// clock is a settable time source shared by the dashboard and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is the dashboard over a real bbolt store, engine and dispatcher (no workers: jobs stay queued).
type fixture struct {
	revoked sync.Map // token ids
	srv     *httptest.Server
	store   *bolt.Store
	secret  []byte
	clock   *clock
	sno     *cns.SNO // hypothesis with a script tag
	dls     []string
}

const testPassword = "correct horse battery staple"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	log := zaptest.NewLogger(t)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "cns.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	emb, nli, err := nlp.New(nlp.BackendBuiltin, 64)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Config{Limits: cns.DefaultLimits(), Critic: critic.DefaultConfig(), MinTrust: 0.3}, st, emb, nli)
	if err != nil {
		t.Fatal(err)
	}
	bus := pubsub.NewInProcess(pubsub.NewZapLogger(log))
	t.Cleanup(func() { bus.Close() })
	disp := &dispatch.Dispatcher{Store: st, Publisher: bus, Log: log}
	secret, _ := auth.GenerateSecret()
	verifier := auth.NewVerifier(func(p string) ([]byte, bool) { return secret, p == "dev" }, nil, 0)
	f := &fixture{store: st, secret: secret, clock: &clock{t: time.Now().UTC()}}
	f.seed(t, emb)
	if _, err := eng.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := auth.GenerateSecret()
	dash, err := web.New(web.Config{
		RefreshInterval: time.Hour, SessionTTL: time.Hour, SessionKey: key, HistorySize: 10,
		Users: map[string]web.User{
			"olga": {PasswordHash: string(hash), Role: "operator"},
			"vic":  {PasswordHash: string(hash), Role: "viewer"},
		},
		DefaultProject: "dev", Version: "test", Limits: cns.DefaultLimits(),
	}, web.Deps{
		Store: st, Engine: eng, Dispatcher: disp, Verify: verifier.Verify,
		Revoked: func(id string) bool { _, ok := f.revoked.Load(id); return ok },
		Search: func(ctx context.Context, project, q string, k int) ([]ports.Hit, error) {
			hits, err := eng.Search(ctx, project, q, k)
			out := make([]ports.Hit, len(hits))
			for i, h := range hits {
				out[i] = ports.Hit{SNO: h.SNO, Score: h.Score}
			}
			return out, err
		},
		Config: func() []ports.ConfigEntry {
			return []ports.ConfigEntry{{Key: "auth.projects.dev.secret", Value: "should-never-show", Source: "env", Secret: true},
				{Key: "worker.concurrency", Value: "2", Source: "default"}}
		},
		Log: log, Now: f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dash.Close)
	mux := http.NewServeMux()
	dash.Mount(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// seed writes an SNO whose hypothesis holds markup, and two dead letters, through the real store.
func (f *fixture) seed(t *testing.T, emb cns.Embedder) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	job := &cns.Job{ID: "job_1", Project: "dev", Kind: cns.JobSubmitNarrative, State: cns.JobQueued, CreatedAt: now, UpdatedAt: now,
		Narrative: &cns.NarrativeInput{Hypothesis: "h"}}
	if _, _, err := f.store.CreateJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	hyp := `Tea <script>alert(1)</script> & "memory"`
	g := cns.NewGraph(hyp)
	g.Claims = append(g.Claims, cns.Claim{ID: "c1", Text: "<img src=x onerror=alert(2)>"})
	g.Edges = append(g.Edges, cns.Edge{From: "c1", To: "root", Relation: cns.RelationSupports, Strength: 1})
	vec, err := emb.Embed(ctx, hyp)
	if err != nil {
		t.Fatal(err)
	}
	f.sno = &cns.SNO{ID: "sno_1", Project: "dev", Hypothesis: hyp, Embedding: vec, Graph: g, Trust: 0.42, Status: cns.StatusActive,
		Evidence:      []cns.Evidence{{ID: "doi:10.1000/tea", SourceID: "10.1000/TEA", Content: "Recall improved.", Confidence: 1}},
		Critics:       []cns.CriticScore{{Name: "grounding", Score: 0.5, Confidence: 1, Weight: 0.4, Explanation: "<b>why</b>"}},
		SchemaVersion: cns.SchemaVersion, JobID: job.ID, CreatedAt: now, UpdatedAt: now}
	job.State, job.SNOID, job.FinishedAt = cns.JobSucceeded, f.sno.ID, now
	if err := f.store.CompleteJob(ctx, job, f.sno); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"job_2", "job_3"} {
		j := &cns.Job{ID: id, Project: "dev", Kind: cns.JobIngestDocument, State: cns.JobQueued, CreatedAt: now, UpdatedAt: now,
			Document: &cns.DocumentInput{Text: "Walking lowers blood pressure. A trial showed it. So walk."}}
		if _, _, err := f.store.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		j.State, j.Attempts, j.Error = cns.JobFailed, 5, "gave up"
		dl := &cns.DeadLetter{ID: "dl_" + id, Project: "dev", JobID: id, Topic: pubsub.TopicJobs, Reason: "gave up", Deliveries: 5, CreatedAt: now}
		if err := f.store.AddDeadLetter(ctx, dl, j); err != nil {
			t.Fatal(err)
		}
		f.dls = append(f.dls, dl.ID)
	}
}

func (f *fixture) token(t *testing.T, perms ...string) string {
	t.Helper()
	now := time.Now()
	tok, err := auth.Mint(f.secret, auth.Claims{Project: "dev", Perms: perms, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// browser is an HTTP client that keeps cookies and does not follow redirects, so tests see them. It sends
// Sec-Fetch-Site like a browser on the dashboard's own pages.
type browser struct {
	t      *testing.T
	f      *fixture
	client *http.Client
	site   string // Sec-Fetch-Site sent with POSTs
}

func (f *fixture) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, f: f, site: "same-origin", client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status   int
	location string
	header   http.Header
	body     string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: string(raw)}
}

func (b *browser) get(path string, header ...string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.f.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", b.site)
	return b.do(req)
}

// csrf reads the session's CSRF token from a page's forms.
func (b *browser) csrf() string {
	b.t.Helper()
	p := b.get("/dead-letters")
	_, rest, ok := strings.Cut(p.body, `name="csrf" value="`)
	if !ok {
		b.t.Fatalf("no CSRF field on the page (status %d)", p.status)
	}
	tok, _, _ := strings.Cut(rest, `"`)
	return tok
}

func (b *browser) signInToken(tok string) page {
	b.t.Helper()
	return b.post("/login", url.Values{"token": {tok}, "next": {"/"}})
}

func (b *browser) signInPassword(user, pw string) page {
	b.t.Helper()
	return b.post("/login", url.Values{"username": {user}, "password": {pw}})
}

func TestUnauthenticatedRedirectsToSignIn(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	for _, p := range []string{"/", "/snos", "/snos/sno_1", "/trust", "/pairs", "/jobs", "/dead-letters", "/workers", "/config"} {
		got := b.get(p)
		if got.status != http.StatusSeeOther || got.location != "/login?next="+url.QueryEscape(p) {
			t.Errorf("GET %s: %d to %q, want 303 to the sign-in page", p, got.status, got.location)
		}
	}
	live := b.get("/overview/live", "HX-Request", "true")
	if live.status != http.StatusUnauthorized || live.header.Get("HX-Redirect") != "/login" {
		t.Errorf("htmx poll without a session: %d HX-Redirect %q", live.status, live.header.Get("HX-Redirect"))
	}
	if p := b.post("/dead-letters/redrive", url.Values{"all": {"1"}}); p.status != http.StatusSeeOther || p.location != "/login" {
		t.Errorf("POST without a session: %d to %q", p.status, p.location)
	}
	if n, _ := f.store.ListDeadLetters(context.Background(), "dev", 0); len(n) != 2 {
		t.Errorf("an unauthenticated POST changed the dead letters: %d left", len(n))
	}
}

func TestTokenSignInRoles(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		perms []string
		role  string
	}{
		{[]string{auth.PermAdminWrite, auth.PermAdminRead}, "operator"},
		{[]string{auth.PermAdminRead, auth.PermSNORead}, "viewer"},
	} {
		b := f.browser(t)
		if p := b.signInToken(f.token(t, c.perms...)); p.status != http.StatusSeeOther || p.location != "/" {
			t.Fatalf("sign-in with %v: %d to %q", c.perms, p.status, p.location)
		}
		if p := b.get("/"); !strings.Contains(p.body, `role-`+c.role) {
			t.Errorf("token with %v: page does not show role %s", c.perms, c.role)
		}
	}
	b := f.browser(t)
	if p := b.signInToken(f.token(t, auth.PermSNORead, auth.PermSNOWrite)); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "neither admin:read") {
		t.Errorf("a token without admin permissions: %d", p.status)
	}
	other, _ := auth.GenerateSecret()
	forged, _ := auth.Mint(other, auth.Claims{Project: "dev", Perms: []string{auth.PermAdminWrite}, IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
	if p := b.signInToken(forged); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "invalid token signature") {
		t.Errorf("a token signed with another secret: %d", p.status)
	}
	if p := b.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("refused sign-ins left a session: %d", p.status)
	}
}

func TestPasswordSignIn(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	for _, c := range [][2]string{{"olga", "wrong"}, {"nobody", testPassword}} {
		p := b.signInPassword(c[0], c[1])
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Unknown user or wrong password.") {
			t.Errorf("%s/%s: %d", c[0], c[1], p.status)
		}
	}
	if p := b.signInPassword("vic", testPassword); p.status != http.StatusSeeOther {
		t.Fatalf("viewer sign-in: %d", p.status)
	}
	if p := b.get("/"); p.status != http.StatusOK || !strings.Contains(p.body, "role-viewer") {
		t.Errorf("viewer's overview: %d", p.status)
	}
}

func TestSignInRedirectsOnlyWithinTheSite(t *testing.T) {
	f := newFixture(t)
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"} {
		b := f.browser(t)
		p := b.post("/login", url.Values{"username": {"olga"}, "password": {testPassword}, "next": {next}})
		if p.status != http.StatusSeeOther || p.location != "/" {
			t.Errorf("next=%q: redirected to %q", next, p.location)
		}
	}
	b := f.browser(t)
	if p := b.post("/login", url.Values{"username": {"olga"}, "password": {testPassword}, "next": {"/snos?status=active"}}); p.location != "/snos?status=active" {
		t.Errorf("a local next was not kept: %q", p.location)
	}
}

func TestViewerIsRefusedEveryMutation(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	b.signInPassword("vic", testPassword)
	tok := b.csrf()
	for _, path := range []string{"/dead-letters/redrive", "/dead-letters/purge", "/snos/sno_1/archive", "/snos/sno_1/evaluate", "/jobs"} {
		p := b.post(path, url.Values{"csrf": {tok}, "all": {"1"}, "text": {"A document."}})
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "needs the operator role") {
			t.Errorf("viewer POST %s: %d", path, p.status)
		}
	}
	ctx := context.Background()
	if dls, _ := f.store.ListDeadLetters(ctx, "dev", 0); len(dls) != 2 {
		t.Errorf("viewer changed dead letters: %d left", len(dls))
	}
	if s, _ := f.store.GetSNO(ctx, "dev", "sno_1"); s.Status != cns.StatusActive {
		t.Errorf("viewer archived the SNO: %v", s.Status)
	}
}

func TestOperatorRedrivesAndPurges(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	b.signInPassword("olga", testPassword)
	tok := b.csrf()
	p := b.post("/dead-letters/redrive", url.Values{"csrf": {tok}, "id": {f.dls[0]}})
	if p.status != http.StatusSeeOther || p.location != "/dead-letters" {
		t.Fatalf("redrive: %d to %q: %s", p.status, p.location, p.body)
	}
	if page := b.get("/dead-letters"); !strings.Contains(page.body, "Redrove 1 dead letter;") || strings.Contains(page.body, f.dls[0]) {
		t.Errorf("after redrive the page shows no notice or still lists %s", f.dls[0])
	}
	ctx := context.Background()
	if j, _ := f.store.GetJob(ctx, "dev", "job_2"); j.State != cns.JobQueued || j.Attempts != 0 {
		t.Errorf("redriven job is %v with %d attempts, want queued with 0", j.State, j.Attempts)
	}
	if p := b.post("/dead-letters/purge", url.Values{"csrf": {tok}, "all": {"1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("purge: %d", p.status)
	}
	if dls, _ := f.store.ListDeadLetters(ctx, "dev", 0); len(dls) != 0 {
		t.Errorf("%d dead letters left after purging all", len(dls))
	}
	if j, _ := f.store.GetJob(ctx, "dev", "job_3"); j.State != cns.JobFailed {
		t.Errorf("purged dead letter's job is %v, want failed", j.State)
	}
	if p := b.post("/snos/sno_1/archive", url.Values{"csrf": {tok}}); p.status != http.StatusSeeOther {
		t.Fatalf("archive: %d", p.status)
	}
	if s, _ := f.store.GetSNO(ctx, "dev", "sno_1"); s.Status != cns.StatusArchived {
		t.Errorf("archived SNO is %v", s.Status)
	}
	if p := b.post("/jobs", url.Values{"csrf": {tok}, "text": {"   "}}); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "text: must not be empty") {
		t.Errorf("an empty document: %d", p.status)
	}
	p = b.post("/jobs", url.Values{"csrf": {tok}, "text": {"Walking lowers blood pressure. A trial showed it."}, "source": {"doi:10.1000/w"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/jobs/job_") {
		t.Fatalf("submit: %d to %q", p.status, p.location)
	}
	if j, err := f.store.GetJob(ctx, "dev", strings.TrimPrefix(p.location, "/jobs/")); err != nil || j.Document.Source != "doi:10.1000/w" {
		t.Errorf("submitted job: %v %v", j, err)
	}
}

func TestMutationsNeedTheSessionsCSRFTokenAndSameOrigin(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	b.signInPassword("olga", testPassword)
	tok := b.csrf()
	if p := b.post("/dead-letters/purge", url.Values{"all": {"1"}}); p.status != http.StatusForbidden {
		t.Errorf("POST without the CSRF token: %d", p.status)
	}
	if p := b.post("/dead-letters/purge", url.Values{"all": {"1"}, "csrf": {tok + "x"}}); p.status != http.StatusForbidden {
		t.Errorf("POST with a wrong CSRF token: %d", p.status)
	}
	b.site = "cross-site"
	if p := b.post("/dead-letters/purge", url.Values{"all": {"1"}, "csrf": {tok}}); p.status != http.StatusForbidden || !strings.Contains(p.body, "Cross-origin request refused") {
		t.Errorf("cross-site POST with a valid token: %d", p.status)
	}
	b.site = ""
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/dead-letters/purge", strings.NewReader(url.Values{"all": {"1"}, "csrf": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if p := b.do(req); p.status != http.StatusForbidden {
		t.Errorf("POST from another Origin: %d", p.status)
	}
	if dls, _ := f.store.ListDeadLetters(context.Background(), "dev", 0); len(dls) != 2 {
		t.Errorf("a refused POST purged dead letters: %d left", len(dls))
	}
	// The token also works as the htmx header.
	b.site = "same-origin"
	req, _ = http.NewRequest(http.MethodPost, f.srv.URL+"/dead-letters/purge", strings.NewReader("all=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", tok)
	if p := b.do(req); p.status != http.StatusSeeOther {
		t.Errorf("POST with the token in the htmx header: %d", p.status)
	}
}

func TestSessionExpires(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	b.signInPassword("olga", testPassword)
	if p := b.get("/jobs"); p.status != http.StatusOK {
		t.Fatalf("signed in: %d", p.status)
	}
	f.clock.Add(59 * time.Minute)
	if p := b.get("/jobs"); p.status != http.StatusOK {
		t.Fatalf("before the TTL: %d", p.status)
	}
	f.clock.Add(2 * time.Minute)
	p := b.get("/jobs")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/login") {
		t.Fatalf("after the TTL: %d to %q", p.status, p.location)
	}
	// A sign-in with a token never outlives the token.
	now := time.Now()
	tok, _ := auth.Mint(f.secret, auth.Claims{Project: "dev", Perms: []string{auth.PermAdminRead}, IssuedAt: now, ExpiresAt: now.Add(10 * time.Minute)})
	b2 := f.browser(t)
	b2.signInToken(tok)
	f.clock.t = now.Add(11 * time.Minute)
	if p := b2.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("a session outlived its 10-minute token: %d", p.status)
	}
}

func TestSignOut(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	b.signInPassword("olga", testPassword)
	tok := b.csrf()
	if p := b.post("/logout", url.Values{"csrf": {tok}}); p.status != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("sign out: %d to %q", p.status, p.location)
	}
	if p := b.get("/login"); !strings.Contains(p.body, "Signed out.") {
		t.Error("no notice after signing out")
	}
	if p := b.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("still signed in after signing out: %d", p.status)
	}
}

func TestMarkupInSNOsIsEscaped(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	b.signInPassword("vic", testPassword)
	for _, path := range []string{"/snos/sno_1", "/snos"} {
		p := b.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("%s: %d", path, p.status)
		}
		for _, raw := range []string{"<script>alert(1)", "<img src=x", "<b>why</b>"} {
			if strings.Contains(p.body, raw) {
				t.Errorf("%s contains raw markup %q", path, raw)
			}
		}
		if !strings.Contains(p.body, "Tea &lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;memory&#34;") {
			t.Errorf("%s does not show the hypothesis as escaped text", path)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	for _, p := range []page{b.get("/login"), b.get("/")} {
		csp := p.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP %q", csp)
		}
		if p.header.Get("X-Content-Type-Options") != "nosniff" || p.header.Get("Cache-Control") != "no-store" {
			t.Errorf("headers %v", p.header)
		}
	}
	p := b.signInPassword("olga", testPassword)
	var c *http.Cookie
	for _, ck := range (&http.Response{Header: p.header}).Cookies() {
		if ck.Name == "cns_session" {
			c = ck
		}
	}
	if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.MaxAge <= 0 {
		t.Errorf("session cookie %+v", c)
	}
}

func TestConfigurationNeverShowsSecrets(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	b.signInPassword("vic", testPassword)
	p := b.get("/config")
	if strings.Contains(p.body, "should-never-show") || !strings.Contains(p.body, "[redacted]") {
		t.Error("a secret value reached the configuration page")
	}
	if !strings.Contains(p.body, "worker.concurrency") {
		t.Error("configuration page lacks a key")
	}
}

func TestEmbeddedAssets(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	p := b.get("/login")
	_, rest, _ := strings.Cut(p.body, `<script src="`)
	src, _, _ := strings.Cut(rest, `"`)
	if !strings.HasPrefix(src, "/static/htmx.min.js?v=") {
		t.Fatalf("htmx is loaded from %q, want the embedded copy", src)
	}
	js := b.get(src)
	sum := sha256.Sum256([]byte(js.body))
	// htmx.org 2.0.11, dist/htmx.min.js (see web/static/README.md).
	if got := hex.EncodeToString(sum[:]); got != "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717" {
		t.Errorf("embedded htmx.min.js has sha256 %s", got)
	}
	if ct := js.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") || !strings.Contains(js.header.Get("Cache-Control"), "immutable") {
		t.Errorf("htmx served as %q, cache %q", ct, js.header.Get("Cache-Control"))
	}
	if strings.Contains(p.body, "://") && strings.Contains(p.body, "cdn") {
		t.Error("the page refers to a CDN")
	}
}

func TestNotFoundAndBadInput(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	b.signInPassword("vic", testPassword)
	for path, want := range map[string]int{
		"/snos/sno_missing": http.StatusNotFound, "/jobs/job_missing": http.StatusNotFound,
		"/snos?min=2": http.StatusBadRequest, "/snos?after=garbage": http.StatusBadRequest,
		"/snos?status=bogus": http.StatusBadRequest, "/jobs?state=bogus": http.StatusBadRequest,
		"/snos/sno_1?preset=bogus": http.StatusBadRequest,
	} {
		if p := b.get(path); p.status != want {
			t.Errorf("GET %s: %d, want %d", path, p.status, want)
		}
	}
}

func TestSearchByTextMeaningAndEvidence(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	b.signInPassword("vic", testPassword)
	for path, listed := range map[string]bool{
		"/snos?q=TEA&mode=text":                      true,
		"/snos?q=coffee&mode=text":                   false,
		"/snos?q=tea+and+memory&mode=semantic":       true,
		"/snos?evidence=doi:10.1000/absent":          false,
		"/snos?evidence=doi:10.1000/TEA":             true,
		"/snos?evidence=https://doi.org/10.1000/tea": true,
		"/snos?status=archived":                      false,
		"/snos?status=active&min=0.4&max=0.5":        true,
		"/snos?min=0.5":                              false,
		"/snos?q=tea&mode=semantic&status=archived":  false,
	} {
		p := b.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, p.status)
		}
		if got := strings.Contains(p.body, `data-sno="sno_1"`); got != listed {
			t.Errorf("GET %s lists sno_1: %v, want %v", path, got, listed)
		}
	}
	if p := b.get("/snos?q=tea&mode=semantic"); !strings.Contains(p.body, "Similarity") {
		t.Error("semantic results do not show their similarity")
	}
}

func TestRevokedTokenEndsItsSession(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	tok, _ := auth.Mint(f.secret, auth.Claims{Project: "dev", Perms: []string{auth.PermAdminWrite}, IssuedAt: now, ExpiresAt: now.Add(time.Hour), ID: "0123456789abcdef01234567"})
	b := f.browser(t)
	b.signInToken(tok)
	if p := b.get("/"); p.status != http.StatusOK {
		t.Fatalf("signed in: %d", p.status)
	}
	f.revoked.Store("0123456789abcdef01234567", true)
	if p := b.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("a session of a revoked token still works: %d", p.status)
	}
	if p := f.browser(t).signInToken(tok); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "token revoked") {
		t.Errorf("a revoked token signed in: %d", p.status)
	}
}

// TestSignInAttemptsAreLimited: after ten failed sign-ins from one address the next attempt is refused
// with 429 and Retry-After before the credentials are looked at — even correct ones.
func TestSignInAttemptsAreLimited(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	for i := range 10 {
		if p := b.signInPassword("olga", "wrong-password"); p.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d", i, p.status)
		}
	}
	p := b.signInPassword("olga", testPassword)
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" || !strings.Contains(p.body, "Too many failed sign-ins") {
		t.Fatalf("11th attempt: %d %q", p.status, p.header.Get("Retry-After"))
	}
}
