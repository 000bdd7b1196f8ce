package http1

import (
	"bytes"
	"strconv"

	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// requestLine parses "method SP request-target SP HTTP-version" (RFC 9112
// 3), separators exactly one SP each.
func (d *Decoder) requestLine(line []byte) error {
	m := tokenLen(line)
	if m == 0 || m == len(line) || line[m] != ' ' {
		return d.fail(400, "malformed request line")
	}
	method, rest := line[:m], line[m+1:]
	t := bytes.IndexByte(rest, ' ')
	if t <= 0 {
		return d.fail(400, "malformed request line")
	}
	target, version := rest[:t], rest[t+1:]
	minor, ok, supported := parseVersion(version)
	if !ok {
		return d.fail(400, "malformed request line")
	}
	if !supported {
		return d.fail(505, "http version not supported")
	}
	if !validTarget(method, target) {
		return d.fail(400, "invalid request target")
	}
	d.protoMinor = minor
	d.head.Add(nameMethod, method)
	d.head.Add(namePath, target)
	return nil
}

// validTarget checks the request-target's bytes and its form (RFC 9112
// 3.2): origin-form "/…", absolute-form "scheme:…", authority-form for
// CONNECT only, asterisk-form for OPTIONS only. Bytes above 0x7F are let
// through as many clients send raw UTF-8 paths; CTLs, SP and DEL are not.
func validTarget(method, target []byte) bool {
	if !all(target, cTarget) {
		return false
	}
	switch {
	case string(method) == "CONNECT":
		return all(target, cHost)
	case target[0] == '/':
		return true
	case len(target) == 1 && target[0] == '*':
		return string(method) == "OPTIONS"
	}
	// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":".
	for i, c := range target {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}

// parseVersion parses "HTTP/" DIGIT "." DIGIT; ok reports the syntax and
// supported whether it is 1.0 or 1.1.
func parseVersion(v []byte) (minor int, ok, supported bool) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || !isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]) {
		return 0, false, false
	}
	if v[5] != '1' || v[7] > '1' {
		return 0, true, false
	}
	return int(v[7] - '0'), true, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// statusLine parses "HTTP-version SP 3DIGIT SP [reason-phrase]" (RFC 9112
// 4). Codes outside 100-599 are rejected (RFC 9110 15). A missing SP after
// the code is accepted: the reason carries nothing.
func (d *Decoder) statusLine(line []byte) error {
	if len(line) < 12 || line[8] != ' ' || len(line) > 12 && line[12] != ' ' {
		return d.fail(502, "malformed status line")
	}
	minor, ok, supported := parseVersion(line[:8])
	code := line[9:12]
	if !ok || !isDigit(code[0]) || !isDigit(code[1]) || !isDigit(code[2]) || code[0] < '1' || code[0] > '5' {
		return d.fail(502, "malformed status line")
	}
	if !supported {
		return d.fail(502, "http version not supported")
	}
	if len(line) > 13 && !all(line[13:], cValue) {
		return d.fail(502, "invalid character in reason phrase")
	}
	d.protoMinor = minor
	d.status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	d.head.Add(nameStatus, code)
	return nil
}

// fieldLine parses "field-name ":" OWS field-value OWS" (RFC 9112 5) into
// h; for a head it also notes the fields the framing depends on.
func (d *Decoder) fieldLine(line []byte, h *protocol.Headers, head bool) error {
	if isOWS(line[0]) {
		// obs-fold, or whitespace between the start line and the first
		// field: both rejected (RFC 9112 2.2, 5.2).
		return d.fail(400, "obsolete line folding or leading whitespace")
	}
	n := tokenLen(line)
	if n == len(line) || line[n] != ':' {
		// Covers whitespace before the colon (RFC 9112 5.1).
		return d.fail(400, "malformed header field name")
	}
	if n == 0 {
		return d.fail(400, "empty header field name")
	}
	name, value := line[:n], trimOWS(line[n+1:])
	if !validValue(value) {
		return d.fail(400, "invalid character in header field value")
	}
	if head {
		if err := d.framingField(name, value); err != nil {
			return err
		}
	}
	h.Add(name, value)
	return nil
}

// framingField notes a field the message's framing or connection handling
// depends on. The name's length picks the candidate before any comparison.
func (d *Decoder) framingField(name, v []byte) error {
	switch len(name) {
	case 4:
		if equalFold(name, "host") && !d.response {
			d.hosts++
			if d.hosts > 1 {
				return d.fail(400, "several host fields")
			}
			if !all(v, cHost) {
				return d.fail(400, "invalid host")
			}
		}
	case 6:
		if equalFold(name, "expect") && !d.response {
			for len(v) > 0 {
				var e []byte
				e, v = nextElement(v)
				if equalFold(e, "100-continue") {
					d.expect = true
				}
			}
		}
	case 10:
		if equalFold(name, "connection") {
			for len(v) > 0 {
				var e []byte
				e, v = nextElement(v)
				switch {
				case equalFold(e, "close"):
					d.connClose = true
				case equalFold(e, "keep-alive"):
					d.connKeepAlive = true
				}
			}
		}
	case 14:
		if equalFold(name, "content-length") {
			return d.contentLength(v)
		}
	case 17:
		if equalFold(name, "transfer-encoding") {
			d.teFields++
			for len(v) > 0 {
				var e []byte
				e, v = nextElement(v)
				if len(e) == 0 {
					continue // empty list elements are ignored (RFC 9110 5.6.1)
				}
				d.teCodings++
				d.teLastChunked = equalFold(e, "chunked")
				if d.teLastChunked {
					d.teChunked++
				}
			}
		}
	}
	return nil
}

// contentLength parses a Content-Length value (RFC 9110 8.6). A list, or
// several fields, must repeat one value: it then counts as that value
// (endRequestHead leaves a single field); different values, an empty
// element, a sign, any non-digit or an overflow are errors.
func (d *Decoder) contentLength(v []byte) error {
	d.clFields++
	for {
		elem, rest := v, []byte(nil)
		if i := bytes.IndexByte(v, ','); i >= 0 {
			elem, rest = v[:i], v[i+1:]
			d.clList = true
		}
		n, ok := parseDecimal(trimOWS(elem))
		if !ok {
			return d.fail(400, "invalid content-length")
		}
		if d.cl >= 0 && n != d.cl {
			return d.fail(400, "conflicting content-length values")
		}
		d.cl = n
		if rest == nil {
			return nil
		}
		v = rest
	}
}

// endRequestHead decides a request's framing (RFC 9112 6.3) and checks what
// the whole head must satisfy.
func (d *Decoder) endRequestHead() error {
	if d.protoMinor == 1 && d.hosts == 0 {
		return d.fail(400, "missing host")
	}
	switch {
	case d.teFields > 0:
		switch {
		case d.cl >= 0:
			return d.fail(400, "both content-length and transfer-encoding")
		case d.protoMinor == 0:
			// RFC 9112 6.1: the framing of an HTTP/1.0 message with
			// Transfer-Encoding is faulty.
			return d.fail(400, "transfer-encoding in an http/1.0 request")
		case !d.teLastChunked:
			return d.fail(400, "final transfer coding is not chunked")
		case d.teChunked > 1:
			return d.fail(400, "chunked applied more than once")
		case d.teCodings > 1:
			// Only chunked is implemented. A coding under it (gzip,
			// chunked) would be passed on with its Transfer-Encoding field
			// removed as hop-by-hop, corrupting the body; RFC 9112 6.1 asks
			// for 501.
			return d.fail(501, "transfer coding not implemented")
		}
		d.body, d.state = BodyChunked, stateChunkSize
	case d.cl >= 0:
		if d.maxBody > 0 && d.cl > d.maxBody {
			return d.fail(413, "body too large")
		}
		d.body, d.remaining, d.state = BodyLength, d.cl, stateBodyLength
		if d.cl == 0 {
			d.state = stateEnd
		}
		d.singleContentLength()
	default:
		d.body, d.state = BodyNone, stateEnd
	}
	d.keepAlive = d.persistent()
	if d.protoMinor == 0 {
		d.expect = false
	}
	return nil
}

// endResponseHead decides a response's framing (RFC 9112 6.3, RFC 9110
// 9.3.6 for CONNECT, 15.2 for 1xx).
func (d *Decoder) endResponseHead() error {
	if d.teFields > 0 {
		switch {
		case d.cl >= 0:
			return d.fail(502, "both content-length and transfer-encoding")
		case d.protoMinor == 0:
			return d.fail(502, "transfer-encoding in an http/1.0 response")
		case d.teCodings != 1 || !d.teLastChunked:
			// Anything but plain chunked: see endRequestHead. (RFC 9112
			// would read a non-chunked coding until close, but the coding
			// would be lost with the hop-by-hop field.)
			return d.fail(502, "transfer coding not implemented")
		}
	}
	d.keepAlive = d.persistent()
	s := d.status
	switch {
	case s == 101:
		d.stopReason = "upgrade not supported"
	case s < 200:
		// Interim: no body; the final response follows.
	case d.reqConnect && s < 300:
		d.stopReason = "tunnel not supported"
	case d.reqHead || s == 204 || s == 304:
	case d.teFields > 0:
		d.body, d.state = BodyChunked, stateChunkSize
		return nil
	case d.cl >= 0:
		if d.maxBody > 0 && d.cl > d.maxBody {
			return d.fail(502, "body too large")
		}
		d.body, d.remaining, d.state = BodyLength, d.cl, stateBodyLength
		if d.cl == 0 {
			d.state = stateEnd
		}
		d.singleContentLength()
		return nil
	default:
		d.body, d.state, d.keepAlive = BodyUntilClose, stateUntilClose, false
		return nil
	}
	d.body, d.state = BodyNone, stateEnd
	if d.stopReason != "" {
		d.keepAlive = false
	}
	return nil
}

// persistent applies RFC 9112 9.3: HTTP/1.1 persists unless "close",
// HTTP/1.0 only with "keep-alive".
func (d *Decoder) persistent() bool {
	if d.connClose {
		return false
	}
	return d.protoMinor == 1 || d.connKeepAlive
}

// singleContentLength replaces a repeated Content-Length with one field of
// its value, so that what is passed on is unambiguous (RFC 9110 8.6). Rare
// enough that formatting the number may allocate.
func (d *Decoder) singleContentLength() {
	if d.clFields > 1 || d.clList {
		d.head.Set("content-length", strconv.FormatInt(d.cl, 10))
	}
}

// chunkLine parses "chunk-size [ chunk-ext ]" (RFC 9112 7.1, 7.1.1): hex
// digits without sign or prefix, then only well-formed extensions.
func (d *Decoder) chunkLine(line []byte) (int64, error) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		v := unhex(line[i])
		if v < 0 {
			break
		}
		if n > (1<<63-1)>>4 {
			return 0, d.fail(400, "chunk size overflows")
		}
		n = n<<4 | v
	}
	if i == 0 {
		return 0, d.fail(400, "chunk size has no digits")
	}
	if !validChunkExt(line[i:]) {
		return 0, d.fail(400, "invalid chunk size or extension")
	}
	return n, nil
}

// validChunkExt checks
//
//	chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//	chunk-ext-val = token / quoted-string
func validChunkExt(ext []byte) bool {
	for len(ext) > 0 {
		ext = trimLeftOWS(ext)
		if len(ext) == 0 || ext[0] != ';' {
			return false
		}
		ext = trimLeftOWS(ext[1:])
		n := tokenLen(ext)
		if n == 0 {
			return false
		}
		ext = ext[n:]
		if rest := trimLeftOWS(ext); len(rest) > 0 && rest[0] == '=' {
			ext = trimLeftOWS(rest[1:])
			if len(ext) > 0 && ext[0] == '"' {
				n = quotedLen(ext)
			} else {
				n = tokenLen(ext)
			}
			if n == 0 {
				return false
			}
			ext = ext[n:]
		}
	}
	return true
}

// quotedLen is the length of the quoted-string at the start of b (which
// starts with a DQUOTE), or 0 if it is malformed or unterminated.
func quotedLen(b []byte) int {
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
			if i+1 == len(b) || chars[b[i+1]]&cValue == 0 {
				return 0
			}
			i++
		case chars[c]&cQdtext == 0:
			return 0
		}
	}
	return 0
}
