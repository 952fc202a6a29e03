package mcpgw

import (
	"fmt"
	"net/http"
	"sync"
)

// Defaults of the body budget (see BodyBudget). With --max-body at 4 MiB, one key may have 8
// bodies of the largest size being read at once (an MCP client posts one message at a time per
// session, and a handful of sessions at most), or hundreds of ordinary ones of a few KiB; the
// total lets 8 keys do so together, or 64 bodies of the largest size, while bounding what
// stalled or slow uploads make the process hold to a quarter of a GiB.
const (
	DefaultMaxBodyInflightPerKey = 32 << 20
	DefaultMaxBodyInflight       = 256 << 20
)

// CheckAPIBucket is the bucket of the decision API's bodies in the body budget: they name their
// key inside the body, so they are accounted together, before any is read, under a name no key
// can have (key names never contain '/').
const CheckAPIBucket = "/api/v1/check"

// CodeBodyBudget accompanies the 429 of a request whose body would take its key, or the
// gateway, past the bytes of request bodies it may be reading at once.
const CodeBodyBudget = -32037

// BodyBudget bounds the bytes of request bodies being read at once, per bucket (a key) and in
// total. A request reserves what it may read — its declared Content-Length, or the whole body
// limit when it declares none — before reading a byte of it, and releases the reservation as
// soon as the read ends, however it ends; a reservation that does not fit is refused at once,
// so a key holding connections with stalled bodies exhausts only its own share.
//
// Both counters live under one mutex, so a reservation is checked against both and taken in one
// step; a bucket's entry is deleted when it drops to zero, so the map holds only the buckets
// reading right now.
type BodyBudget struct {
	perBucket, total int64

	mu    sync.Mutex
	used  map[string]int64
	inUse int64
}

// NewBodyBudget returns a budget of perBucket bytes a bucket and total bytes in all; a value
// of zero or less takes its default.
func NewBodyBudget(perBucket, total int64) *BodyBudget {
	return &BodyBudget{perBucket: orDefault(perBucket, DefaultMaxBodyInflightPerKey),
		total: orDefault(total, DefaultMaxBodyInflight), used: map[string]int64{}}
}

// BudgetError is a reservation refused: Bucket says whether the bucket's share (true) or the
// total (false) would have been exceeded, Limit is that limit in bytes.
type BudgetError struct {
	Bucket bool
	Limit  int64
}

func (e *BudgetError) Error() string {
	if e.Bucket {
		return fmt.Sprintf("body budget: the bucket's request bodies being read at once would exceed %d bytes", e.Limit)
	}
	return fmt.Sprintf("body budget: the request bodies being read at once would exceed %d bytes in all", e.Limit)
}

// Reserve reserves n bytes for bucket. It returns the function that releases them (call it
// exactly once, when the read ends; later calls do nothing), or a *BudgetError without
// reserving anything. n of zero or less reserves nothing and always fits.
func (b *BodyBudget) Reserve(bucket string, n int64) (release func(), err error) {
	if n <= 0 {
		return func() {}, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used[bucket]+n > b.perBucket {
		return nil, &BudgetError{Bucket: true, Limit: b.perBucket}
	}
	if b.inUse+n > b.total {
		return nil, &BudgetError{Limit: b.total}
	}
	b.used[bucket] += n
	b.inUse += n
	var once sync.Once
	return func() { once.Do(func() { b.release(bucket, n) }) }, nil
}

// ReserveBody reserves for the body of r, before it is read, what reading it up to limit may
// take: its declared Content-Length, or limit when it declares none (a chunked body). net/http
// never delivers more of a body than its declared length, so the reservation covers the read.
func (b *BodyBudget) ReserveBody(bucket string, r *http.Request, limit int64) (release func(), err error) {
	n := r.ContentLength
	if n < 0 || n == 0 && r.Body != nil && r.Body != http.NoBody {
		n = limit // unknown length (a request built by hand may leave 0 with a body)
	}
	return b.Reserve(bucket, min(n, limit))
}

func (b *BodyBudget) release(bucket string, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used[bucket] -= n; b.used[bucket] <= 0 {
		delete(b.used, bucket)
	}
	b.inUse -= n
}

// inFlight is what is reserved: in all, and the number of buckets reserving (tests check that
// every reservation is released).
func (b *BodyBudget) inFlight() (bytes int64, buckets int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inUse, len(b.used)
}
