package network

// FilterStatus tells a connection whether to run the next filter.
type FilterStatus uint8

const (
	// Continue passes the data or event on to the next filter.
	Continue FilterStatus = iota
	// Stop ends the chain here for this call.
	Stop
)

func (s FilterStatus) String() string {
	if s == Stop {
		return "stop"
	}
	return "continue"
}

// ReadFilter sees what a connection reads. Filters run in the order they
// were added, on the connection's read goroutine, one call at a time.
type ReadFilter interface {
	// OnNewConnection runs once, before the first read.
	OnNewConnection(c *Conn) FilterStatus

	// OnData runs after each read. buf holds every byte read and not yet
	// consumed; a filter consumes with buf.Drain, and the bytes it leaves are
	// offered again, with more, after the next read. To forward bytes
	// without copying, pass buf.Retain() to a Write (which takes the bytes
	// readable at that moment) and then Drain them. endStream is true once,
	// when the peer has finished sending.
	OnData(c *Conn, buf *Buffer, endStream bool) FilterStatus
}

// WriteFilter sees what is written to a connection, before it is queued.
// It may run on any goroutine that writes.
type WriteFilter interface {
	// OnWrite may inspect or modify b. Returning Stop means the filter has
	// taken ownership of b and it is not queued.
	OnWrite(c *Conn, b *Buffer) FilterStatus
}
