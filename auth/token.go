package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/cns-dev/cns"
)

const (
	// tokenPrefix is the format version including its separator. It is part of the signed input so a
	// signature for one format can never be replayed as another.
	tokenPrefix = "cns1."

	// MaxTokenLen bounds the token before any decoding, so oversized input costs nothing to reject.
	// Real tokens are a few hundred bytes.
	MaxTokenLen = 4 << 10

	// MinSecretLen is the shortest secret Mint accepts and Verify trusts. Production configuration is
	// expected to require 32 bytes (what GenerateSecret returns); 16 keeps short test secrets usable.
	MinSecretLen = 16

	idBytes = 12 // 96 bits: collisions are negligible at any plausible issuance rate

	// The Unix-second range a token may name: 1970-01-01T00:00:01Z through 9999-12-31T23:59:59Z.
	// Bounding it keeps time arithmetic (exp + skew) far from overflow.
	minUnix = 1
	maxUnix = 253402300799
)

// Fixed verification messages. They are constants on purpose: nothing derived from the token, the
// signature or a secret can ever reach the caller.
const (
	msgMalformed     = "malformed token"
	msgBadSignature  = "invalid token signature" // also for unknown projects: no project enumeration
	msgBadClaims     = "invalid token claims"
	msgExpired       = "token expired"
	msgNotYetValid   = "token not yet valid"
	msgMissingBearer = "missing bearer token"
)

// b64 is the token's base64 flavour. Strict rejects non-zero trailing bits so every byte string has
// exactly one encoding; RawURLEncoding rejects padding.
var b64 = base64.RawURLEncoding.Strict()

// payload is the JSON body of a token. Field names are short because the token travels in every request.
type payload struct {
	Project   string   `json:"p"`
	Perms     []string `json:"perms"`
	IssuedAt  int64    `json:"iat"`
	ExpiresAt int64    `json:"exp"`
	ID        string   `json:"jti"`
}

// check collects what is wrong with the payload. Mint and Verify share it so a token Verify accepts
// is exactly a token Mint could have produced.
func (p *payload) check() cns.Violations {
	var v cns.Violations
	switch {
	case p.Project == "":
		v.Add("project", "is required")
	case !ValidProject(p.Project):
		v.Add("project", "must match ^[a-z0-9][a-z0-9_-]{0,62}$")
	}
	if len(p.Perms) == 0 {
		v.Add("perms", "at least one permission is required")
	}
	for i, perm := range p.Perms {
		switch {
		case !ValidPerm(perm):
			v.Add(fmt.Sprintf("perms[%d]", i), "unknown permission %q", truncate(perm, 32))
		case slices.Contains(p.Perms[:i], perm):
			v.Add(fmt.Sprintf("perms[%d]", i), "duplicate permission %q", perm)
		}
	}
	if p.IssuedAt < minUnix || p.IssuedAt > maxUnix {
		v.Add("issued_at", "must be between 1970-01-01T00:00:01Z and 9999-12-31T23:59:59Z")
	}
	if p.ExpiresAt < minUnix || p.ExpiresAt > maxUnix {
		v.Add("expires_at", "must be between 1970-01-01T00:00:01Z and 9999-12-31T23:59:59Z")
	} else if p.ExpiresAt <= p.IssuedAt {
		v.Add("expires_at", "must be after issued_at (at one-second resolution)")
	}
	if !validID(p.ID) {
		v.Add("id", "must be %d lowercase hex characters", 2*idBytes)
	}
	return v
}

func (p *payload) claims() Claims {
	return Claims{
		Project:   p.Project,
		Perms:     p.Perms,
		IssuedAt:  time.Unix(p.IssuedAt, 0).UTC(),
		ExpiresAt: time.Unix(p.ExpiresAt, 0).UTC(),
		ID:        p.ID,
	}
}

// Mint signs c with secret and returns the token. Times are truncated to whole seconds; ExpiresAt must
// still be after IssuedAt afterwards. An empty ID is filled with a fresh random one. Invalid input is
// an EINVALID *cns.Error listing every problem; the secret never appears in it.
func Mint(secret []byte, c Claims) (string, error) {
	if len(secret) < MinSecretLen {
		return "", cns.Errorf(cns.EINVALID, "secret must be at least %d bytes", MinSecretLen)
	}
	p := payload{
		Project: c.Project,
		// Copied so the caller can reuse its slice; a nil slice would encode as null.
		Perms: append([]string{}, c.Perms...),
		ID:    c.ID,
	}
	// A zero time.Time is year 1, which unixOrZero maps out of range so check reports it.
	p.IssuedAt, p.ExpiresAt = unixOrZero(c.IssuedAt), unixOrZero(c.ExpiresAt)
	if p.ID == "" {
		id, err := newID()
		if err != nil {
			return "", err
		}
		p.ID = id
	}
	if err := p.check().Err("invalid token claims"); err != nil {
		return "", err
	}
	raw, err := json.Marshal(&p)
	if err != nil {
		return "", cns.Errorf(cns.EINTERNAL, "encode token payload: %v", err)
	}
	signed := tokenPrefix + b64.EncodeToString(raw)
	return signed + "." + b64.EncodeToString(sign(secret, signed)), nil
}

// Verifier checks tokens against per-project secrets. It is safe for concurrent use if the secrets
// and now functions are.
type Verifier struct {
	secrets func(project string) ([]byte, bool)
	now     func() time.Time
	skew    time.Duration
	// verified keeps the claims of tokens whose signature checked out, with the secret that checked
	// it: a client sends the same token with every call, and parsing and checking it again (JSON both
	// ways and an HMAC, ~6 µs and 26 allocations) was a tenth of a small call's CPU in the API. A cached
	// token is still judged on every call against the clock and the project's current secret; one
	// signed with a secret since rotated is checked afresh (and fails).
	verified *lru.Cache[string, verifiedToken]
}

type verifiedToken struct {
	claims Claims
	secret []byte
}

// verifiedCacheSize bounds the tokens a Verifier remembers (a few hundred bytes each).
const verifiedCacheSize = 4096

// NewVerifier returns a Verifier. secrets returns a project's current secret and whether the project
// has one; it is only called with names that pass [ValidProject]. now defaults to time.Now when nil
// (tests pass a fixed clock). skew is the clock difference tolerated between issuer and verifier, for
// both expiry and issue time; a negative skew counts as zero. NewVerifier panics if secrets is nil,
// because a verifier without secrets is a wiring bug that should fail at startup, not per request.
func NewVerifier(secrets func(project string) ([]byte, bool), now func() time.Time, skew time.Duration) *Verifier {
	if secrets == nil {
		panic("auth: NewVerifier: nil secrets function")
	}
	if now == nil {
		now = time.Now
	}
	verified, err := lru.New[string, verifiedToken](verifiedCacheSize)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return &Verifier{secrets: secrets, now: now, skew: max(skew, 0), verified: verified}
}

// Verify checks the token and returns its claims. Every failure is an EUNAUTHORIZED *cns.Error with a
// fixed message: "malformed token", "invalid token signature" (bad signature or unknown project),
// "invalid token claims", "token expired" or "token not yet valid".
func (v *Verifier) Verify(token string) (Claims, error) {
	if t, ok := v.verified.Get(token); ok {
		if secret, found := v.secrets(t.claims.Project); found && bytes.Equal(secret, t.secret) {
			return v.current(t.claims)
		}
		v.verified.Remove(token) // the secret changed: check the token against the current one
	}
	p, sig, signed, ok := parse(token)
	if !ok {
		return Claims{}, unauthorized(msgMalformed)
	}
	secret, found := v.secrets(p.Project)
	if !found || len(secret) < MinSecretLen {
		// Spend the same HMAC an existing project would cost so response timing does not reveal
		// whether the project exists. The result is discarded.
		hmac.Equal(sign(dummySecret[:], signed), sig)
		return Claims{}, unauthorized(msgBadSignature)
	}
	if !hmac.Equal(sign(secret, signed), sig) {
		return Claims{}, unauthorized(msgBadSignature)
	}
	// Only now, with the signature known good, are the claims worth judging. A signed token can still
	// be unacceptable, e.g. one naming a permission this build does not know.
	if len(p.check()) > 0 {
		return Claims{}, unauthorized(msgBadClaims)
	}
	c := p.claims()
	v.verified.Add(token, verifiedToken{claims: c, secret: bytes.Clone(secret)})
	return v.current(c)
}

// current returns claims whose signature checked out if they are valid now.
func (v *Verifier) current(c Claims) (Claims, error) {
	now := v.now()
	if now.After(c.ExpiresAt.Add(v.skew)) {
		return Claims{}, unauthorized(msgExpired)
	}
	if c.IssuedAt.After(now.Add(v.skew)) {
		return Claims{}, unauthorized(msgNotYetValid)
	}
	// A copy: the cached claims are shared by every call that presents the token.
	c.Perms = slices.Clone(c.Perms)
	return c, nil
}

// dummySecret keys the decoy HMAC computed for unknown projects.
var dummySecret [32]byte

// parse splits and decodes a token without trusting it yet. signed is the exact input of the
// signature: the prefix and the payload as received.
func parse(token string) (p payload, sig []byte, signed string, ok bool) {
	if len(token) > MaxTokenLen || !strings.HasPrefix(token, tokenPrefix) {
		return payload{}, nil, "", false
	}
	// Check the alphabet up front: Go's base64 decoder silently skips '\r' and '\n', which would
	// give one token several spellings.
	for i := 0; i < len(token); i++ {
		if !isTokenByte(token[i]) {
			return payload{}, nil, "", false
		}
	}
	payloadB64, sigB64, found := strings.Cut(token[len(tokenPrefix):], ".")
	if !found || strings.Contains(sigB64, ".") {
		return payload{}, nil, "", false
	}
	sig, err := b64.DecodeString(sigB64)
	if err != nil || len(sig) != sha256.Size {
		return payload{}, nil, "", false
	}
	raw, err := b64.DecodeString(payloadB64)
	if err != nil {
		return payload{}, nil, "", false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	// Unknown fields are refused here explicitly; the canonical comparison below would catch them as
	// well, but stating the rule where the JSON is parsed keeps it visible.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return payload{}, nil, "", false
	}
	// Demand the canonical encoding: this rejects trailing data, whitespace, duplicate or
	// differently-cased keys, nulls and reordered fields in one comparison, so the signed bytes and
	// the claims we act on can never disagree.
	canon, err := json.Marshal(&p)
	if err != nil || !bytes.Equal(canon, raw) {
		return payload{}, nil, "", false
	}
	// Validate the name before it reaches the secret store, which may be a map, a file or a network call.
	if !ValidProject(p.Project) {
		return payload{}, nil, "", false
	}
	return p, sig, token[:len(tokenPrefix)+len(payloadB64)], true
}

func sign(secret []byte, signed string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// ParseBearer extracts the token from an Authorization header value of the form "Bearer <token>".
// The scheme is case-insensitive (RFC 9110). Anything else, including an empty token, is an
// EUNAUTHORIZED "missing bearer token"; the header's content is never echoed.
func ParseBearer(header string) (string, error) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", unauthorized(msgMissingBearer)
	}
	token := strings.TrimLeft(rest, " ")
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", unauthorized(msgMissingBearer)
	}
	return token, nil
}

func unauthorized(msg string) error {
	return cns.Errorf(cns.EUNAUTHORIZED, "%s", msg)
}

func newID() (string, error) {
	b := make([]byte, idBytes)
	if _, err := rand.Read(b); err != nil {
		return "", cns.Errorf(cns.EINTERNAL, "generate token id: %v", err)
	}
	return hex.EncodeToString(b), nil
}

func validID(id string) bool {
	if len(id) != 2*idBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// unixOrZero maps times outside the representable token range to 0 so check rejects them, instead of
// letting the zero time.Time (year 1) become a large negative number that might wrap somewhere.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	u := t.Unix()
	if u < minUnix || u > maxUnix {
		return 0
	}
	return u
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
