package auth

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cns-dev/cns"
)

// Fixed inputs shared by the tests, the fuzz target and the committed fuzz corpus, so the corpus's
// valid token stays valid forever under testNow.
var (
	testSecret  = []byte("cns-test-secret-0123456789abcdef") // 32 bytes
	otherSecret = []byte("cns-other-secret-fedcba987654321") // 32 bytes, project "beta"
	testNow     = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	testClaims  = Claims{
		Project:   "alpha",
		Perms:     []string{PermSNORead, PermSNOWrite},
		IssuedAt:  testNow.Add(-time.Hour),
		ExpiresAt: testNow.Add(time.Hour),
		ID:        "0123456789abcdef01234567",
	}
)

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func testSecrets(project string) ([]byte, bool) {
	switch project {
	case "alpha":
		return testSecret, true
	case "beta":
		return otherSecret, true
	case "weak":
		return []byte("short"), true // misconfigured: shorter than MinSecretLen
	}
	return nil, false
}

func testVerifier(now time.Time, skew time.Duration) *Verifier {
	return NewVerifier(testSecrets, func() time.Time { return now }, skew)
}

func mustMint(t testing.TB, secret []byte, c Claims) string {
	t.Helper()
	tok, err := Mint(secret, c)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return tok
}

// signRaw signs an arbitrary payload, bypassing Mint's validation, to build tokens that are
// correctly signed but carry JSON Mint would never produce.
func signRaw(secret []byte, rawJSON string) string {
	signed := tokenPrefix + b64.EncodeToString([]byte(rawJSON))
	return signed + "." + b64.EncodeToString(sign(secret, signed))
}

// assertErr checks err is a *cns.Error with the code and message, and that the message leaks none of
// the given sensitive strings.
func assertErr(t *testing.T, err error, code, msg string, secrets ...string) {
	t.Helper()
	var e *cns.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *cns.Error", err, err)
	}
	if e.Code != code {
		t.Errorf("code = %q, want %q (message %q)", e.Code, code, e.Message)
	}
	if msg != "" && e.Message != msg {
		t.Errorf("message = %q, want %q", e.Message, msg)
	}
	full := err.Error()
	for _, s := range secrets {
		if s != "" && strings.Contains(full, s) {
			t.Errorf("error %q contains sensitive input %q", full, s)
		}
	}
}

// sensitive lists the strings no error about tok may contain: the token, its parts and the secrets
// in every encoding they could plausibly be printed in.
func sensitive(tok string) []string {
	out := []string{tok}
	if parts := strings.Split(tok, "."); len(parts) == 3 {
		out = append(out, parts[1], parts[2])
	}
	for _, s := range [][]byte{testSecret, otherSecret} {
		out = append(out, string(s), EncodeSecret(s), base64.RawURLEncoding.EncodeToString(s))
	}
	return out
}

func TestPerms(t *testing.T) {
	t.Parallel()
	all := AllPerms()
	want := []string{PermSNORead, PermSNOWrite, PermAdminRead, PermAdminWrite}
	if !slices.Equal(all, want) {
		t.Fatalf("AllPerms = %v, want %v", all, want)
	}
	all[0] = "mutated"
	if AllPerms()[0] != PermSNORead {
		t.Fatal("AllPerms returned the package's own slice")
	}
	for _, p := range want {
		if !ValidPerm(p) {
			t.Errorf("ValidPerm(%q) = false", p)
		}
	}
	for _, p := range []string{"", "sno", "SNO:READ", "sno:read ", "admin:*", "mutated"} {
		if ValidPerm(p) {
			t.Errorf("ValidPerm(%q) = true", p)
		}
	}
	c := Claims{Perms: []string{PermSNORead}}
	if !c.Has(PermSNORead) || c.Has(PermSNOWrite) || (Claims{}).Has(PermSNORead) {
		t.Error("Has gives wrong answers")
	}
}

func TestValidProject(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"a": true, "0": true, "alpha": true, "my-project_2": true, strings.Repeat("a", 63): true,
		"": false, strings.Repeat("a", 64): false, "-a": false, "_a": false, "Alpha": false,
		"a.b": false, "a b": false, "a/b": false, "ä": false, "a\n": false,
	} {
		if got := ValidProject(name); got != want {
			t.Errorf("ValidProject(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	tok := mustMint(t, testSecret, testClaims)
	if !strings.HasPrefix(tok, "cns1.") || strings.Count(tok, ".") != 2 {
		t.Fatalf("token %q has the wrong shape", tok)
	}
	got, err := testVerifier(testNow, 0).Verify(tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Project != testClaims.Project || !slices.Equal(got.Perms, testClaims.Perms) || got.ID != testClaims.ID ||
		!got.IssuedAt.Equal(testClaims.IssuedAt) || !got.ExpiresAt.Equal(testClaims.ExpiresAt) {
		t.Fatalf("Verify = %+v, want %+v", got, testClaims)
	}
	if !got.Has(PermSNOWrite) || got.Has(PermAdminRead) {
		t.Error("verified claims grant the wrong permissions")
	}
	// The payload is the documented compact JSON.
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"p":"alpha","perms":["sno:read","sno:write"],"iat":1748775600,"exp":1748782800,"jti":"0123456789abcdef01234567"}`
	if string(raw) != want {
		t.Errorf("payload = %s, want %s", raw, want)
	}
	// Minting is deterministic for fixed claims, which the committed fuzz corpus relies on.
	if again := mustMint(t, testSecret, testClaims); again != tok {
		t.Error("Mint is not deterministic for identical claims")
	}
}

func TestMintFillsIDAndTruncates(t *testing.T) {
	t.Parallel()
	c := testClaims
	c.ID = ""
	c.IssuedAt = c.IssuedAt.Add(700 * time.Millisecond)
	a, b := mustMint(t, testSecret, c), mustMint(t, testSecret, c)
	if a == b {
		t.Fatal("two mints with an empty ID produced the same token")
	}
	if c.ID != "" || !slices.Equal(c.Perms, testClaims.Perms) {
		t.Fatal("Mint modified its argument")
	}
	got, err := testVerifier(testNow, 0).Verify(a)
	if err != nil {
		t.Fatal(err)
	}
	if !validID(got.ID) {
		t.Errorf("generated ID %q is not 24 lowercase hex characters", got.ID)
	}
	if !got.IssuedAt.Equal(testClaims.IssuedAt) {
		t.Errorf("IssuedAt = %v, want it truncated to %v", got.IssuedAt, testClaims.IssuedAt)
	}
}

func TestMintRejects(t *testing.T) {
	t.Parallel()
	mod := func(f func(*Claims)) Claims {
		c := testClaims
		c.Perms = slices.Clone(c.Perms)
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name   string
		secret []byte
		claims Claims
		field  string // expected violation field; "" for the secret-length error
	}{
		{"nil secret", nil, testClaims, ""},
		{"short secret", []byte("fifteen-bytes!!"), testClaims, ""},
		{"empty project", testSecret, mod(func(c *Claims) { c.Project = "" }), "project"},
		{"uppercase project", testSecret, mod(func(c *Claims) { c.Project = "Alpha" }), "project"},
		{"leading dash", testSecret, mod(func(c *Claims) { c.Project = "-alpha" }), "project"},
		{"long project", testSecret, mod(func(c *Claims) { c.Project = strings.Repeat("a", 64) }), "project"},
		{"unknown perm", testSecret, mod(func(c *Claims) { c.Perms = append(c.Perms, "sno:delete") }), "perms[2]"},
		{"duplicate perm", testSecret, mod(func(c *Claims) { c.Perms = append(c.Perms, PermSNORead) }), "perms[2]"},
		{"no perms", testSecret, mod(func(c *Claims) { c.Perms = nil }), "perms"},
		{"exp equals iat", testSecret, mod(func(c *Claims) { c.ExpiresAt = c.IssuedAt }), "expires_at"},
		{"exp before iat", testSecret, mod(func(c *Claims) { c.ExpiresAt = c.IssuedAt.Add(-time.Second) }), "expires_at"},
		{"exp within the same second", testSecret, mod(func(c *Claims) { c.ExpiresAt = c.IssuedAt.Add(500 * time.Millisecond) }), "expires_at"},
		{"zero iat", testSecret, mod(func(c *Claims) { c.IssuedAt = time.Time{} }), "issued_at"},
		{"zero exp", testSecret, mod(func(c *Claims) { c.ExpiresAt = time.Time{} }), "expires_at"},
		{"exp beyond 9999", testSecret, mod(func(c *Claims) { c.ExpiresAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), "expires_at"},
		{"bad id", testSecret, mod(func(c *Claims) { c.ID = "not-hex" }), "id"},
		{"uppercase id", testSecret, mod(func(c *Claims) { c.ID = strings.ToUpper(testClaims.ID) }), "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok, err := Mint(tc.secret, tc.claims)
			if err == nil {
				t.Fatalf("Mint succeeded: %q", tok)
			}
			assertErr(t, err, cns.EINVALID, "", string(testSecret), EncodeSecret(testSecret), "fifteen-bytes!!")
			if tc.field == "" {
				return
			}
			var e *cns.Error
			errors.As(err, &e)
			if !slices.ContainsFunc(e.Violations, func(v cns.FieldViolation) bool { return v.Field == tc.field }) {
				t.Errorf("violations %v do not name %q", e.Violations, tc.field)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	good := mustMint(t, testSecret, testClaims)
	parts := strings.Split(good, ".")
	flip := func(s string, i int) string { // change one character, staying in the alphabet
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	// A payload granting admin:write spliced onto the genuine signature.
	escalated := b64.EncodeToString([]byte(`{"p":"alpha","perms":["admin:write"],"iat":1748775600,"exp":1748782800,"jti":"0123456789abcdef01234567"}`))
	betaClaims := testClaims
	betaClaims.Project = "beta"
	ghostClaims := testClaims
	ghostClaims.Project = "ghost"
	unknownPermJSON := `{"p":"alpha","perms":["sno:delete"],"iat":1748775600,"exp":1748782800,"jti":"0123456789abcdef01234567"}`

	for _, tc := range []struct {
		name, token, msg string
	}{
		{"empty", "", msgMalformed},
		{"prefix only", "cns1.", msgMalformed},
		{"two parts", parts[0] + "." + parts[1], msgMalformed},
		{"extra part", good + ".x", msgMalformed},
		{"extra empty part", good + ".", msgMalformed},
		{"wrong prefix", "cns2." + parts[1] + "." + parts[2], msgMalformed},
		{"uppercase prefix", "CNS1." + parts[1] + "." + parts[2], msgMalformed},
		{"no prefix", parts[1] + "." + parts[2], msgMalformed},
		{"padded payload", "cns1." + parts[1] + "=." + parts[2], msgMalformed},
		{"padded signature", good + "=", msgMalformed},
		{"standard base64 alphabet", "cns1." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[1]) + "+." + parts[2], msgMalformed},
		{"newline inside", "cns1." + parts[1][:10] + "\n" + parts[1][10:] + "." + parts[2], msgMalformed},
		{"leading space", " " + good, msgMalformed},
		{"truncated signature", good[:len(good)-1], msgMalformed},
		{"oversized", good + strings.Repeat("A", MaxTokenLen), msgMalformed},
		{"tampered payload", "cns1." + flip(parts[1], 5) + "." + parts[2], msgMalformed},
		{"escalated payload", "cns1." + escalated + "." + parts[2], msgBadSignature},
		{"tampered signature", "cns1." + parts[1] + "." + flip(parts[2], 3), msgBadSignature},
		{"wrong secret", mustMint(t, []byte("an-entirely-different-secret!!"), testClaims), msgBadSignature},
		// Minted for alpha but signed with beta's secret: Verify must use alpha's secret.
		{"other project's secret", mustMint(t, otherSecret, testClaims), msgBadSignature},
		{"unknown project", mustMint(t, testSecret, ghostClaims), msgBadSignature},
		// Signed with the project's own too-short secret: a misconfigured secret is not trusted.
		{"project with weak secret", signRaw([]byte("short"), `{"p":"weak","perms":["sno:read"],"iat":1748775600,"exp":1748782800,"jti":"0123456789abcdef01234567"}`), msgBadSignature},
		// Same signature bytes, but the last character sets trailing bits a canonical encoder leaves zero.
		{"non-canonical signature encoding", "cns1." + parts[1] + "." + parts[2][:len(parts[2])-1] + string(b64Alphabet[strings.IndexByte(b64Alphabet, parts[2][len(parts[2])-1])^1]), msgMalformed},
		{"unknown field", signRaw(testSecret, `{"p":"alpha","perms":["sno:read"],"iat":1748775600,"exp":1748782800,"jti":"0123456789abcdef01234567","admin":true}`), msgMalformed},
		{"whitespace", signRaw(testSecret, `{"p":"alpha", "perms":["sno:read"],"iat":1748775600,"exp":1748782800,"jti":"0123456789abcdef01234567"}`), msgMalformed},
		{"duplicate key", signRaw(testSecret, `{"p":"alpha","perms":["sno:read"],"iat":1748775600,"exp":1748782800,"jti":"0123456789abcdef01234567","p":"beta"}`), msgMalformed},
		{"case-folded key", signRaw(testSecret, `{"P":"alpha","perms":["sno:read"],"iat":1748775600,"exp":1748782800,"jti":"0123456789abcdef01234567"}`), msgMalformed},
		{"trailing data", signRaw(testSecret, `{"p":"alpha","perms":["sno:read"],"iat":1748775600,"exp":1748782800,"jti":"0123456789abcdef01234567"}{}`), msgMalformed},
		{"not json", signRaw(testSecret, `alpha`), msgMalformed},
		{"bad project name", signRaw(testSecret, `{"p":"Alpha","perms":["sno:read"],"iat":1748775600,"exp":1748782800,"jti":"0123456789abcdef01234567"}`), msgMalformed},
		{"signed unknown perm", signRaw(testSecret, unknownPermJSON), msgBadClaims},
		{"signed null perms", signRaw(testSecret, `{"p":"alpha","perms":null,"iat":1748775600,"exp":1748782800,"jti":"0123456789abcdef01234567"}`), msgBadClaims},
		{"signed exp before iat", signRaw(testSecret, `{"p":"alpha","perms":["sno:read"],"iat":1748782800,"exp":1748775600,"jti":"0123456789abcdef01234567"}`), msgBadClaims},
		{"signed huge exp", signRaw(testSecret, `{"p":"alpha","perms":["sno:read"],"iat":1748775600,"exp":9223372036854775807,"jti":"0123456789abcdef01234567"}`), msgBadClaims},
		{"signed empty jti", signRaw(testSecret, `{"p":"alpha","perms":["sno:read"],"iat":1748775600,"exp":1748782800,"jti":""}`), msgBadClaims},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := testVerifier(testNow, time.Minute).Verify(tc.token)
			if err == nil {
				t.Fatalf("Verify accepted %q: %+v", tc.token, c)
			}
			if c.Project != "" || c.Perms != nil {
				t.Errorf("Verify returned claims %+v alongside an error", c)
			}
			assertErr(t, err, cns.EUNAUTHORIZED, tc.msg, sensitive(tc.token)...)
		})
	}
}

// TestVerifyOversizedIsCheap checks the size limit bites before any decoding: rejecting a huge token
// must allocate no more than rejecting the empty one (only the error itself). Not parallel:
// testing.AllocsPerRun refuses to run beside parallel tests.
func TestVerifyOversizedIsCheap(t *testing.T) {
	good := mustMint(t, testSecret, testClaims)
	parts := strings.Split(good, ".")
	huge := "cns1." + parts[1] + strings.Repeat("A", MaxTokenLen) + "." + parts[2]
	v := testVerifier(testNow, 0)
	base := testing.AllocsPerRun(20, func() { _, _ = v.Verify("") })
	if got := testing.AllocsPerRun(20, func() { _, _ = v.Verify(huge) }); got > base {
		t.Errorf("rejecting a %d-byte token took %v allocations, the empty token %v", len(huge), got, base)
	}
}

func TestVerifyTimes(t *testing.T) {
	t.Parallel()
	iat, exp := testClaims.IssuedAt, testClaims.ExpiresAt
	tok := mustMint(t, testSecret, testClaims)
	const skew = 30 * time.Second
	for _, tc := range []struct {
		name string
		now  time.Time
		skew time.Duration
		msg  string // "" = accepted
	}{
		{"inside window", testNow, 0, ""},
		{"at issue time", iat, 0, ""},
		{"at expiry", exp, 0, ""},
		{"just expired", exp.Add(time.Nanosecond), 0, msgExpired},
		{"expired", exp.Add(time.Hour), skew, msgExpired},
		{"expired within skew", exp.Add(skew), skew, ""},
		{"expired beyond skew", exp.Add(skew + time.Second), skew, msgExpired},
		{"not yet valid", iat.Add(-time.Second), 0, msgNotYetValid},
		{"not yet valid within skew", iat.Add(-skew), skew, ""},
		{"not yet valid beyond skew", iat.Add(-skew - time.Second), skew, msgNotYetValid},
		{"negative skew counts as zero", exp.Add(time.Second), -time.Hour, msgExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := testVerifier(tc.now, tc.skew).Verify(tok)
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Verify accepted the token")
			}
			assertErr(t, err, cns.EUNAUTHORIZED, tc.msg, sensitive(tok)...)
		})
	}
}

func TestNewVerifierDefaults(t *testing.T) {
	t.Parallel()
	c := testClaims
	c.IssuedAt = time.Now().Add(-time.Minute)
	c.ExpiresAt = time.Now().Add(time.Hour)
	if _, err := NewVerifier(testSecrets, nil, 0).Verify(mustMint(t, testSecret, c)); err != nil {
		t.Fatalf("nil now should mean time.Now: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("NewVerifier(nil, …) did not panic")
		}
	}()
	NewVerifier(nil, nil, 0)
}

func TestParseBearer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ header, want string }{
		{"Bearer abc.def", "abc.def"},
		{"bearer abc", "abc"},
		{"BEARER abc", "abc"},
		{"Bearer   abc", "abc"},
		{"  Bearer abc  ", "abc"},
		{"", ""},
		{"Bearer", ""},
		{"Bearer ", ""},
		{"Bearer    ", ""},
		{"Basic dXNlcjpwYXNz", ""},
		{"Bearerabc", ""},
		{"Bearer abc def", ""},
		{"Bearer abc\tdef", ""},
		{"Bearer\tabc", ""},
		{"Token abc", ""},
	} {
		got, err := ParseBearer(tc.header)
		if tc.want != "" {
			if err != nil || got != tc.want {
				t.Errorf("ParseBearer(%q) = %q, %v; want %q", tc.header, got, err, tc.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("ParseBearer(%q) = %q, want an error", tc.header, got)
			continue
		}
		assertErr(t, err, cns.EUNAUTHORIZED, msgMissingBearer, "dXNlcjpwYXNz", "abc")
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	a, err := GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 32 || len(b) != 32 || string(a) == string(b) {
		t.Fatalf("GenerateSecret gave %d and %d bytes, equal=%v", len(a), len(b), string(a) == string(b))
	}
	enc := EncodeSecret(a)
	dec, err := DecodeSecret(enc + "\n")
	if err != nil || string(dec) != string(a) {
		t.Fatalf("DecodeSecret(EncodeSecret(s)) = %x, %v", dec, err)
	}
	// A generated secret mints tokens its verifier accepts.
	v := NewVerifier(func(p string) ([]byte, bool) { return dec, p == "alpha" }, func() time.Time { return testNow }, 0)
	if _, err := v.Verify(mustMint(t, a, testClaims)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "not base64!", enc[:len(enc)-1], base64.RawStdEncoding.EncodeToString(a), EncodeSecret([]byte("fifteen-bytes!!"))} {
		_, err := DecodeSecret(bad)
		if err == nil {
			t.Errorf("DecodeSecret(%q) succeeded", bad)
			continue
		}
		assertErr(t, err, cns.EINVALID, "", bad)
	}
}

func BenchmarkVerify(b *testing.B) {
	tok := mustMint(b, testSecret, testClaims)
	v := testVerifier(testNow, time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMint(b *testing.B) {
	c := testClaims
	c.ID = ""
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Mint(testSecret, c); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifiedTokensAreJudgedEveryTime: a token verified once (and remembered) is still refused once it
// expires, once its project's secret is rotated (and accepted again only under a secret that signs it),
// and once its project is gone; the claims a caller gets are its own to change.
func TestVerifiedTokensAreJudgedEveryTime(t *testing.T) {
	t.Parallel()
	now := testNow
	secret := slices.Clone(testSecret)
	v := NewVerifier(func(p string) ([]byte, bool) {
		if p == "alpha" && secret != nil {
			return secret, true
		}
		return nil, false
	}, func() time.Time { return now }, 0)
	tok := mustMint(t, testSecret, testClaims)
	for range 2 { // the check, then the remembered token
		c, err := v.Verify(tok)
		if err != nil || !slices.Equal(c.Perms, testClaims.Perms) {
			t.Fatalf("Verify: %+v, %v", c, err)
		}
		c.Perms[0] = PermAdminWrite
	}
	if c, _ := v.Verify(tok); c.Has(PermAdminWrite) {
		t.Fatal("a caller's change to its claims reached the next caller")
	}

	now = testClaims.ExpiresAt.Add(time.Second)
	_, err := v.Verify(tok)
	assertErr(t, err, cns.EUNAUTHORIZED, msgExpired, string(testSecret))
	now = testNow

	secret = []byte("a-rotated-secret-of-32-bytes!!!!")
	_, err = v.Verify(tok)
	assertErr(t, err, cns.EUNAUTHORIZED, msgBadSignature, string(testSecret), string(secret))
	if _, err := v.Verify(mustMint(t, secret, testClaims)); err != nil {
		t.Fatalf("a token of the rotated secret: %v", err)
	}
	secret = slices.Clone(testSecret) // rotated back: the first token is good again
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("the first token under its own secret again: %v", err)
	}
	secret = nil // the project is gone
	_, err = v.Verify(tok)
	assertErr(t, err, cns.EUNAUTHORIZED, msgBadSignature, string(testSecret))
}
