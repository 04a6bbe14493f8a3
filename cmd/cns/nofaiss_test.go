//go:build !faiss

package main

import (
	"context"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/cns-dev/cns/configs"
)

// In the default, pure-Go build, vector.backend faiss fails at boot and says how to get it.
func TestFaissNeedsTheBuildTag(t *testing.T) {
	t.Parallel()
	cfg, err := configs.Load(configs.Options{Set: map[string]string{"addr": "127.0.0.1:0", "data_dir": t.TempDir(),
		"vector.backend": "faiss"}, Environ: func() []string { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg, Log: zaptest.NewLogger(t)}
	err = m.Open(context.Background())
	m.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "this binary was built without FAISS; build with -tags faiss after make faiss") {
		t.Errorf("Open with vector.backend faiss: %v", err)
	}
}
