package resolver

import (
	"math/bits"
	"slices"
)

// tset is an immutable set of tools: for each server id (sorted) the bitset of its local tool
// ids. It lives in one slice so a membership test touches as few cache lines as possible:
// data[:ns] holds server<<32 | offset, and server i's words are data[ns+offset(i):ns+offset(i+1)]
// (cat.nw[server] words). Servers with no tool are never stored, so two sets over the same
// catalogue are equal iff their data are equal. Sets are hash-consed by an interner while a
// snapshot is built, so pointer equality is the common case; content equality the fallback.
type tset struct {
	hash uint64
	n    int // number of tools
	ns   int // number of servers
	data []uint64
}

// has reports whether tool (a local id of server s) is in the set. It never allocates.
func (t *tset) has(s, tool int32) bool {
	if t == nil {
		return false
	}
	d, ns := t.data, t.ns
	lo, hi := 0, ns
	key := uint64(uint32(s))
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if d[m]>>32 < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == ns || d[lo]>>32 != key {
		return false
	}
	i := ns + int(uint32(d[lo])) + int(tool>>6)
	if lo+1 < ns && i >= ns+int(uint32(d[lo+1])) || i >= len(d) {
		return false
	}
	return d[i]>>(uint(tool)&63)&1 != 0
}

// server returns the id of the i-th server of the set.
func (t *tset) server(i int) int32 { return int32(t.data[i] >> 32) }

// words returns the bitset of the i-th server of the set.
func (t *tset) words(i int) []uint64 {
	b := t.ns + int(uint32(t.data[i]))
	e := len(t.data)
	if i+1 < t.ns {
		e = t.ns + int(uint32(t.data[i+1]))
	}
	return t.data[b:e]
}

// index returns the position of server s in the set, or -1.
func (t *tset) index(s int32) int {
	if t == nil {
		return -1
	}
	for i := 0; i < t.ns; i++ {
		if x := t.server(i); x == s {
			return i
		} else if x > s {
			break
		}
	}
	return -1
}

func (t *tset) hasServer(s int32) bool { return t.index(s) >= 0 }

func (t *tset) empty() bool { return t == nil || t.ns == 0 }

// sameSet reports content equality. Only meaningful for sets over equal catalogues.
func sameSet(a, b *tset) bool {
	if a == b {
		return true
	}
	if a.empty() || b.empty() {
		return a.empty() && b.empty()
	}
	if a.hash != b.hash || a.n != b.n || a.ns != b.ns || len(a.data) != len(b.data) {
		return false
	}
	for i, w := range a.data {
		if b.data[i] != w {
			return false
		}
	}
	return true
}

func mix(h, v uint64) uint64 {
	h ^= v + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
	h *= 0xbf58476d1ce4e5b9
	return h ^ (h >> 31)
}

// interner hash-conses sets. It is used only while a snapshot is being built or derived and
// then dropped; snapshots never touch it again.
type interner struct {
	cat   *catalogue
	m     map[uint64][]*tset
	empty *tset
	// scratch for the set being produced
	srv   []int32
	off   []int32
	words []uint64
}

func newInterner(cat *catalogue) *interner {
	in := &interner{cat: cat, m: make(map[uint64][]*tset)}
	in.begin()
	in.empty = in.finish()
	return in
}

// register makes an existing set the canonical one for its contents.
func (in *interner) register(t *tset) {
	for _, x := range in.m[t.hash] {
		if sameSet(x, t) {
			return
		}
	}
	in.m[t.hash] = append(in.m[t.hash], t)
}

func (in *interner) begin() {
	in.srv = in.srv[:0]
	in.words = in.words[:0]
	in.off = in.off[:0]
}

// add appends server s with words w (which must have cat.nw[s] entries) if w is not all zero.
// Servers must be added in increasing order.
func (in *interner) add(s int32, w []uint64) {
	nz := false
	for _, x := range w {
		if x != 0 {
			nz = true
			break
		}
	}
	if !nz {
		return
	}
	in.srv = append(in.srv, s)
	in.off = append(in.off, int32(len(in.words)))
	in.words = append(in.words, w...)
}

// finish returns the interned set equal to the scratch contents.
func (in *interner) finish() *tset {
	h := uint64(len(in.srv))
	n := 0
	for _, s := range in.srv {
		h = mix(h, uint64(s))
	}
	for _, w := range in.words {
		h = mix(h, w)
		n += bits.OnesCount64(w)
	}
	for _, t := range in.m[h] {
		if t.n == n && t.ns == len(in.srv) && in.sameAsScratch(t) {
			return t
		}
	}
	ns := len(in.srv)
	t := &tset{hash: h, n: n, ns: ns, data: make([]uint64, ns+len(in.words))}
	for i, s := range in.srv {
		t.data[i] = uint64(uint32(s))<<32 | uint64(uint32(in.off[i]))
	}
	copy(t.data[ns:], in.words)
	in.m[h] = append(in.m[h], t)
	return t
}

func (in *interner) sameAsScratch(t *tset) bool {
	if len(t.data) != t.ns+len(in.words) {
		return false
	}
	for i, s := range in.srv {
		if t.server(i) != s {
			return false
		}
	}
	for i, w := range in.words {
		if t.data[t.ns+i] != w {
			return false
		}
	}
	return true
}

func (in *interner) intersect(a, b *tset) *tset {
	if a == b {
		return a
	}
	if a.empty() || b.empty() {
		return in.empty
	}
	in.begin()
	var tmp [4]uint64
	i, j := 0, 0
	for i < a.ns && j < b.ns {
		sa, sb := a.server(i), b.server(j)
		switch {
		case sa < sb:
			i++
		case sa > sb:
			j++
		default:
			wa, wb := a.words(i), b.words(j)
			w := tmp[:0]
			for k := range wa {
				w = append(w, wa[k]&wb[k])
			}
			in.add(sa, w)
			i++
			j++
		}
	}
	return in.finish()
}

func (in *interner) union(a, b *tset) *tset {
	if a == b || b.empty() {
		if a == nil {
			return in.empty
		}
		return a
	}
	if a.empty() {
		return b
	}
	in.begin()
	var tmp [4]uint64
	i, j := 0, 0
	for i < a.ns || j < b.ns {
		switch {
		case j == b.ns || (i < a.ns && a.server(i) < b.server(j)):
			in.add(a.server(i), a.words(i))
			i++
		case i == a.ns || a.server(i) > b.server(j):
			in.add(b.server(j), b.words(j))
			j++
		default:
			wa, wb := a.words(i), b.words(j)
			w := tmp[:0]
			for k := range wa {
				w = append(w, wa[k]|wb[k])
			}
			in.add(a.server(i), w)
			i++
			j++
		}
	}
	return in.finish()
}

// subtract returns a minus b.
func (in *interner) subtract(a, b *tset) *tset {
	if a.empty() {
		return in.empty
	}
	if b.empty() {
		return a
	}
	if a == b {
		return in.empty
	}
	in.begin()
	var tmp [4]uint64
	j := 0
	for i := 0; i < a.ns; i++ {
		s := a.server(i)
		wa := a.words(i)
		for j < b.ns && b.server(j) < s {
			j++
		}
		if j < b.ns && b.server(j) == s {
			wb := b.words(j)
			w := tmp[:0]
			for k := range wa {
				w = append(w, wa[k]&^wb[k])
			}
			in.add(s, w)
		} else {
			in.add(s, wa)
		}
	}
	return in.finish()
}

// dense is a scratch bitset over every tool of the catalogue, used to compile a level's mcp
// block, a toolset or a deny list into a tset.
type dense struct {
	cat     *catalogue
	words   []uint64
	touched []bool
	list    []int32
}

func newDense(cat *catalogue) *dense {
	return &dense{cat: cat, words: make([]uint64, cat.totalWords), touched: make([]bool, len(cat.names))}
}

func (d *dense) touch(s int32) {
	if !d.touched[s] {
		d.touched[s] = true
		d.list = append(d.list, s)
	}
}

func (d *dense) server(s int32) []uint64 {
	b := d.cat.base[s]
	return d.words[b : b+d.cat.nw[s]]
}

func (d *dense) setAll(s int32) {
	d.touch(s)
	copy(d.server(s), d.cat.mask[s])
}

func (d *dense) clearServer(s int32) {
	d.touch(s)
	clear(d.server(s))
}

func (d *dense) set(s, tool int32) {
	d.touch(s)
	d.words[d.cat.base[s]+tool>>6] |= 1 << (uint(tool) & 63)
}

func (d *dense) or(t *tset) {
	if t == nil {
		return
	}
	for i := 0; i < t.ns; i++ {
		s := t.server(i)
		d.touch(s)
		w := d.server(s)
		for k, x := range t.words(i) {
			w[k] |= x
		}
	}
}

// emit interns the scratch contents and resets the scratch.
func (d *dense) emit(in *interner) *tset {
	slices.Sort(d.list)
	in.begin()
	for _, s := range d.list {
		w := d.server(s)
		in.add(s, w)
		clear(w)
		d.touched[s] = false
	}
	d.list = d.list[:0]
	return in.finish()
}
