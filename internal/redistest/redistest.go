// Package redistest runs throwaway redis-server processes for tests: standalone with AOF (so a restart
// keeps the data, as production does) and three-node clusters. Tests own these processes, so they can
// kill and restart Redis to test what happens when it goes away. redis-server comes from the Debian
// package of the same name, which `make test` installs.
package redistest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one redis-server process.
type Server struct {
	Port  int
	Dir   string
	args  []string
	cmd   *exec.Cmd
	tlsCA string // set for a TLS-only server: readiness is checked over TLS
}

// FreePort returns a TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Launch starts redis-server in dir on a free port with AOF on. extra are more redis-server arguments.
func Launch(dir string, extra ...string) (*Server, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, errors.New("redis-server not found: install the Debian package redis-server (make test does)")
	}
	port, err := FreePort()
	if err != nil {
		return nil, fmt.Errorf("free port: %w", err)
	}
	s := &Server{Port: port, Dir: dir}
	s.args = append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--databases", "64",
		"--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log")}, extra...)
	return s, s.start()
}

// StartTLS starts redis-server serving only TLS (no plaintext port) with the given certificate and key;
// clients are not asked for certificates. Addr is the TLS port.
func StartTLS(t testing.TB, certFile, keyFile, caFile string) *Server {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &Server{Port: port, Dir: dir, tlsCA: caFile}
	s.args = []string{"--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", caFile, "--tls-auth-clients", "no",
		"--appendonly", "yes", "--save", "", "--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log")}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Kill)
	return s
}

func (s *Server) start() error {
	s.cmd = exec.Command("redis-server", s.args...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	o := &redis.Options{Addr: s.Addr(), DialTimeout: 200 * time.Millisecond}
	if s.tlsCA != "" {
		pem, err := os.ReadFile(s.tlsCA)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		o.TLSConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	c := redis.NewClient(o)
	defer c.Close()
	for time.Now().Before(deadline) {
		if err := c.Ping(context.Background()).Err(); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Kill()
	log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	return fmt.Errorf("redis-server on port %d did not answer: %s", s.Port, tail(string(log), 500))
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// URL is the redis:// URL of database db.
func (s *Server) URL(db int) string { return fmt.Sprintf("redis://%s/%d", s.Addr(), db) }

// Kill stops the server at once (SIGKILL) and waits for it to exit.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same port and directory; the AOF brings the data back.
func (s *Server) Restart() error { return s.start() }

// Start is Launch for a test: the server is killed when the test ends.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	s, err := Launch(t.TempDir(), extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Kill)
	return s
}

// Cluster is a three-master Redis Cluster.
type Cluster struct {
	Nodes []*Server
}

// Addrs are the nodes' host:port.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// URL is a redis:// URL naming every node (the service reads extra nodes from the addr parameter).
func (c *Cluster) URL() string {
	u := "redis://" + c.Nodes[0].Addr() + "?cluster=1"
	for _, a := range c.Addrs()[1:] {
		u += "&addr=" + a
	}
	return u
}

// Kill stops every node.
func (c *Cluster) Kill() {
	for _, n := range c.Nodes {
		n.Kill()
	}
}

// StartCluster starts three cluster-enabled nodes and forms a cluster with redis-cli --cluster create.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	c := &Cluster{}
	t.Cleanup(c.Kill)
	for range 3 {
		n, err := Launch(t.TempDir(), "--cluster-enabled", "yes", "--cluster-node-timeout", "2000", "--databases", "1")
		if err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, n)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command("redis-cli", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v: %s", err, out)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	defer cc.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := cc.ClusterInfo(context.Background()).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster did not become ok: %v %s", err, info)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return c
}
