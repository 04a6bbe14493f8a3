// Package session keeps dashboard sign-ins in an encrypted, authenticated cookie instead of server memory,
// so any API replica holding the same key accepts a session another replica issued. The cookie holds the
// project, the role, the expiry and the session's CSRF token; AES-256-GCM both hides the token and makes
// the cookie tamper-proof. A signed-out cookie is deleted from the browser but cannot be revoked
// server-side before it expires: session_ttl bounds that window.
package session

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Role is what a signed-in person may do.
type Role string

// Roles. Viewers read everything of their project; operators also act (redrive, purge, archive, re-score,
// submit).
const (
	Viewer   Role = "viewer"
	Operator Role = "operator"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == Viewer || r == Operator }

// Session is one sign-in.
type Session struct {
	Subject string `json:"sub"`  // user name, or "token" for a token sign-in
	Method  string `json:"m"`    // "password" or "token"
	Project string `json:"p"`    // the only project the session sees
	Role    Role   `json:"r"`    //
	CSRF    string `json:"csrf"` // per-session token every mutation must echo
	// TokenID is the id (jti) of the token signed in with, so revoking the token also ends the session.
	TokenID   string    `json:"jti,omitempty"`
	IssuedAt  time.Time `json:"iat"`
	ExpiresAt time.Time `json:"exp"`
}

// CanOperate reports whether the session may change things.
func (s Session) CanOperate() bool { return s.Role == Operator }

// Cookie names. The session cookie is HttpOnly; the flash cookie carries a one-time notice after a
// redirect.
const (
	CookieName = "cns_session"
	flashName  = "cns_flash"
)

// Errors of Read. Their texts are fixed: nothing from the cookie reaches a page or a log.
var (
	ErrNoSession = errors.New("not signed in")
	ErrInvalid   = errors.New("session cookie is not valid")
	ErrExpired   = errors.New("session expired")
)

// Manager issues and reads session cookies.
type Manager struct {
	aead cipher.AEAD
	ttl  time.Duration
	now  func() time.Time
}

// KeyLen is the minimum length of the configured key.
const KeyLen = 32

// NewManager returns a manager whose cookies are encrypted with a key derived from key (at least KeyLen
// bytes). now may be nil (time.Now).
func NewManager(key []byte, ttl time.Duration, now func() time.Time) (*Manager, error) {
	if len(key) < KeyLen {
		return nil, fmt.Errorf("session key: %d bytes, need at least %d", len(key), KeyLen)
	}
	if ttl <= 0 {
		return nil, errors.New("session ttl must be positive")
	}
	// Derived rather than used as is, so the configured key could serve another purpose later without the
	// two uses ever sharing a key.
	k, err := hkdf.Key(sha256.New, key, nil, "cns dashboard session v1", 32)
	if err != nil {
		return nil, fmt.Errorf("derive session key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("session cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("session cipher: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &Manager{aead: aead, ttl: ttl, now: now}, nil
}

// Now is the manager's clock.
func (m *Manager) Now() time.Time { return m.now() }

func (m *Manager) seal(name string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", name, err)
	}
	nonce := make([]byte, m.aead.NonceSize(), m.aead.NonceSize()+len(plain)+m.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	// The cookie name is authenticated too, so a flash cookie can never be replayed as a session.
	return base64.RawURLEncoding.EncodeToString(m.aead.Seal(nonce, nonce, plain, []byte(name))), nil
}

func (m *Manager) open(name, value string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < m.aead.NonceSize()+m.aead.Overhead() {
		return ErrInvalid
	}
	ns := m.aead.NonceSize()
	plain, err := m.aead.Open(nil, raw[:ns], raw[ns:], []byte(name))
	if err != nil {
		return ErrInvalid
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return ErrInvalid
	}
	return nil
}

func cookie(name, value string, maxAge int) *http.Cookie {
	// Secure: browsers still store it on http://localhost and 127.0.0.1 (potentially trustworthy
	// origins), which is where `cns dev` runs; anywhere else the dashboard belongs behind TLS.
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
}

// Issue completes s (CSRF token, times; an ExpiresAt already set, e.g. the token's, is kept when it
// comes before the TTL) and sets its cookie.
func (m *Manager) Issue(w http.ResponseWriter, s Session) (Session, error) {
	if !s.Role.Valid() || s.Project == "" {
		return Session{}, errors.New("issue session: role and project are required")
	}
	now := m.now().UTC().Truncate(time.Second)
	exp := now.Add(m.ttl)
	if !s.ExpiresAt.IsZero() && s.ExpiresAt.Before(exp) {
		exp = s.ExpiresAt.UTC()
	}
	if !exp.After(now) {
		return Session{}, ErrExpired
	}
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return Session{}, fmt.Errorf("csrf token: %w", err)
	}
	s.CSRF = base64.RawURLEncoding.EncodeToString(tok)
	s.IssuedAt, s.ExpiresAt = now, exp
	v, err := m.seal(CookieName, s)
	if err != nil {
		return Session{}, err
	}
	http.SetCookie(w, cookie(CookieName, v, int(exp.Sub(now).Seconds())))
	return s, nil
}

// Read returns the request's session: ErrNoSession without a cookie, ErrInvalid for one this key did
// not make (or that was altered), ErrExpired after its expiry.
func (m *Manager) Read(r *http.Request) (Session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return Session{}, ErrNoSession
	}
	var s Session
	if err := m.open(CookieName, c.Value, &s); err != nil {
		return Session{}, err
	}
	if !s.Role.Valid() || s.Project == "" || s.CSRF == "" {
		return Session{}, ErrInvalid
	}
	if !m.now().Before(s.ExpiresAt) {
		return Session{}, ErrExpired
	}
	return s, nil
}

// Clear deletes the session cookie (sign-out).
func (m *Manager) Clear(w http.ResponseWriter) {
	http.SetCookie(w, cookie(CookieName, "", -1))
}

// CSRFField is the form field, and CSRFHeader the header (htmx), that carry the session's CSRF token.
const (
	CSRFField  = "csrf"
	CSRFHeader = "X-CSRF-Token"
)

// CheckCSRF reports whether the request echoes the session's CSRF token, in constant time.
func CheckCSRF(s Session, r *http.Request) bool {
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		got = r.PostFormValue(CSRFField)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}

type flash struct {
	Text string    `json:"t"`
	At   time.Time `json:"at"`
}

// flashTTL bounds how long a notice waits for the page it was meant for.
const flashTTL = time.Minute

// SetFlash sets a one-time notice shown by the next page.
func (m *Manager) SetFlash(w http.ResponseWriter, text string) {
	v, err := m.seal(flashName, flash{Text: text, At: m.now().UTC()})
	if err != nil {
		return // a lost notice is not worth failing the action it reports
	}
	http.SetCookie(w, cookie(flashName, v, int(flashTTL.Seconds())))
}

// TakeFlash returns the pending notice, if any, and deletes it.
func (m *Manager) TakeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashName)
	if err != nil {
		return ""
	}
	http.SetCookie(w, cookie(flashName, "", -1))
	var f flash
	if m.open(flashName, c.Value, &f) != nil || m.now().Sub(f.At) > flashTTL {
		return ""
	}
	return f.Text
}

type ctxKey struct{}

// NewContext returns ctx carrying s (the dashboard's middleware does this for signed-in requests).
func NewContext(ctx context.Context, s Session) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// FromContext returns the request's session.
func FromContext(ctx context.Context) (Session, bool) {
	s, ok := ctx.Value(ctxKey{}).(Session)
	return s, ok
}
