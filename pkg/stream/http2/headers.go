package http2

import (
	"bytes"
	"io"
	"strings"

	"golang.org/x/net/http2/hpack"

	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// DefaultMaxHeaderBytes is stream.Limits.MaxHeaderBytes when it is zero:
// the SETTINGS_MAX_HEADER_LIST_SIZE this side advertises, counted as RFC
// 9113 6.5.2 counts it (name + value + 32 per field).
const DefaultMaxHeaderBytes = 64 << 10

// blockKind says what a header block is, which decides what it may hold.
type blockKind uint8

const (
	blockRequest blockKind = iota
	blockResponse
	blockTrailers
)

// headerDecoder receives the fields an hpack.Decoder emits into one
// protocol.Headers, checking them as RFC 9113 8.2 and 8.3 require. A
// connection has one and reuses it for every block.
type headerDecoder struct {
	dst     *protocol.Headers
	kind    blockKind
	limit   int
	size    int
	regular bool   // a regular field has been seen: no pseudo-header may follow
	pseudo  uint8  // bit set of the pseudo-headers seen
	invalid string // the first problem found; "" when none
	tooBig  bool
	cookies int
	// length is the content-length field's value, -1 when there is none.
	length int64
}

// Bits of headerDecoder.pseudo.
const (
	pMethod = 1 << iota
	pScheme
	pAuthority
	pPath
	pStatus
	pProtocol
)

func (d *headerDecoder) reset(dst *protocol.Headers, kind blockKind, limit int) {
	*d = headerDecoder{dst: dst, kind: kind, limit: limit, length: -1}
	dst.Reset()
}

// emit is the hpack.Decoder's emit function.
func (d *headerDecoder) emit(f hpack.HeaderField) {
	if d.invalid != "" || d.tooBig {
		return
	}
	d.size += len(f.Name) + len(f.Value) + 32
	if d.size > d.limit {
		d.tooBig = true
		return
	}
	if !validName(f.Name) {
		d.invalid = "invalid header field name"
		return
	}
	if !validValue(f.Value) {
		d.invalid = "invalid header field value for " + f.Name
		return
	}
	if f.Name[0] == ':' {
		d.emitPseudo(f)
		return
	}
	d.regular = true
	switch f.Name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		d.invalid = "connection-specific header field " + f.Name
		return
	case "te":
		if !strings.EqualFold(f.Value, "trailers") {
			d.invalid = "te other than trailers"
			return
		}
	case "cookie":
		d.cookies++
	case "content-length":
		// DATA must add up to it (RFC 9113 8.1.1): a proxy that let it
		// differ would desynchronise an HTTP/1.1 connection behind it.
		n, ok := parseLength(f.Value)
		if !ok || d.length >= 0 && n != d.length {
			d.invalid = "bad content-length"
			return
		}
		d.length = n
	}
	d.dst.AddString(f.Name, f.Value)
}

func (d *headerDecoder) emitPseudo(f hpack.HeaderField) {
	if d.regular {
		d.invalid = "pseudo-header field after a regular one"
		return
	}
	var bit uint8
	switch {
	case d.kind == blockTrailers:
		d.invalid = "pseudo-header field in trailers"
		return
	case d.kind == blockResponse && f.Name == protocol.Status:
		bit = pStatus
	case d.kind == blockRequest && f.Name == protocol.Method:
		bit = pMethod
	case d.kind == blockRequest && f.Name == protocol.Scheme:
		bit = pScheme
	case d.kind == blockRequest && f.Name == protocol.Authority:
		bit = pAuthority
	case d.kind == blockRequest && f.Name == protocol.Path:
		bit = pPath
		if f.Value == "" {
			d.invalid = "empty :path"
			return
		}
	case d.kind == blockRequest && f.Name == ":protocol":
		bit = pProtocol
	default:
		d.invalid = "unknown pseudo-header field " + f.Name
		return
	}
	if d.pseudo&bit != 0 {
		d.invalid = "duplicate pseudo-header field " + f.Name
		return
	}
	d.pseudo |= bit
	d.dst.AddString(f.Name, f.Value)
}

// finish checks what only the whole block can tell and completes the
// headers for the layers above: a request's host field from :authority
// (HTTP/1 routing and encoding read host), several cookie fields joined
// into one (RFC 9113 8.2.3).
func (d *headerDecoder) finish() {
	if d.invalid != "" || d.tooBig {
		return
	}
	switch d.kind {
	case blockResponse:
		if d.pseudo&pStatus == 0 {
			d.invalid = "response without :status"
		}
	case blockRequest:
		m, _ := d.dst.Get(protocol.Method)
		if d.pseudo&pMethod == 0 {
			d.invalid = "request without :method"
			return
		}
		if string(m) == "CONNECT" && d.pseudo&pProtocol == 0 {
			if d.pseudo&(pScheme|pPath) != 0 || d.pseudo&pAuthority == 0 {
				d.invalid = "malformed CONNECT request"
			}
		} else if d.pseudo&(pScheme|pPath) != pScheme|pPath {
			d.invalid = "request without :scheme or :path"
			return
		}
		if a, ok := d.dst.Get(protocol.Authority); ok && len(a) > 0 && !d.dst.Has("host") {
			d.dst.AddString("host", string(a))
		}
		if d.cookies > 1 {
			joinCookies(d.dst)
		}
	}
}

// parseLength reads a content-length: decimal digits only.
func parseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// joinCookies replaces several cookie fields with one, "; "-separated, as
// HTTP/1.1 wants them.
func joinCookies(h *protocol.Headers) {
	var all []byte
	h.RangeRegular(func(n, v []byte) bool {
		if string(n) == "cookie" {
			if len(all) > 0 {
				all = append(all, "; "...)
			}
			all = append(all, v...)
		}
		return true
	})
	h.Set("cookie", string(all))
}

// validName reports whether a field name is lower-case token characters
// (a pseudo-header's leading colon aside), as RFC 9113 8.2.1 requires.
func validName(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == ':' {
		s = s[1:]
		if s == "" {
			return false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// validValue rejects NUL, CR and LF, and leading or trailing whitespace
// (RFC 9113 8.2.1).
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 0, '\r', '\n':
			return false
		}
	}
	if s != "" && (s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		return false
	}
	return true
}

// connectionSpecific reports fields HTTP/2 does not carry (RFC 9113
// 8.2.2); te is kept only as "te: trailers".
func connectionSpecific(name, value []byte) bool {
	switch string(name) {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "http2-settings":
		return true
	case "te":
		return !bytes.EqualFold(bytes.TrimSpace(value), []byte("trailers"))
	}
	return false
}

// encoder is a connection's HPACK encoder, with the strings of the fields it
// has sent kept: hpack wants strings (its dynamic table holds on to them),
// and the fields a connection sends repeat — names, statuses, content
// types, lengths — so each is made once instead of once per field (half of
// the proxy's allocations in an h2load run). The strings kept are bounded.
type encoder struct {
	*hpack.Encoder
	strs  map[string]string
	bytes int // the length of the strings in strs
}

const (
	maxInternedBytes = 2048 // strings kept per connection; then they start over
	maxInternedLen   = 64   // longer values are not kept
)

func newEncoder(w io.Writer) *encoder { return &encoder{Encoder: hpack.NewEncoder(w)} }

// str returns b as a string, the one kept if b was seen before.
func (e *encoder) str(b []byte) string {
	if s, ok := e.strs[string(b)]; ok { // no allocation to look up
		return s
	}
	s := string(b)
	if len(b) > maxInternedLen {
		return s
	}
	if e.strs == nil || e.bytes+len(b) > maxInternedBytes {
		e.strs, e.bytes = make(map[string]string), 0
	}
	e.strs[s] = s
	e.bytes += len(b)
	return s
}

func (e *encoder) writeField(name string, value []byte) {
	e.WriteField(hpack.HeaderField{Name: name, Value: e.str(value)})
}

// encodeRequest writes a request head: :method, :scheme ("http" when
// absent), :authority (from the host field when absent; a host equal to
// it is then not repeated) and :path, then the regular fields less the
// connection-specific ones. A gRPC request gets "te: trailers", which
// gRPC servers may insist on and HTTP/1 hop-by-hop removal takes away.
func encodeRequest(e *encoder, h *protocol.Headers) {
	method, ok := h.Get(protocol.Method)
	if !ok || len(method) == 0 {
		method = []byte("GET")
	}
	authority, _ := h.Get(protocol.Authority)
	host, hasHost := h.Get("host")
	if len(authority) == 0 {
		authority = host
	}
	e.writeField(protocol.Method, method)
	connect := string(method) == "CONNECT"
	if !connect {
		scheme, ok := h.Get(protocol.Scheme)
		if !ok || len(scheme) == 0 {
			scheme = []byte("http")
		}
		e.writeField(protocol.Scheme, scheme)
	}
	if len(authority) > 0 {
		e.writeField(protocol.Authority, authority)
	}
	if !connect {
		path, ok := h.Get(protocol.Path)
		if !ok || len(path) == 0 {
			path = []byte("/")
		}
		e.writeField(protocol.Path, path)
	}
	skipHost := hasHost && bytes.Equal(host, authority)
	grpc, te := false, false
	h.RangeRegular(func(n, v []byte) bool {
		switch {
		case connectionSpecific(n, v):
			return true
		case string(n) == "host" && skipHost:
			return true
		case string(n) == "te":
			te = true
		case string(n) == "content-type":
			grpc = bytes.HasPrefix(v, []byte("application/grpc"))
		}
		e.writeField(e.str(n), v)
		return true
	})
	if grpc && !te {
		e.WriteField(hpack.HeaderField{Name: "te", Value: "trailers"})
	}
}

// encodeResponse writes a response head: :status (200 when absent), then
// the regular fields less the connection-specific ones.
func encodeResponse(e *encoder, h *protocol.Headers) {
	status, ok := h.Get(protocol.Status)
	if !ok || len(status) == 0 {
		status = []byte("200")
	}
	e.writeField(protocol.Status, status)
	encodeRegular(e, h)
}

// encodeRegular writes the regular fields less the connection-specific
// ones (a trailer block, the rest of a head).
func encodeRegular(e *encoder, h *protocol.Headers) {
	h.RangeRegular(func(n, v []byte) bool {
		if !connectionSpecific(n, v) {
			e.writeField(e.str(n), v)
		}
		return true
	})
}
