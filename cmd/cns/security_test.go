package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/cns-dev/cns/auth"
	"github.com/cns-dev/cns/configs"
	"github.com/cns-dev/cns/internal/redistest"
	"github.com/cns-dev/cns/internal/testcert"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
	"github.com/cns-dev/cns/proto/gen/cns/v1/cnsv1connect"
)

func tlsClient(t *testing.T, caFile string, certs ...tls.Certificate) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// TestMutualTLS: with a client CA configured, a real TLS client with a certificate from that CA is
// served over HTTP/2 (gRPC), one without a certificate or with another CA's is refused at the handshake;
// SIGHUP-style Reload swaps the server certificate for new connections.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	serverCA, clientCA, rogueCA := testcert.NewCA(t, "server-ca"), testcert.NewCA(t, "client-ca"), testcert.NewCA(t, "rogue-ca")
	certFile, keyFile, serial := serverCA.Issue(t, "server")
	b := start(t, options{set: map[string]string{
		"server.tls.cert_file": certFile, "server.tls.key_file": keyFile, "server.tls.client_ca_file": clientCA.CertPEM,
	}})
	if !strings.HasPrefix(b.m.URL(), "https://") {
		t.Fatalf("URL %s", b.m.URL())
	}
	load := func(ca *testcert.CA, name string) tls.Certificate {
		c, k, _ := ca.Issue(t, name)
		pair, err := tls.LoadX509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return pair
	}
	call := func(hc *http.Client) error {
		c := cnsv1connect.NewNarrativeServiceClient(hc, b.m.URL(), connect.WithGRPC())
		_, err := c.ListSNOs(context.Background(), authed(b.token, &cnsv1.ListSNOsRequest{}))
		return err
	}
	good := tlsClient(t, serverCA.CertPEM, load(clientCA, "client"))
	if err := call(good); err != nil {
		t.Fatalf("client with a certificate of the client CA: %v", err)
	}
	if err := call(tlsClient(t, serverCA.CertPEM)); err == nil {
		t.Fatal("client without a certificate was served")
	}
	if err := call(tlsClient(t, serverCA.CertPEM, load(rogueCA, "rogue"))); err == nil {
		t.Fatal("client with another CA's certificate was served")
	}

	// Reload: write a new certificate over the same files, reload, and a new connection sees it.
	newCert, newKey, newSerial := serverCA.Issue(t, "server-renewed")
	for from, to := range map[string]string{newCert: certFile, newKey: keyFile} {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.m.Reload(); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(serverCA.Cert)
	conn, err := tls.Dial("tcp", b.m.Addr(), &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{load(clientCA, "client2")}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	got := conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	conn.Close()
	if got != newSerial || got == serial {
		t.Fatalf("after reload the server presents serial %d, want %d", got, newSerial)
	}
}

// TestRedisOverTLS runs the API and a worker against a redis-server that only speaks TLS.
func TestRedisOverTLS(t *testing.T) {
	t.Parallel()
	ca := testcert.NewCA(t, "redis-ca")
	cert, key, _ := ca.Issue(t, "redis")
	srv := redistest.StartTLS(t, cert, key, ca.CertPEM)
	env := distEnv("rediss://"+srv.Addr()+"/0", "CNS_REDIS_CA_FILE="+ca.CertPEM)
	api := startMode(t, ModeServe, env, nil)
	startMode(t, ModeWorker, env, map[string]string{"instance": "w1"})
	c := clientsFor(api)
	alpha := tokenFor(t, "alpha", secretAlpha)
	ids := ingestN(t, c, alpha, 3, 0)
	for _, j := range waitAll(t, c, alpha, ids, 30*time.Second) {
		if j.State != cnsv1.JobState_JOB_STATE_SUCCEEDED {
			t.Fatalf("job over TLS Redis: %v", j)
		}
	}
	// Without the CA the server certificate does not verify: the process refuses to start.
	m := &Main{Config: mustLoad(t, distEnv("rediss://"+srv.Addr()+"/0"), map[string]string{"addr": "127.0.0.1:0"}), Log: bufferedLogger(t), Mode: ModeServe}
	err := m.Open(context.Background())
	m.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("rediss:// without the CA: %v", err)
	}
}

func mustLoad(t *testing.T, env []string, set map[string]string) *configs.Loaded {
	t.Helper()
	cfg, err := configs.Load(configs.Options{Set: set, Environ: func() []string { return env }})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestEncryptionAtRestEndToEnd: with encryption keys configured, what `cns serve` and `cns worker` write to
// Redis is not plaintext, and `cns keys rotate` moves every record to a new key while the API keeps reading.
// Not parallel: `cns keys rotate` reads its configuration from the process environment (t.Setenv).
func TestEncryptionAtRestEndToEnd(t *testing.T) {
	srv := redistest.Start(t)
	url := srv.URL(7)
	k1, k2 := auth.EncodeSecret(bytes.Repeat([]byte{1}, 32)), auth.EncodeSecret(bytes.Repeat([]byte{2}, 32))
	env := distEnv(url, "CNS_REDIS__ENCRYPTION_KEYS__K1="+k1, "CNS_REDIS_ENCRYPTION_KEY_ID=k1")
	api := startMode(t, ModeServe, env, nil)
	startMode(t, ModeWorker, env, map[string]string{"instance": "w1"})
	c := clientsFor(api)
	alpha := tokenFor(t, "alpha", secretAlpha)
	ids := ingestN(t, c, alpha, 2, 0)
	jobs := waitAll(t, c, alpha, ids, 30*time.Second)

	o, _ := redis.ParseURL(url)
	rdb := redis.NewClient(o)
	defer rdb.Close()
	ctx := context.Background()
	keyOf := func(key string) string {
		b, err := rdb.Get(ctx, key).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("intervention")) {
			t.Fatalf("%s holds plaintext", key)
		}
		return string(b[9 : 9+b[8]]) // the key id after the "\x00cnsenc1" prefix and its length byte
	}
	for _, j := range jobs {
		if got := keyOf("cns:{alpha}:sno:" + j.SnoId); got != "k1" {
			t.Fatalf("sno sealed with %q", got)
		}
	}
	for _, kv := range [][2]string{{"CNS_REDIS_URL", url}, {"CNS_REDIS__ENCRYPTION_KEYS__K1", k1}, {"CNS_REDIS__ENCRYPTION_KEYS__K2", k2},
		{"CNS_REDIS_ENCRYPTION_KEY_ID", "k2"}} {
		t.Setenv(kv[0], kv[1])
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"keys", "rotate"}, &out, io.Discard, os.Getenv); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "re-encrypted 4 records") {
		t.Fatalf("rotate: %s", out.String())
	}
	for _, j := range jobs {
		if got := keyOf("cns:{alpha}:sno:" + j.SnoId); got != "k2" {
			t.Fatalf("sno after rotation sealed with %q", got)
		}
		// The running API still has k1 only: a record under k2 is refused, not misread. Operators add
		// the new key to every process before making it current.
		_, err := c.n.GetSNO(ctx, authed(alpha, &cnsv1.GetSNORequest{SnoId: j.SnoId}))
		if err == nil {
			t.Fatal("a record sealed with an unknown key was served")
		}
	}
}

func TestRevocationRateAndActiveJobLimits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	revFile := filepath.Join(dir, "revoked")
	if err := os.WriteFile(revFile, []byte("# revoked token ids\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := start(t, options{noWorkers: true, set: map[string]string{"auth.revocation_file": revFile,
		"limits.requests_per_second": "0.5", "limits.burst": "6", "limits.max_active_jobs": "2"}})
	ctx := context.Background()
	secret, _ := b.m.projectSecret("dev")
	now := time.Now()
	const jti = "0123456789abcdef01234567"
	tok, err := auth.Mint(secret, auth.Claims{Project: "dev", Perms: auth.AllPerms(), IssuedAt: now, ExpiresAt: now.Add(time.Hour), ID: jti})
	if err != nil {
		t.Fatal(err)
	}
	// Two jobs are accepted, the third is refused while they are active (no workers run here).
	for i := range 3 {
		_, err := b.grpc.IngestDocument(ctx, authed(tok, &cnsv1.IngestDocumentRequest{Text: "Exercise improves sleep. A trial showed it."}))
		if i < 2 && err != nil {
			t.Fatal(err)
		}
		if i == 2 && connect.CodeOf(err) != connect.CodeResourceExhausted {
			t.Fatalf("third active job: %v", err)
		}
	}
	// Revoke: the file is re-read and the token stops working.
	if err := os.WriteFile(revFile, []byte(jti+"  # leaked in a ticket\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := b.grpc.GetJob(ctx, authed(tok, &cnsv1.GetJobRequest{JobId: "job_x"}))
		if connect.CodeOf(err) == connect.CodeUnauthenticated && strings.Contains(err.Error(), "revoked") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked token still accepted: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Rate limit: the bucket of 6 is spent by the calls above; the next ones are refused with a retry hint.
	var limited error
	for range 10 {
		if _, err := b.grpc.ListSNOs(ctx, authed(b.token, &cnsv1.ListSNOsRequest{})); connect.CodeOf(err) == connect.CodeResourceExhausted {
			limited = err
			break
		}
	}
	var ce *connect.Error
	if !errors.As(limited, &ce) {
		t.Fatalf("rate limit never applied: %v", limited)
	}
	hint := false
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			_, hint = v.(*errdetails.RetryInfo)
		}
	}
	if !hint {
		t.Fatalf("no RetryInfo on %v", limited)
	}
}

// TestSecretsNeverLogged scans every log line of a run with good, forged and revoked tokens and a Redis
// password in the configuration: no token, secret or password appears.
func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var logs bytes.Buffer
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	})), zapcore.DebugLevel)
	projectSecret := auth.EncodeSecret(bytes.Repeat([]byte{42}, 32))
	cfg := mustLoad(t, []string{"CNS_AUTH__PROJECTS__ACME__SECRET=" + projectSecret, "CNS_REDIS_URL=redis://:hunter2-password@127.0.0.1:1/0", "CNS_LOG_LEVEL=debug"},
		map[string]string{"addr": "127.0.0.1:0", "data_dir": t.TempDir()})
	m := &Main{Config: cfg, Log: zap.New(core)}
	ctx := context.Background()
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	devTok, _ := m.MintDevToken(time.Hour)
	secret, _ := auth.DecodeSecret(projectSecret)
	now := time.Now()
	acmeTok, _ := auth.Mint(secret, auth.Claims{Project: "acme", Perms: auth.AllPerms(), IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	forged, _ := auth.Mint(bytes.Repeat([]byte{7}, 32), auth.Claims{Project: "acme", Perms: auth.AllPerms(), IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	h2c := &http.Client{Transport: &http.Transport{Protocols: h2cOnly()}}
	n := cnsv1connect.NewNarrativeServiceClient(h2c, m.URL(), connect.WithGRPC())
	a := cnsv1connect.NewAdminServiceClient(h2c, m.URL(), connect.WithGRPC())
	for _, tok := range []string{devTok, acmeTok, forged, "garbage." + devTok} {
		r, err := n.IngestDocument(ctx, authed(tok, &cnsv1.IngestDocumentRequest{Text: "Exercise improves sleep. A trial showed it."}))
		if err == nil {
			waitJob(t, &bundle{m: m, token: tok, grpc: n}, r.Msg.JobId)
		}
		a.GetConfig(ctx, authed(tok, &cnsv1.GetConfigRequest{}))
		n.GetSNO(ctx, authed(tok, &cnsv1.GetSNORequest{SnoId: "sno_nope"}))
	}
	m.Close(ctx)
	mu.Lock()
	all := logs.String()
	mu.Unlock()
	if !strings.Contains(all, "job accepted") {
		t.Fatalf("the run logged nothing useful:\n%s", tail(all, 2000))
	}
	devSecret, _ := os.ReadFile(filepath.Join(cfg.DataDir, devSecretFile))
	for name, s := range map[string]string{"dev token": devTok, "acme token": acmeTok, "forged token": forged,
		"project secret": projectSecret, "dev secret": strings.TrimSpace(string(devSecret)), "redis password": "hunter2-password"} {
		if strings.Contains(all, s) {
			t.Errorf("the %s appears in the logs", name)
		}
		// Token signatures alone must not leak either.
		if i := strings.LastIndex(s, "."); i > 0 && strings.Contains(all, s[i+1:]) {
			t.Errorf("the %s's signature appears in the logs", name)
		}
	}
}
