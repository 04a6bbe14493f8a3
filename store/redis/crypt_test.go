package redis_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/internal/redistest"
	"github.com/cns-dev/cns/store/redis"
	"github.com/cns-dev/cns/store/storetest"
)

func keyring(t *testing.T, current string, ids ...string) *redis.Keyring {
	t.Helper()
	keys := map[string][]byte{}
	for _, id := range ids {
		keys[id] = bytes.Repeat([]byte(id[:1]), 32)
	}
	k, err := redis.NewKeyring(keys, current)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestEncryptedContract: the whole contract holds with encryption on.
func TestEncryptedContract(t *testing.T) {
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	ring := keyring(t, "k1", "k1")
	storetest.Run(t, func(t *testing.T) cns.Store {
		s := redis.New(rdb, "enc"+strings.ReplaceAll(t.Name(), "/", "_")+":", redis.WithKeyring(ring))
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestEncryptionAtRestAndRotation: values read raw from Redis are not plaintext; after a key rotation
// old records still read, new ones use the new key, and Rotate re-encrypts the old ones.
func TestEncryptionAtRestAndRotation(t *testing.T) {
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	const secretText = "The confidential hypothesis about vitamin D"
	put := func(s *redis.Store, id string) {
		now := time.Now().UTC()
		job := &cns.Job{ID: "job_" + id, Project: "p", Kind: cns.JobIngestDocument, State: cns.JobQueued, CreatedAt: now, UpdatedAt: now,
			Document: &cns.DocumentInput{Text: secretText + " in the document"}}
		if _, _, err := s.CreateJob(ctx, job); err != nil {
			t.Fatal(err)
		}
		job.State = cns.JobSucceeded
		sno := &cns.SNO{ID: "sno_" + id, Project: "p", Hypothesis: secretText, Graph: cns.NewGraph(secretText), Status: cns.StatusActive,
			Evidence: []cns.Evidence{{ID: "doi:10.1000/x", Content: "evidence text " + secretText, Confidence: 1}}, Trust: 0.5, CreatedAt: now, UpdatedAt: now}
		if err := s.CompleteJob(ctx, job, sno); err != nil {
			t.Fatal(err)
		}
	}
	raw := func(key string) []byte {
		b, err := rdb.Get(ctx, key).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	v1 := redis.New(rdb, "", redis.WithKeyring(keyring(t, "k1", "k1")))
	put(v1, "a")
	for _, key := range []string{"cns:{p}:sno:sno_a", "cns:{p}:job:job_a"} {
		if b := raw(key); bytes.Contains(b, []byte("vitamin")) || !bytes.Contains(b, []byte("k1")) {
			t.Fatalf("%s is stored in plaintext or without its key id: %q", key, b[:min(60, len(b))])
		}
	}
	// A record copied under another key does not open (the key is authenticated).
	if err := rdb.Set(ctx, "cns:{p}:sno:sno_copy", raw("cns:{p}:sno:sno_a"), 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := v1.GetSNO(ctx, "p", "sno_copy"); err == nil {
		t.Fatal("a sealed record opened under another key")
	}

	// Rotate: k2 becomes current, k1 stays readable.
	v2 := redis.New(rdb, "", redis.WithKeyring(keyring(t, "k2", "k1", "k2")))
	if s, err := v2.GetSNO(ctx, "p", "sno_a"); err != nil || s.Hypothesis != secretText {
		t.Fatalf("old record under the new keyring: %v %v", s, err)
	}
	put(v2, "b")
	if b := raw("cns:{p}:sno:sno_b"); !bytes.Contains(b[:20], []byte("k2")) {
		t.Fatalf("new record not under k2: %q", b[:20])
	}
	n, err := v2.Rotate(ctx)
	if err != nil || n != 2 { // job_a and sno_a
		t.Fatalf("Rotate = %d, %v", n, err)
	}
	if b := raw("cns:{p}:sno:sno_a"); !bytes.Contains(b[:20], []byte("k2")) {
		t.Fatalf("rotated record not under k2: %q", b[:20])
	}
	// k1 retired: everything still reads.
	v3 := redis.New(rdb, "", redis.WithKeyring(keyring(t, "k2", "k2")))
	for _, id := range []string{"sno_a", "sno_b"} {
		if _, err := v3.GetSNO(ctx, "p", id); err != nil {
			t.Fatalf("%s after retiring k1: %v", id, err)
		}
	}
	// Without any key, encrypted records are refused rather than misread.
	if _, err := redis.New(rdb, "").GetSNO(ctx, "p", "sno_a"); err == nil {
		t.Fatal("encrypted record read without a key")
	}
}
