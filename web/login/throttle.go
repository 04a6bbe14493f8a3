package login

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Throttle limits failed sign-ins per client address: each failure spends a token of a bucket that refills
// at Burst per Window, and a client with an empty bucket is refused before its credentials are checked,
// so passwords and tokens cannot be guessed at speed. Successful sign-ins cost nothing.
type Throttle struct {
	Burst  int
	Window time.Duration

	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

// NewThrottle allows burst failures per window and client.
func NewThrottle(burst int, window time.Duration) *Throttle {
	return &Throttle{Burst: burst, Window: window, clients: map[string]*rate.Limiter{}}
}

const maxTracked = 10000 // bounds memory under an address-spraying attack

func (t *Throttle) limiter(r *http.Request) *rate.Limiter {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.clients[host]
	if l == nil {
		if len(t.clients) >= maxTracked {
			t.clients = map[string]*rate.Limiter{} // forget everyone rather than grow without bound
		}
		l = rate.NewLimiter(rate.Every(t.Window/time.Duration(t.Burst)), t.Burst)
		t.clients[host] = l
	}
	return l
}

// Blocked reports whether the client has no failures left, and how long until it has one.
func (t *Throttle) Blocked(r *http.Request) (bool, time.Duration) {
	if t == nil {
		return false, 0
	}
	l := t.limiter(r)
	if l.Tokens() >= 1 {
		return false, 0
	}
	res := l.Reserve()
	d := res.Delay()
	res.Cancel()
	return true, d
}

// Failed records a failed attempt.
func (t *Throttle) Failed(r *http.Request) {
	if t != nil {
		t.limiter(r).Allow()
	}
}
