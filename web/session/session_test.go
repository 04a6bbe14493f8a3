package session_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cns-dev/cns/web/session"
)

func key(b byte) []byte { return []byte(strings.Repeat(string(rune('a'+b)), 32)) }

func issue(t *testing.T, m *session.Manager, s session.Session) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	if _, err := m.Issue(w, s); err != nil {
		t.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == session.CookieName {
			return c
		}
	}
	t.Fatal("no session cookie set")
	return nil
}

func read(m *session.Manager, c *http.Cookie) (session.Session, error) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if c != nil {
		r.AddCookie(c)
	}
	return m.Read(r)
}

func TestRoundTripAndExpiry(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	m, err := session.NewManager(key(0), time.Hour, clock)
	if err != nil {
		t.Fatal(err)
	}
	const subject = "ada.lovelace@analytical-engine.example"
	c := issue(t, m, session.Session{Subject: subject, Method: "password", Project: "p", Role: session.Operator})
	// Neither the cookie nor its base64 decoding may show the subject or the role. (A short needle made
	// this flaky: "ada" turned up by chance in the random-looking value about once in a thousand runs.)
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		t.Fatalf("cookie value is not base64url: %v", err)
	}
	for _, text := range []string{c.Value, string(raw)} {
		if strings.Contains(text, "lovelace") || strings.Contains(text, "operator") {
			t.Error("the cookie is readable; it must be encrypted")
		}
	}
	s, err := read(m, c)
	if err != nil || s.Subject != subject || s.Project != "p" || !s.CanOperate() || len(s.CSRF) < 32 || !s.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("read back %+v, %v", s, err)
	}
	now = now.Add(time.Hour)
	if _, err := read(m, c); !errors.Is(err, session.ErrExpired) {
		t.Errorf("at expiry: %v, want ErrExpired", err)
	}
	if _, err := read(m, nil); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("no cookie: %v", err)
	}
}

func TestTokenExpiryBoundsTheSession(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	m, _ := session.NewManager(key(0), 8*time.Hour, func() time.Time { return now })
	w := httptest.NewRecorder()
	s, err := m.Issue(w, session.Session{Subject: "token", Project: "p", Role: session.Viewer, ExpiresAt: now.Add(time.Minute)})
	if err != nil || !s.ExpiresAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("session of a 1-minute token expires at %v (%v)", s.ExpiresAt, err)
	}
	if _, err := m.Issue(w, session.Session{Project: "p", Role: session.Viewer, ExpiresAt: now.Add(-time.Second)}); !errors.Is(err, session.ErrExpired) {
		t.Errorf("an expired token made a session: %v", err)
	}
	if _, err := m.Issue(w, session.Session{Project: "p", Role: "admin"}); err == nil {
		t.Error("an unknown role made a session")
	}
}

func TestForgedCookiesAreRefused(t *testing.T) {
	m, _ := session.NewManager(key(0), time.Hour, nil)
	other, _ := session.NewManager(key(1), time.Hour, nil)
	c := issue(t, other, session.Session{Project: "p", Role: session.Operator})
	if _, err := read(m, c); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("a cookie from another key: %v", err)
	}
	c = issue(t, m, session.Session{Project: "p", Role: session.Viewer})
	b := []byte(c.Value)
	b[len(b)/2] ^= 1
	if _, err := read(m, &http.Cookie{Name: c.Name, Value: string(b)}); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("a tampered cookie: %v", err)
	}
	for _, v := range []string{"", "x", "!!!", strings.Repeat("A", 20)} {
		if _, err := read(m, &http.Cookie{Name: c.Name, Value: v}); err == nil {
			t.Errorf("cookie %q accepted", v)
		}
	}
	// A flash cookie is sealed by the same key but bound to its own name: it is no session.
	w := httptest.NewRecorder()
	m.SetFlash(w, `{"p":"p","r":"operator","csrf":"x","exp":"2099-01-01T00:00:00Z"}`)
	flash := w.Result().Cookies()[0]
	if _, err := read(m, &http.Cookie{Name: session.CookieName, Value: flash.Value}); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("a flash cookie replayed as a session: %v", err)
	}
	if _, err := session.NewManager([]byte("short"), time.Hour, nil); err == nil {
		t.Error("a short key was accepted")
	}
}

func TestFlashIsShownOnce(t *testing.T) {
	m, _ := session.NewManager(key(0), time.Hour, nil)
	w := httptest.NewRecorder()
	m.SetFlash(w, "Redrove 1 dead letter.")
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(w.Result().Cookies()[0])
	w2 := httptest.NewRecorder()
	if got := m.TakeFlash(w2, r); got != "Redrove 1 dead letter." {
		t.Errorf("flash %q", got)
	}
	if c := w2.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("the flash cookie was not deleted: %+v", c)
	}
}

func TestCheckCSRF(t *testing.T) {
	s := session.Session{CSRF: "token-123"}
	for _, c := range []struct {
		header, field string
		ok            bool
	}{{"token-123", "", true}, {"", "token-123", true}, {"", "", false}, {"token-12", "", false}, {"", "token-1234", false}} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("csrf="+c.field))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c.header != "" {
			r.Header.Set(session.CSRFHeader, c.header)
		}
		if got := session.CheckCSRF(s, r); got != c.ok {
			t.Errorf("header %q field %q: %v, want %v", c.header, c.field, got, c.ok)
		}
	}
}
