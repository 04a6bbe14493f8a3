// Command cns-healthcheck asks a CNS process (`cns serve` or `cns worker`) for its gRPC health and exits 0
// when it answers SERVING, 1 otherwise. It is the Docker image's HEALTHCHECK: the runtime image has no
// shell or curl. It speaks the Connect protocol's unary JSON form of grpc.health.v1.Health/Check (a POST
// of {} that the server answers with {"status": "SERVING"}), over HTTP or HTTPS.
//
//	cns-healthcheck [--ca FILE] [--timeout 3s] [URL]
//
// URL is the process's base URL (default $CNS_HEALTHCHECK_URL, else http://127.0.0.1:8080).
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "cns-healthcheck:", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("cns-healthcheck", flag.ContinueOnError)
	ca := fs.String("ca", "", "PEM file of the CA that signed the server certificate (https)")
	timeout := fs.Duration("timeout", 3*time.Second, "time limit of the check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base := fs.Arg(0)
	if base == "" {
		base = getenv("CNS_HEALTHCHECK_URL")
	}
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: no certificate", *ca)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	status, err := check(ctx, &http.Client{Transport: tr}, strings.TrimRight(base, "/"))
	if err != nil {
		return err
	}
	if status != "SERVING" && status != "SERVING_STATUS_SERVING" {
		return fmt.Errorf("status %q", status)
	}
	return nil
}

// check returns the serving status the process reports.
func check(ctx context.Context, c *http.Client, base string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/grpc.health.v1.Health/Check", bytes.NewReader([]byte("{}")))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	var out struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", fmt.Errorf("answer is not JSON: %w", err)
	}
	if out.Status == "" {
		return "", errors.New("answer has no status")
	}
	return out.Status, nil
}
