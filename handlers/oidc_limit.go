package handlers

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// flowLimiter bounds the single sign-ons one client address may start. Each start writes a
// row (oidc_flows) that lives ten minutes, and anyone may start one, signed in or not: without
// a bound, one address could fill the table. A person starts one sign-in at a time; 20 at once,
// then one every 3 seconds, is far beyond that. The bound is per replica, in memory: it limits
// the rows one address can make, not a secret anyone could guess.
type flowLimiter struct {
	mu     sync.Mutex
	byAddr map[string]*limited
}

type limited struct {
	lim  *rate.Limiter
	seen time.Time
}

const (
	flowBurst = 20
	flowEvery = 3 * time.Second
	// flowForget drops an address not seen for that long (its bucket is full again by then).
	flowForget = 10 * time.Minute
)

// allow reports whether addr may start a sign-in at now.
func (l *flowLimiter) allow(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byAddr == nil {
		l.byAddr = map[string]*limited{}
	}
	if len(l.byAddr) > 10000 {
		for a, e := range l.byAddr {
			if now.Sub(e.seen) > flowForget {
				delete(l.byAddr, a)
			}
		}
	}
	e := l.byAddr[addr]
	if e == nil {
		e = &limited{lim: rate.NewLimiter(rate.Every(flowEvery), flowBurst)}
		l.byAddr[addr] = e
	}
	e.seen = now
	return e.lim.AllowN(now, 1)
}
