package nlp

import (
	"strings"
	"testing"

	"github.com/cns-dev/cns"
)

func TestNew(t *testing.T) {
	for _, backend := range []string{"", "builtin"} {
		e, n, err := New(backend, 0)
		if err != nil {
			t.Fatalf("New(%q): %v", backend, err)
		}
		if e.Name() != "hashed-ngram@1/256" || e.Dim() != 256 || n.Name() != "lexical-nli@1" {
			t.Errorf("New(%q) = %s/%d, %s", backend, e.Name(), e.Dim(), n.Name())
		}
	}
	if e, _, err := New("builtin", 64); err != nil || e.Dim() != 64 {
		t.Errorf("New(builtin, 64): dim %v err %v", e, err)
	}
	_, _, err := New("glove", 0)
	if cns.ErrorCode(err) != cns.EINVALID || !strings.Contains(cns.ErrorMessage(err), "builtin") {
		t.Errorf("New(glove) err = %v, want EINVALID naming the valid backends", err)
	}
	if _, _, err := New("builtin", MaxDim+1); cns.ErrorCode(err) != cns.EINVALID {
		t.Errorf("New with a huge dim: err = %v, want EINVALID", err)
	}
}
