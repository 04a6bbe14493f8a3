// Package login is the dashboard's sign-in page: a person signs in with a bearer token minted by
// `cns token` (admin:write makes an operator, admin:read a viewer) or with a name and password from
// configuration, and gets an encrypted session cookie; signing out deletes it.
package login

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/auth"
	"github.com/cns-dev/cns/web/session"
	"github.com/cns-dev/cns/web/ui"
)

// User is a password account.
type User struct {
	PasswordHash []byte // bcrypt
	Role         session.Role
	Project      string
}

// Handler serves GET/POST /login and POST /logout.
type Handler struct {
	Assets   ui.Assets
	Sessions *session.Manager
	// Verify checks a bearer token against the project secrets.
	Verify func(token string) (auth.Claims, error)
	// Revoked reports whether a token id is revoked (nil: none is).
	Revoked func(tokenID string) bool
	Users   map[string]User
	Hint    string
	Log     *zap.Logger
	// SignedIn, if set, is told about every new session (the history sampler watches its project).
	SignedIn func(session.Session)
	// Throttle limits failed sign-ins per client (nil: no limit).
	Throttle *Throttle
}

// dummyHash is compared against when the user does not exist, so a wrong name costs as much time as a
// wrong password and names cannot be discovered by timing.
var dummyHash = []byte("$2a$10$uoopRgzJrpjuHqM/fWifaOPSYLdRQRJ8p2k7ZIPqx9E7mvatv5nrO")

// maxCredential bounds what is read from the form: tokens are ≤ 4 KiB, passwords far less (bcrypt reads
// only 72 bytes anyway).
const maxCredential = auth.MaxTokenLen

// LocalPath returns next when it is a path on this site, else "/": the sign-in form must never redirect
// to another site.
func LocalPath(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	if strings.HasPrefix(u.Path, "/login") || strings.HasPrefix(u.Path, "/logout") {
		return "/"
	}
	return next
}

func (h *Handler) model(r *http.Request) Model {
	return Model{Next: LocalPath(r.FormValue("next")), Hint: h.Hint, Passwords: len(h.Users) > 0}
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, m Model) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := View(h.Assets, m).Render(r.Context(), w); err != nil {
		h.Log.Warn("render sign-in page", zap.Error(err))
	}
}

// Page shows the sign-in form, or goes straight on for someone already signed in.
func (h *Handler) Page(w http.ResponseWriter, r *http.Request) {
	m := h.model(r)
	if _, err := h.Sessions.Read(r); err == nil {
		http.Redirect(w, r, m.Next, http.StatusSeeOther)
		return
	} else if errors.Is(err, session.ErrExpired) {
		m.Notice = "Your session expired. Please sign in again."
	}
	if n := h.Sessions.TakeFlash(w, r); n != "" {
		m.Notice = n
	}
	h.render(w, r, http.StatusOK, m)
}

// SignIn checks the token or the credentials and starts a session.
func (h *Handler) SignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.render(w, r, http.StatusBadRequest, Model{Error: "The form could not be read.", Hint: h.Hint, Passwords: len(h.Users) > 0})
		return
	}
	m := h.model(r)
	if blocked, wait := h.Throttle.Blocked(r); blocked {
		h.Log.Warn("dashboard sign-in throttled", zap.String("client", r.RemoteAddr))
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		m.Error = fmt.Sprintf("Too many failed sign-ins from your address. Try again in %d seconds.", int(wait.Seconds())+1)
		h.render(w, r, http.StatusTooManyRequests, m)
		return
	}
	var s session.Session
	var fail string
	if tok := strings.TrimSpace(r.PostFormValue("token")); tok != "" {
		s, fail = h.byToken(tok)
	} else {
		m.Username = strings.TrimSpace(r.PostFormValue("username"))
		s, fail = h.byPassword(m.Username, r.PostFormValue("password"))
	}
	if fail != "" {
		h.Throttle.Failed(r)
		h.Log.Info("dashboard sign-in refused", zap.String("reason", fail))
		m.Error = fail
		h.render(w, r, http.StatusUnauthorized, m)
		return
	}
	s, err := h.Sessions.Issue(w, s)
	if err != nil {
		m.Error = "The session could not be started; the token may be about to expire."
		h.render(w, r, http.StatusUnauthorized, m)
		return
	}
	h.Log.Info("dashboard sign-in", zap.String("project", s.Project), zap.String("role", string(s.Role)), zap.String("method", s.Method))
	if h.SignedIn != nil {
		h.SignedIn(s)
	}
	http.Redirect(w, r, m.Next, http.StatusSeeOther)
}

func (h *Handler) byToken(tok string) (session.Session, string) {
	if len(tok) > maxCredential {
		return session.Session{}, "That is not a CNS token."
	}
	tok = strings.TrimPrefix(tok, "Bearer ")
	c, err := h.Verify(tok)
	if err != nil {
		// The verifier's messages are fixed texts ("token expired", "invalid token signature"…).
		return session.Session{}, "The token was refused: " + cns.ErrorMessage(err) + "."
	}
	if h.Revoked != nil && h.Revoked(c.ID) {
		return session.Session{}, "The token was refused: token revoked."
	}
	role := session.Role("")
	switch {
	case c.Has(auth.PermAdminWrite):
		role = session.Operator
	case c.Has(auth.PermAdminRead):
		role = session.Viewer
	default:
		return session.Session{}, "The token has neither admin:read (viewer) nor admin:write (operator)."
	}
	sub := "token"
	if len(c.ID) >= 6 {
		sub = "token …" + c.ID[len(c.ID)-6:]
	}
	return session.Session{Subject: sub, Method: "token", Project: c.Project, Role: role, ExpiresAt: c.ExpiresAt, TokenID: c.ID}, ""
}

func (h *Handler) byPassword(name, password string) (session.Session, string) {
	const refused = "Unknown user or wrong password."
	if name == "" || password == "" || len(password) > maxCredential {
		return session.Session{}, "Enter a token, or a user name and password."
	}
	u, ok := h.Users[name]
	hash := u.PasswordHash
	if !ok {
		hash = dummyHash
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil || !ok {
		return session.Session{}, refused
	}
	return session.Session{Subject: name, Method: "password", Project: u.Project, Role: u.Role}, ""
}

// SignOut ends the session.
func (h *Handler) SignOut(w http.ResponseWriter, r *http.Request) {
	h.Sessions.Clear(w)
	h.Sessions.SetFlash(w, "Signed out.")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
