package protocol

import "bytes"

// Pseudo-header names carry what HTTP/2 carries in pseudo-headers, for every
// protocol: an HTTP/1 request line becomes :method and :path, a status line
// :status. Range and RangeRegular tell them apart by the leading colon.
const (
	Method    = ":method"
	Path      = ":path"
	Status    = ":status"
	Authority = ":authority"
	Scheme    = ":scheme"
)

// field locates one header in the arena: name is arena[n0:n1], value
// arena[n1:v1]. A deleted field has n0 < 0.
type field struct{ n0, n1, v1 int32 }

// Headers is an ordered list of header fields. Names are stored in lower
// case and compared exactly (callers pass lower-case names); values are
// kept as given. Names and values are copied into one arena that is reused
// from message to message, so a reused Headers parses a typical request
// without allocating.
//
// The byte slices Headers returns stay valid until the next call that adds
// or sets a field, or Reset. A Headers is not safe for concurrent use.
type Headers struct {
	arena  []byte
	fields []field
	live   int
}

// Reset empties h, keeping its memory.
func (h *Headers) Reset() {
	h.arena = h.arena[:0]
	h.fields = h.fields[:0]
	h.live = 0
}

// Len is the number of fields, pseudo-headers included.
func (h *Headers) Len() int { return h.live }

// Add appends a field; name is lower-cased as it is copied.
func (h *Headers) Add(name, value []byte) {
	n0 := len(h.arena)
	h.arena = append(h.arena, name...)
	lower(h.arena[n0:])
	n1 := len(h.arena)
	h.arena = append(h.arena, value...)
	h.fields = append(h.fields, field{int32(n0), int32(n1), int32(len(h.arena))})
	h.live++
}

// AddString is Add for strings.
func (h *Headers) AddString(name, value string) {
	n0 := len(h.arena)
	h.arena = append(h.arena, name...)
	lower(h.arena[n0:])
	n1 := len(h.arena)
	h.arena = append(h.arena, value...)
	h.fields = append(h.fields, field{int32(n0), int32(n1), int32(len(h.arena))})
	h.live++
}

func lower(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}

func (h *Headers) name(f field) []byte  { return h.arena[f.n0:f.n1] }
func (h *Headers) value(f field) []byte { return h.arena[f.n1:f.v1] }

// Get returns the first value of the lower-case name.
func (h *Headers) Get(name string) ([]byte, bool) {
	for _, f := range h.fields {
		if f.n0 >= 0 && string(h.name(f)) == name {
			return h.value(f), true
		}
	}
	return nil, false
}

// Has reports whether the lower-case name is present.
func (h *Headers) Has(name string) bool {
	_, ok := h.Get(name)
	return ok
}

// Del removes every field of the lower-case name.
func (h *Headers) Del(name string) {
	for i, f := range h.fields {
		if f.n0 >= 0 && string(h.name(f)) == name {
			h.fields[i].n0 = -1
			h.live--
		}
	}
}

// Set replaces every field of the lower-case name with one holding value.
// A replaced first field keeps its place.
func (h *Headers) Set(name, value string) {
	for i, f := range h.fields {
		if f.n0 < 0 || string(h.name(f)) != name {
			continue
		}
		// Rewrite the first in place, at the end of the arena; drop the rest.
		n0 := len(h.arena)
		h.arena = append(h.arena, name...)
		n1 := len(h.arena)
		h.arena = append(h.arena, value...)
		h.fields[i] = field{int32(n0), int32(n1), int32(len(h.arena))}
		for j := i + 1; j < len(h.fields); j++ {
			if g := h.fields[j]; g.n0 >= 0 && string(h.name(g)) == name {
				h.fields[j].n0 = -1
				h.live--
			}
		}
		return
	}
	h.AddString(name, value)
}

// Range calls fn for every field in order until it returns false.
func (h *Headers) Range(fn func(name, value []byte) bool) {
	for _, f := range h.fields {
		if f.n0 >= 0 && !fn(h.name(f), h.value(f)) {
			return
		}
	}
}

// RangeRegular is Range without pseudo-headers.
func (h *Headers) RangeRegular(fn func(name, value []byte) bool) {
	for _, f := range h.fields {
		if f.n0 >= 0 && (f.n1 == f.n0 || h.arena[f.n0] != ':') && !fn(h.name(f), h.value(f)) {
			return
		}
	}
}

// CopyFrom makes h a copy of src. Memory it has to allocate leaves room
// for the fields a proxy adds (X-Forwarded-For and the like), so that
// editing the copy does not allocate again.
func (h *Headers) CopyFrom(src *Headers) {
	if cap(h.arena) < len(src.arena) {
		h.arena = make([]byte, 0, len(src.arena)+copyRoomBytes)
	}
	if cap(h.fields) < len(src.fields) {
		h.fields = make([]field, 0, len(src.fields)+copyRoomFields)
	}
	h.arena = append(h.arena[:0], src.arena...)
	h.fields = append(h.fields[:0], src.fields...)
	h.live = src.live
}

// The room CopyFrom leaves when it allocates.
const (
	copyRoomBytes  = 128
	copyRoomFields = 4
)

// HasToken reports whether the comma-separated value of name contains
// token, compared case-insensitively (for Connection: close and the like).
func (h *Headers) HasToken(name, token string) bool {
	found := false
	h.Range(func(n, v []byte) bool {
		if string(n) != name {
			return true
		}
		for len(v) > 0 {
			var part []byte
			part, v, _ = bytes.Cut(v, []byte{','})
			if bytes.EqualFold(bytes.TrimSpace(part), []byte(token)) {
				found = true
				return false
			}
		}
		return true
	})
	return found
}
