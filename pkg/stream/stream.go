package stream

import (
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

// ConnPool holds an upstream host's connections of one protocol.
type ConnPool interface {
	// NewStream starts a request towards the host on a pooled or new
	// connection; r receives the response. It fails only when no
	// connection may be made (a circuit breaker).
	NewStream(r Receiver) (Sender, error)
	// Close closes idle connections now and busy ones when their stream
	// ends; later NewStream calls fail.
	Close()
}
