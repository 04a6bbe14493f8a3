package logging_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cns-dev/cns/internal/logging"
)

type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *buffer) Sync() error                 { return nil }

// count returns how many JSON lines have each message.
func (b *buffer) count(t *testing.T) map[string]int {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	n := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(b.b.String()), "\n") {
		var e struct {
			Msg, Level string
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		n[e.Level+" "+e.Msg]++
	}
	return n
}

// TestSamplesBelowWarnOnly: a flood of one info message is cut to its first lines (and one in
// SampleThereafter after them), while another info message still gets its own first lines and every
// warning and error is written.
func TestSamplesBelowWarnOnly(t *testing.T) {
	t.Parallel()
	var buf buffer
	log, err := logging.NewTo("info", "json", &buf)
	if err != nil {
		t.Fatal(err)
	}
	const flood = 5000
	for i := range flood {
		log.Info("job succeeded", zap.Int("i", i))
		if i%10 == 0 {
			log.Warn("job attempt failed; will retry", zap.Int("i", i))
			log.Error("dead-lettered", zap.Int("i", i))
		}
	}
	log.Info("cns listening")
	log.Debug("not at info")
	got := buf.count(t)
	// Sampling counts per second: a flood that straddles a second's end gets a second burst of firsts.
	if n := got["info job succeeded"]; n < logging.SampleInitial || n > 2*logging.SampleInitial+flood/logging.SampleThereafter {
		t.Errorf("%d of %d info lines of one message written, want the first %d (and one in %d after them)", n, flood, logging.SampleInitial, logging.SampleThereafter)
	}
	if got["warn job attempt failed; will retry"] != flood/10 || got["error dead-lettered"] != flood/10 {
		t.Errorf("warnings and errors sampled: %d warn and %d error lines of %d each", got["warn job attempt failed; will retry"], got["error dead-lettered"], flood/10)
	}
	if got["info cns listening"] != 1 {
		t.Errorf("another message's line lost to the flood's sampling: %v", got)
	}
	if got["debug not at info"] != 0 {
		t.Errorf("a debug line written at level info")
	}
}

func TestRejectsUnknownSettings(t *testing.T) {
	t.Parallel()
	if _, err := logging.NewTo("loud", "json", zapcore.AddSync(&bytes.Buffer{})); err == nil {
		t.Error("level loud accepted")
	}
	if _, err := logging.NewTo("info", "xml", zapcore.AddSync(&bytes.Buffer{})); err == nil {
		t.Error("format xml accepted")
	}
	if _, err := logging.NewTo("debug", "console", zapcore.AddSync(&bytes.Buffer{})); err != nil {
		t.Errorf("console at debug: %v", err)
	}
}
