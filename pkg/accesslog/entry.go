package accesslog

import (
	"time"

	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// Entry is what one request leaves for the access log. The proxy fills it
// from its pooled per-request state; Log copies what it needs before
// returning, so the proxy may reuse the Entry, and the Headers it points
// to, at once.
type Entry struct {
	// StartTime is when the request began (its first byte arrived).
	StartTime time.Time
	// RequestReceived is the time from start until the request was fully
	// received.
	RequestReceived time.Duration
	// ResponseReceived is the time from start until the response head
	// came back from upstream; 0 if none did.
	ResponseReceived time.Duration
	// Duration is the time from start until the response was fully sent.
	Duration time.Duration
	// BytesReceived counts the request body bytes read from downstream.
	BytesReceived int64
	// BytesSent counts the response body bytes written to downstream.
	BytesSent int64
	// Protocol is the downstream protocol name: "Http1", ...
	Protocol string
	// ResponseCode is the status sent downstream; 0 if none was.
	ResponseCode int
	// ResponseFlags holds MOSN/Envoy response flag codes, comma-separated
	// if several: "UF" (upstream connect failure), "UT" (upstream
	// timeout), "NR" (no route), "UH" (no healthy host), "UO" (overflow),
	// "URX" (retry limit), "UC" (upstream connection termination), "DC"
	// (downstream connection termination), "LR" (local reset), ...; empty
	// if none.
	ResponseFlags string
	// UpstreamCluster is the name of the cluster the route chose; "" if
	// none.
	UpstreamCluster string
	// UpstreamHost is the last upstream host tried, "IP:port"; "" if none.
	UpstreamHost string
	// UpstreamLocalAddr is the local address of the upstream connection.
	UpstreamLocalAddr string
	// DownstreamLocalAddr is the listener-side address of the client
	// connection.
	DownstreamLocalAddr string
	// DownstreamRemoteAddr is the client's address.
	DownstreamRemoteAddr string
	// RequestHeaders are the request headers as received; may be nil.
	RequestHeaders *protocol.Headers
	// ResponseHeaders are the response headers as sent; may be nil.
	ResponseHeaders *protocol.Headers
}
