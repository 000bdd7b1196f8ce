package stream

import (
	"errors"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// ResetReason says why a stream ended without completing.
type ResetReason uint8

const (
	// ResetConnectFailure: the upstream connection could not be made.
	ResetConnectFailure ResetReason = iota + 1
	// ResetConnectionClosed: the connection closed under the stream (the
	// peer went away, or it was closed locally).
	ResetConnectionClosed
	// ResetProtocolError: the peer sent something the codec rejects.
	ResetProtocolError
	// ResetLocal: this side gave up on the stream (a timeout, say).
	ResetLocal
)

var resetNames = [...]string{
	ResetConnectFailure:   "connect_failure",
	ResetConnectionClosed: "connection_closed",
	ResetProtocolError:    "protocol_error",
	ResetLocal:            "local_reset",
}

func (r ResetReason) String() string {
	if int(r) < len(resetNames) && resetNames[r] != "" {
		return resetNames[r]
	}
	return "unknown"
}

// Receiver gets one stream's message as it is decoded: headers once, then
// data in pieces, then optionally trailers; endStream marks the last part.
// Calls come on the connection's read goroutine, one at a time, and must not
// block. The headers and data are valid only during the call.
type Receiver interface {
	OnHeaders(h *protocol.Headers, endStream bool)
	OnData(p []byte, endStream bool)
	OnTrailers(t *protocol.Headers)
	// OnReset ends the stream; no other call follows.
	OnReset(reason ResetReason)
}

// Sender sends one stream's message. Send methods never block: bytes are
// queued on the connection, whose watermark events carry back-pressure.
type Sender interface {
	SendHeaders(h *protocol.Headers, endStream bool) error
	// SendData takes over one reference of data.
	SendData(data *network.Buffer, endStream bool) error
	SendTrailers(t *protocol.Headers) error
}

// Watermarks are told when the connection under a stream has more queued
// for writing than its limit (true) and when it has drained (false), so the
// stream's producer can pause and resume.
type Watermarks interface {
	OnWriteBufferHigh(high bool)
}

// Flusher is implemented by receivers that hold back what they are handed
// to send it in fewer writes: a connection calls Flush when it has decoded
// everything it read, so nothing waits for bytes that have not arrived.
type Flusher interface {
	Flush()
}

// ServerStream is the downstream side of one request: the sender of its
// response. Methods may be called from any goroutine, one at a time per
// stream (the proxy orders them).
type ServerStream interface {
	Sender
	// SetWatermarks registers who pauses producing the response while it
	// backs up towards the client.
	SetWatermarks(w Watermarks)
	// ReadDisable pauses (true) or resumes receiving this request's body:
	// HTTP/1 pauses its connection, HTTP/2 withholds flow-control credit.
	ReadDisable(disable bool)
	// Reset abandons a response that cannot be completed: HTTP/1 closes the
	// connection, HTTP/2 sends RST_STREAM, an RPC protocol drops the call.
	Reset()
	// Flush sends a response head that SendHeaders held back to go out
	// with the first body bytes.
	Flush()
	// Conn is the downstream connection the stream arrived on.
	Conn() *network.Conn
}

// ServerHandler is the layer above a server stream connection.
type ServerHandler interface {
	// NewStream is called when a request head arrives and returns the
	// receiver for the rest of the request; s sends the response.
	NewStream(s ServerStream) Receiver
}

// ClientStream is the upstream side of one request.
type ClientStream interface {
	Sender
	// ReadDisable pauses (true) or resumes receiving the response body.
	ReadDisable(disable bool)
	// Reset abandons the request (a timeout, the client went away); no
	// Receiver call follows. HTTP/2 sends RST_STREAM(CANCEL) so the
	// upstream sees the cancellation.
	Reset()
	// Unprocessed reports, after an OnReset, that the request certainly
	// never reached the upstream application (a reused keep-alive
	// connection closed before any response byte, REFUSED_STREAM, a GOAWAY
	// below its stream id), so retrying it is always safe.
	Unprocessed() bool
}

// ErrPoolClosed is returned by NewStream on a closed pool: its host has left
// the cluster, and another host should be chosen.
var ErrPoolClosed = errors.New("connection pool closed")

// ConnPool holds an upstream host's connections of one protocol.
type ConnPool interface {
	// NewStream starts a request towards the host on a pooled or new
	// connection; r receives the response. It fails only when no
	// connection may be made (a circuit breaker, a closed pool).
	NewStream(r Receiver) (ClientStream, error)
	// Close closes idle connections now and busy ones when their streams
	// end; later NewStream calls fail.
	Close()
}

// Dialer makes an unconnected upstream connection (with the cluster's
// circuit breaker, limits and stats applied) and says how long a connect
// may take.
type Dialer func() (*network.Conn, time.Duration, error)

// Limits bound what a stream connection accepts from its peer. Zero values
// mean the protocol's defaults.
type Limits struct {
	MaxHeaderBytes int   // one message's head; HTTP answers 431 above it
	MaxBodyBytes   int64 // one message's body; HTTP answers 413 above it; 0 is unlimited
}

// PoolOptions configure a host's pool.
type PoolOptions struct {
	Dial Dialer
	// MaxRequestsPerConn retires a connection after this many requests;
	// 0 is unlimited.
	MaxRequestsPerConn int
	Limits             Limits
}
