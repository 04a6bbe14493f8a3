package auth

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cns-dev/cns"
)

// updateCorpus rewrites testdata/fuzz/FuzzVerify from corpusSeeds instead of comparing against it:
//
//	go test ./auth -run TestFuzzCorpus -update-corpus
var updateCorpus = flag.Bool("update-corpus", false, "rewrite the committed FuzzVerify seed corpus")

const corpusDir = "testdata/fuzz/FuzzVerify"

// corpusSeeds builds the committed seed corpus. Everything is derived from fixed secrets, times and
// IDs, so the files are reproducible and the valid seed stays valid under testNow.
func corpusSeeds(t testing.TB) map[string]string {
	good := mustMint(t, testSecret, testClaims)
	parts := strings.Split(good, ".")
	expired := testClaims
	expired.IssuedAt, expired.ExpiresAt = testNow.Add(-48*time.Hour), testNow.Add(-24*time.Hour)
	badSig := []byte(parts[2])
	badSig[0] ^= 'A' ^ 'B' // stays in the base64url alphabet
	return map[string]string{
		"valid":                good,
		"tampered-signature":   "cns1." + parts[1] + "." + string(badSig),
		"padded-payload":       "cns1." + parts[1] + "=." + parts[2],
		"extra-part":           good + ".e30",
		"wrong-prefix":         "cns2." + parts[1] + "." + parts[2],
		"signed-unknown-field": signRaw(testSecret, `{"p":"alpha","perms":["sno:read"],"iat":1748775600,"exp":1748782800,"jti":"0123456789abcdef01234567","x":1}`),
		"expired":              mustMint(t, testSecret, expired),
		"other-project-secret": mustMint(t, otherSecret, testClaims),
	}
}

func corpusFile(token string) string {
	return "go test fuzz v1\nstring(" + strconv.Quote(token) + ")\n"
}

// TestFuzzCorpus keeps the committed corpus in step with corpusSeeds and checks each seed still
// exercises the path it was written for.
func TestFuzzCorpus(t *testing.T) {
	seeds := corpusSeeds(t)
	if *updateCorpus {
		if err := os.MkdirAll(corpusDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, tok := range seeds {
			if err := os.WriteFile(filepath.Join(corpusDir, name), []byte(corpusFile(tok)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Parallel()
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(seeds) {
		t.Errorf("%s holds %d files, want %d (run with -update-corpus)", corpusDir, len(entries), len(seeds))
	}
	v := testVerifier(testNow, time.Minute)
	for name, tok := range seeds {
		got, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil || string(got) != corpusFile(tok) {
			t.Errorf("corpus file %s is missing or stale (run with -update-corpus): %v", name, err)
		}
		_, err = v.Verify(tok)
		if (name == "valid") != (err == nil) {
			t.Errorf("seed %s: Verify error = %v", name, err)
		}
	}
}

var verifyMessages = []string{msgMalformed, msgBadSignature, msgBadClaims, msgExpired, msgNotYetValid}

// FuzzVerify feeds arbitrary strings to Verify. It must never panic; a rejection must be an
// EUNAUTHORIZED *cns.Error with one of the fixed messages (so nothing of the input can leak); an
// acceptance must carry well-formed claims, verify again to the same claims, and be exactly the token
// Mint produces for those claims (tokens are canonical, so no second spelling of a token verifies).
func FuzzVerify(f *testing.F) {
	v := testVerifier(testNow, time.Minute)
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(token)
		if err != nil {
			var e *cns.Error
			if !errors.As(err, &e) || e.Code != cns.EUNAUTHORIZED {
				t.Fatalf("Verify error %v (%T) is not an EUNAUTHORIZED *cns.Error", err, err)
			}
			if !slices.Contains(verifyMessages, e.Message) {
				t.Fatalf("unexpected message %q", e.Message)
			}
			if len(token) > len(e.Message) && strings.Contains(err.Error(), token) {
				t.Fatalf("error %q contains the token", err)
			}
			return
		}
		if !ValidProject(c.Project) || len(c.Perms) == 0 || !validID(c.ID) {
			t.Fatalf("accepted malformed claims %+v", c)
		}
		for _, p := range c.Perms {
			if !ValidPerm(p) {
				t.Fatalf("accepted unknown permission %q", p)
			}
		}
		again, err := v.Verify(token)
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("re-verification gave %+v, %v; first %+v", again, err, c)
		}
		secret, _ := testSecrets(c.Project)
		if minted, err := Mint(secret, c); err != nil || minted != token {
			t.Fatalf("accepted token %q differs from the minted %q (%v)", token, minted, err)
		}
	})
}
