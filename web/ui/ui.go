// Package ui holds what every dashboard page shares: the page shell (head, navigation, who is signed in,
// sign-out, the one-time notice) as a view model and its templ layout, small components (badges,
// pagination, empty states, CSRF fields) and the number and time formats, so all pages read alike.
package ui

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Shell is the view model of the frame around every signed-in page.
type Shell struct {
	Title    string
	Active   string // key of the current navigation item
	User     string
	Project  string
	Role     string
	Operator bool
	CSRF     string
	Flash    string
	Version  string
	Assets   Assets
}

// Assets are the URLs of the embedded stylesheet and script (with a content hash, so they can be cached
// for ever).
type Assets struct {
	CSS, JS string
}

// ShellFunc builds the shell of a request (the dashboard's root package provides it: it knows the
// session, the notice cookie and the asset URLs).
type ShellFunc func(w http.ResponseWriter, r *http.Request, title, active string) Shell

// DoneFunc ends a successful form action: it leaves a one-time notice and redirects (POST-redirect-GET).
type DoneFunc func(w http.ResponseWriter, r *http.Request, to, notice string)

// NavItem is one entry of the main navigation.
type NavItem struct {
	Key, Label, Href string
}

// Nav is the main navigation, in order.
var Nav = []NavItem{
	{"overview", "Overview", "/"},
	{"snos", "SNOs", "/snos"},
	{"trust", "Trust", "/trust"},
	{"pairs", "Chiral pairs", "/pairs"},
	{"jobs", "Jobs", "/jobs"},
	{"deadletters", "Dead letters", "/dead-letters"},
	{"workers", "Workers", "/workers"},
	{"config", "Configuration", "/config"},
}

// CSRFHeaders is the hx-headers value that makes htmx send the CSRF token with every request.
func (s Shell) CSRFHeaders() string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": s.CSRF})
	return string(b)
}

// Score formats a score or trust in [0,1] with two decimals.
func Score(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// Percent formats a fraction as a whole percentage.
func Percent(v float64) string {
	return strconv.FormatFloat(v*100, 'f', 0, 64) + "%"
}

// Age formats a duration for people: "42s", "3m 5s", "2h 10m", "3d 4h".
func Age(d time.Duration) string {
	switch {
	case d < 0:
		d = 0
		fallthrough
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// Ago formats how long ago something happened; under a second is "just now".
func Ago(d time.Duration) string {
	if d < time.Second {
		return "just now"
	}
	return Age(d) + " ago"
}

// When formats an instant in UTC; the zero time is "–".
func When(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// ISO is the machine-readable form of an instant for <time datetime>.
func ISO(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// With returns base with the query parameter key set to value (removed when value is empty).
func With(base string, q url.Values, key, value string) string {
	c := url.Values{}
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	if value == "" {
		c.Del(key)
	} else {
		c.Set(key, value)
	}
	if len(c) == 0 {
		return base
	}
	return base + "?" + c.Encode()
}

// Problem is a handler's answer that is not its page: a status and a text a person can act on. The
// dashboard renders it inside the frame; its text must be safe to show (no internal detail).
type Problem struct {
	Status      int
	Title, Text string
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Text) }

// BadRequest is a Problem for input a person can fix.
func BadRequest(text string) *Problem {
	return &Problem{Status: http.StatusBadRequest, Title: "That request cannot be answered", Text: text}
}

// NotFound is a Problem for something that does not exist in the project.
func NotFound(what string) *Problem {
	return &Problem{Status: http.StatusNotFound, Title: "Not found", Text: what + " does not exist in this project."}
}
