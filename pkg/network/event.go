package network

// Event is something that happened to a connection.
type Event uint8

const (
	// EventConnected: a client connection finished connecting.
	EventConnected Event = iota + 1
	// EventConnectFailed: a client connection could not connect (refused,
	// unreachable); the connection is closed.
	EventConnectFailed
	// EventConnectTimeout: a client connection did not connect within its
	// connect timeout; the connection is closed.
	EventConnectTimeout
	// EventRemoteClose: the peer closed or reset the connection, or a read or
	// write failed; the connection is closed.
	EventRemoteClose
	// EventLocalClose: this side closed the connection.
	EventLocalClose
	// EventIdleTimeout: nothing was read or written for the idle timeout. The
	// connection closes after the listeners have run.
	EventIdleTimeout
	// EventWriteBufferHigh: the bytes waiting to be written rose above the
	// connection's buffer limit. Whoever feeds this connection should pause.
	EventWriteBufferHigh
	// EventWriteBufferLow: the bytes waiting dropped to half the limit again.
	EventWriteBufferLow
	// EventDrain: the connection's listener is draining (the server shuts
	// down gracefully). Protocols that can announce it (HTTP/2 GOAWAY)
	// should, finish what is in flight and close; the connection stays
	// open until then or the drain's deadline.
	EventDrain
)

var eventNames = [...]string{
	EventConnected:       "connected",
	EventConnectFailed:   "connect_failed",
	EventConnectTimeout:  "connect_timeout",
	EventRemoteClose:     "remote_close",
	EventLocalClose:      "local_close",
	EventIdleTimeout:     "idle_timeout",
	EventWriteBufferHigh: "write_buffer_high",
	EventWriteBufferLow:  "write_buffer_low",
	EventDrain:           "drain",
}

func (e Event) String() string {
	if int(e) < len(eventNames) && eventNames[e] != "" {
		return eventNames[e]
	}
	return "unknown"
}

// IsClose reports whether the connection is closed once e has happened.
func (e Event) IsClose() bool {
	switch e {
	case EventConnectFailed, EventConnectTimeout, EventRemoteClose, EventLocalClose:
		return true
	}
	return false
}

// EventListener observes connection events. It may run on any goroutine and
// must not block. Closing a connection from OnEvent is allowed.
type EventListener interface {
	OnEvent(c *Conn, e Event)
}

// EventFunc adapts a function to EventListener.
type EventFunc func(c *Conn, e Event)

// OnEvent calls f.
func (f EventFunc) OnEvent(c *Conn, e Event) { f(c, e) }
