package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"

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
