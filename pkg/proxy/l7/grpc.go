package l7

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// gRPC over HTTP/2 (the PROTOCOL-HTTP2 document of grpc/grpc): requests
// are recognised by their content-type, carry their deadline in
// grpc-timeout, and expect every answer, errors included, as HTTP 200 with
// grpc-status and grpc-message.

// gRPC status codes the proxy answers with.
const (
	grpcUnknown          = 2
	grpcDeadlineExceeded = 4
	grpcPermissionDenied = 7
	grpcUnimplemented    = 12
	grpcInternal         = 13
	grpcUnavailable      = 14
	grpcUnauthenticated  = 16
)

// isGRPC reports whether the request is a gRPC call.
func (r *request) isGRPC() bool {
	if r.headers == nil {
		return false
	}
	ct, _ := r.headers.Get("content-type")
	return bytes.HasPrefix(ct, []byte("application/grpc"))
}

// requestTimeout is the route's timeout, shortened to the call's
// grpc-timeout when that is sooner; 0 means none.
func (r *request) requestTimeout() time.Duration {
	d := r.route.Timeout()
	if !r.isGRPC() {
		return d
	}
	v, _ := r.headers.Get("grpc-timeout")
	if g, ok := parseGRPCTimeout(v); ok && (d <= 0 || g < d) {
		return g
	}
	return d
}

// parseGRPCTimeout reads "TimeoutValue TimeoutUnit": at most 8 digits and
// one of H M S m u n.
func parseGRPCTimeout(v []byte) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v[:len(v)-1]), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	var unit time.Duration
	switch v[len(v)-1] {
	case 'H':
		unit = time.Hour
	case 'M':
		unit = time.Minute
	case 'S':
		unit = time.Second
	case 'm':
		unit = time.Millisecond
	case 'u':
		unit = time.Microsecond
	case 'n':
		unit = time.Nanosecond
	default:
		return 0, false
	}
	if n == 0 {
		n = 1 // already expired: the shortest timer there is
		unit = time.Nanosecond
	}
	return time.Duration(n) * unit, true
}

// grpcCode maps a local reply's HTTP status to a gRPC status, as Envoy
// does, except that the proxy's own timeouts are DEADLINE_EXCEEDED.
func grpcCode(status int, flags string) int {
	if flags == flagUpstreamTimeout {
		return grpcDeadlineExceeded
	}
	switch status {
	case 400:
		return grpcInternal
	case 401:
		return grpcUnauthenticated
	case 403:
		return grpcPermissionDenied
	case 404:
		return grpcUnimplemented
	case 429, 502, 503, 504:
		return grpcUnavailable
	}
	return grpcUnknown
}

// grpcReply answers a gRPC call from the proxy: a trailers-only response,
// HTTP 200 with grpc-status and grpc-message, in place of status and body.
func (r *request) grpcReply(status int, body string) {
	r.local.Reset()
	r.local.AddString(protocol.Status, "200")
	r.local.AddString("content-type", "application/grpc")
	r.local.AddString("grpc-status", strconv.Itoa(grpcCode(status, r.flags)))
	if msg := strings.TrimSpace(body); msg != "" {
		r.local.AddString("grpc-message", percentEncode(msg))
	}
	r.response = &r.local
	r.status = 200
	r.phase = phaseRespond
	r.down.SendHeaders(r.response, true)
	r.finish()
}

// percentEncode escapes grpc-message as the gRPC spec asks: bytes outside
// printable ASCII, and '%', as %XX.
func percentEncode(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '%' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
