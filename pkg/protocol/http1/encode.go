package http1

import (
	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// The encoders append to a network.Buffer, which grows as needed; with room
// in it they allocate nothing. They write what they are given: values are
// not checked for CR, LF or NUL, so fields that come from anywhere but a
// Decoder (config, filters) must be validated where they are made.

// AppendRequestHead writes "METHOD PATH HTTP/1.1\r\n", a Host field from
// :authority when h has no host field (a request from HTTP/2), every
// regular field of h (names as stored, lower-case) and "\r\n". A missing :method is
// written as GET and a missing :path as "/". Framing fields
// (content-length, transfer-encoding) must already be as wanted.
func AppendRequestHead(dst *network.Buffer, h *protocol.Headers) {
	method, ok := h.Get(protocol.Method)
	if !ok || len(method) == 0 {
		method = methodGET
	}
	path, ok := h.Get(protocol.Path)
	if !ok || len(path) == 0 {
		path = pathRoot
	}
	dst.Append(method)
	dst.AppendString(" ")
	dst.Append(path)
	dst.AppendString(" HTTP/1.1\r\n")
	if a, ok := h.Get(protocol.Authority); ok && len(a) > 0 && !h.Has("host") {
		// An HTTP/2 request names its host in :authority only; HTTP/1.1
		// requires a Host field (RFC 9112 3.2).
		dst.AppendString("host: ")
		dst.Append(a)
		dst.AppendString("\r\n")
	}
	appendFields(dst, h)
	dst.AppendString("\r\n")
}

var (
	methodGET = []byte("GET")
	pathRoot  = []byte("/")
)

// AppendResponseHead writes "HTTP/1.1 STATUS REASON\r\n" with the status
// from :status and its standard reason phrase ("Unknown" for codes without
// one), every regular field of h and "\r\n". A :status that is missing or
// not three digits is written as 500.
func AppendResponseHead(dst *network.Buffer, h *protocol.Headers) {
	code := 500
	s, _ := h.Get(protocol.Status)
	if len(s) == 3 && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2]) {
		code = int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
	} else {
		s = status500
	}
	dst.AppendString("HTTP/1.1 ")
	dst.Append(s)
	dst.AppendString(" ")
	dst.AppendString(StatusText(code))
	dst.AppendString("\r\n")
	appendFields(dst, h)
	dst.AppendString("\r\n")
}

var status500 = []byte("500")

// appendFields writes the regular fields of h. The callback does not
// escape, so it lives on the stack.
func appendFields(dst *network.Buffer, h *protocol.Headers) {
	h.RangeRegular(func(name, value []byte) bool {
		dst.Append(name)
		dst.AppendString(": ")
		dst.Append(value)
		dst.AppendString("\r\n")
		return true
	})
}

// AppendChunk writes p as one chunk: its size in hex, CRLF, p, CRLF. It
// writes nothing for an empty p, which would be the last chunk.
func AppendChunk(dst *network.Buffer, p []byte) {
	if len(p) == 0 {
		return
	}
	var line [18]byte // 16 hex digits and CRLF
	dst.Append(appendHex(line[:0], uint64(len(p))))
	dst.AppendString("\r\n")
	dst.Append(p)
	dst.AppendString("\r\n")
}

// AppendLastChunk ends a chunked body: "0\r\n", the trailer fields (trailers
// may be nil) and "\r\n".
func AppendLastChunk(dst *network.Buffer, trailers *protocol.Headers) {
	dst.AppendString("0\r\n")
	if trailers != nil {
		appendFields(dst, trailers)
	}
	dst.AppendString("\r\n")
}

// appendHex appends n in lower-case hex without leading zeros.
func appendHex(b []byte, n uint64) []byte {
	const digits = "0123456789abcdef"
	var tmp [16]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = digits[n&15]
		n >>= 4
		if n == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// hopByHop are the fields that concern one connection only (RFC 9110 7.6.1,
// RFC 9112 for Transfer-Encoding and TE), plus the non-standard
// Proxy-Connection and Keep-Alive. Trailer is end to end (RFC 9110 6.6.2):
// an HTTP/2 server such as Go's keeps only the request trailers it names.
var hopByHop = [...]string{
	"connection", "keep-alive", "proxy-connection", "te",
	"transfer-encoding", "upgrade",
}

// RemoveHopByHop deletes from h the hop-by-hop fields: connection,
// keep-alive, proxy-connection, te, transfer-encoding, upgrade,
// and every field named in Connection's value. The caller decides the
// framing afterwards. A peer may name any field in Connection (Host,
// Authorization, X-Forwarded-For…) to have it dropped here: read what is
// needed before calling.
func RemoveHopByHop(h *protocol.Headers) {
	h.RangeRegular(func(name, value []byte) bool {
		if string(name) != "connection" {
			return true
		}
		for len(value) > 0 {
			var opt []byte
			opt, value = nextElement(value)
			switch {
			case len(opt) == 0, tokenLen(opt) != len(opt):
				continue // not a field name: never a pseudo-header like ":path"
			case equalFold(opt, "close"), equalFold(opt, "connection"):
				// No field of that name, or one deleted below, after its
				// options (a later Connection field's too) have been read.
				continue
			}
			// Field names are stored in lower case; connection options
			// may come in any case.
			var small [32]byte
			lower := small[:0]
			if len(opt) > len(small) {
				lower = make([]byte, 0, len(opt))
			}
			for _, c := range opt {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				lower = append(lower, c)
			}
			h.Del(string(lower))
		}
		return true
	})
	for _, name := range hopByHop {
		h.Del(name)
	}
}
