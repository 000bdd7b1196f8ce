// Package network is the NET/IO layer, the bottom of the proxy's four layers:
// listeners, connections, their filter chains, and pooled buffers.
//
// It imports only the standard library and hwaccel (which opens the sockets),
// and knows nothing of protocols. Everything above builds on its contracts:
// Buffer, Conn, ReadFilter, WriteFilter, EventListener and Listener.
//
//	            accept                       read (IOModel)
//	Listener ──► ListenerFilters ──► Conn ──► ReadFilters ──► (codec, proxy, …)
//	                                   ▲
//	        Write (any goroutine) ─────┘  WriteFilters ──► queue ──► writev
//
// Reading. Each connection's bytes reach its read filters on one goroutine at
// a time. Under the goroutine-per-connection IOModel the read waits in Go's
// runtime poller without holding a buffer; one is taken from the pool only
// when data has arrived, and returned when the filters have consumed it.
// Under EventLoopModel (Linux) a few epoll loops read every connection and
// run the filters inline, with the same semantics and no goroutine per
// connection; see netpoll_linux.go.
//
// Writing. Write never blocks. It tries the socket at once with one writev of
// everything queued; what the socket does not take waits in the queue and a
// background flush sends it when the socket drains. When the queue exceeds
// the connection's buffer limit, EventWriteBufferHigh fires, and whoever
// produces the bytes (the proxy reading from the other side) pauses reading
// with SetReadDisable until EventWriteBufferLow. That bounds a proxy's memory
// per connection pair by the limits, whatever the peers' speeds.
//
// Closing. Close(CloseFlush) writes what is queued first; CloseWrite sends FIN
// after it (half-close). Event listeners learn of every close exactly once.
package network
