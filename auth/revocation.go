package auth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Revocations is a set of revoked token ids read from a file (one id per line, '#' starts a comment),
// re-read when the file changes. Safe for concurrent use. The zero value revokes nothing.
type Revocations struct {
	path string
	mu   sync.RWMutex
	ids  map[string]bool
	mod  time.Time
	size int64
}

// LoadRevocations reads the file at path; a missing file is an error (it is configured, so it should be
// there).
func LoadRevocations(path string) (*Revocations, error) {
	r := &Revocations{path: path}
	if _, err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Revoked reports whether a token id is revoked.
func (r *Revocations) Revoked(id string) bool {
	if r == nil {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.ids[id]
}

// reload re-reads the file if its size or modification time changed; it reports whether it did.
func (r *Revocations) reload() (bool, error) {
	st, err := os.Stat(r.path)
	if err != nil {
		return false, fmt.Errorf("revocation file: %w", err)
	}
	r.mu.RLock()
	same := st.ModTime().Equal(r.mod) && st.Size() == r.size && r.ids != nil
	r.mu.RUnlock()
	if same {
		return false, nil
	}
	f, err := os.Open(r.path)
	if err != nil {
		return false, fmt.Errorf("revocation file: %w", err)
	}
	defer f.Close()
	ids := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			ids[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("revocation file: %w", err)
	}
	r.mu.Lock()
	r.ids, r.mod, r.size = ids, st.ModTime(), st.Size()
	r.mu.Unlock()
	return true, nil
}

// Watch re-reads the file every interval until ctx ends; read errors keep the previous list and are
// passed to onError (a revocation list must never silently empty itself).
func (r *Revocations) Watch(ctx context.Context, interval time.Duration, onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := r.reload(); err != nil && !errors.Is(err, context.Canceled) && onError != nil {
				onError(err)
			}
		}
	}
}
