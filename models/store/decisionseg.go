package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/warden-mcp/warden/models"
)

// A segment is one row of the decision log: the decisions one write carried, encoded compactly.
// The encoding (version 1) is
//
//	version byte (1)
//	uvarint count of names, then each name as uvarint length and bytes (name 0 is "", implicit)
//	per decision: varint microseconds since the previous decision (the first: since first_at),
//	  uvarint kind, key, end user, agent, server, tool and decided-by name numbers,
//	  one byte of flags (bit 0: allowed), varint revision change since the previous decision
//
// so a decision costs about 12 bytes plus its share of the names, which a batch names once.
const segmentVersion = 1

// maxSegment is the most decisions one segment holds; decision ids are segment id << 16 | index.
const (
	maxSegment     = 1 << segmentIDShift
	segmentIDShift = 16
)

// errSegment is a segment that does not decode (never written by Warden).
var errSegment = errors.New("corrupt decision log segment")

// micros is t in microseconds since the epoch, the decision log's time.
func micros(t time.Time) int64 { return t.UnixMicro() }

// encodeSegment encodes rows (at most maxSegment, in the order given) and returns the time of
// the first and the latest of them.
func encodeSegment(rows []models.Decision) (data []byte, first, last int64) {
	names := map[string]uint64{"": 0}
	var table []string
	num := func(s string) uint64 {
		n, ok := names[s]
		if !ok {
			table = append(table, s)
			n = uint64(len(table))
			names[s] = n
		}
		return n
	}
	body := make([]byte, 0, 16*len(rows))
	first = micros(rows[0].At)
	last = first
	prevAt, prevRev := first, int64(0)
	for i := range rows {
		r := &rows[i]
		at := micros(r.At)
		last = max(last, at)
		body = binary.AppendVarint(body, at-prevAt)
		for _, s := range [...]string{r.Kind, r.KeyName, r.EndUser, r.Agent, r.Server, r.Tool, r.DecidedBy} {
			body = binary.AppendUvarint(body, num(s))
		}
		var flags byte
		if r.Allowed {
			flags |= 1
		}
		body = append(body, flags)
		body = binary.AppendVarint(body, r.Revision-prevRev)
		prevAt, prevRev = at, r.Revision
	}
	data = make([]byte, 0, len(body)+8*len(table)+8)
	data = append(data, segmentVersion)
	data = binary.AppendUvarint(data, uint64(len(table)))
	for _, s := range table {
		data = binary.AppendUvarint(data, uint64(len(s)))
		data = append(data, s...)
	}
	return append(data, body...), first, last
}

// decodeSegment decodes the n decisions of segment id, which begins at first (microseconds).
func decodeSegment(id int64, first int64, n int, data []byte) ([]models.Decision, error) {
	bad := func(what string) error { return fmt.Errorf("%w %d: %s", errSegment, id, what) }
	if len(data) == 0 || data[0] != segmentVersion {
		return nil, bad("unknown version")
	}
	p := data[1:]
	uv := func() (uint64, bool) {
		v, k := binary.Uvarint(p)
		if k <= 0 {
			return 0, false
		}
		p = p[k:]
		return v, true
	}
	sv := func() (int64, bool) {
		v, k := binary.Varint(p)
		if k <= 0 {
			return 0, false
		}
		p = p[k:]
		return v, true
	}
	count, ok := uv()
	if !ok || count > uint64(len(p)) {
		return nil, bad("name table")
	}
	table := make([]string, 1, count+1)
	for range count {
		l, ok := uv()
		if !ok || l > uint64(len(p)) {
			return nil, bad("name")
		}
		table = append(table, string(p[:l]))
		p = p[l:]
	}
	if n < 0 || n > maxSegment {
		return nil, bad("count")
	}
	out := make([]models.Decision, n)
	at, rev := first, int64(0)
	for i := range out {
		d, ok := sv()
		if !ok {
			return nil, bad("time")
		}
		at += d
		var f [7]string
		for j := range f {
			v, ok := uv()
			if !ok || v >= uint64(len(table)) {
				return nil, bad("name number")
			}
			f[j] = table[v]
		}
		if len(p) == 0 {
			return nil, bad("flags")
		}
		flags := p[0]
		p = p[1:]
		dr, ok := sv()
		if !ok {
			return nil, bad("revision")
		}
		rev += dr
		out[i] = models.Decision{
			ID: id<<segmentIDShift | int64(i), At: time.UnixMicro(at).UTC(), Kind: f[0], KeyName: f[1], EndUser: f[2],
			Agent: f[3], Server: f[4], Tool: f[5], DecidedBy: f[6], Allowed: flags&1 != 0, Revision: rev,
		}
	}
	if len(p) != 0 {
		return nil, bad("trailing bytes")
	}
	return out, nil
}
