// Package http2 is the HTTP/2 stream layer (RFC 9113): a server stream
// connection for downstream clients speaking h2c with prior knowledge, and
// client stream connections in a multiplexed pool for upstream hosts. It is
// registered as stream protocol "Http2" (alias "h2").
//
// Layer: stream. Imports pkg/stream, pkg/protocol and pkg/network of this
// module, and golang.org/x/net/http2's Framer and hpack packages for the
// wire format (never http2.Server or http2.Transport).
//
// Main types:
//
//	Conn    one HTTP/2 connection, either side: the read filter and event
//	        listener of a network.Conn
//	Stream  one request/response exchange; it is both stream.ServerStream
//	        (downstream) and stream.ClientStream (upstream)
//	Pool    the multiplexed pool of an upstream host: as many connections
//	        as load requires, each carrying up to the peer's
//	        SETTINGS_MAX_CONCURRENT_STREAMS
//
// Threading: every frame is decoded on the connection's own read goroutine
// and handed to the streams' receivers there; there is no goroutine per
// stream. Senders (the proxy, on other connections' read goroutines) only
// encode frames into the connection's batch under its mutex; one flusher at
// a time hands the batch to network.Conn.Write, which never blocks, so
// frames leave in the order they were encoded (HPACK needs that).
//
//	peer ─► network.Conn ─► Conn.OnData ─► frames ─► Stream ─► Receiver (proxy)
//	proxy ─► Stream.Send* ─► flow control ─► Conn batch ─► network.Conn.Write ─► peer
//
// Replay: a client stream keeps its request head and up to 64 KiB of body
// until the response begins; a request the upstream certainly did not
// process (above a GOAWAY's last stream id, REFUSED_STREAM, never sent) is
// sent again on another connection of the pool, at most twice, without the
// proxy seeing it (the proxy streams bodies and cannot retry them itself).
//
// Flow control: received DATA is credited back to the peer as it is
// delivered, the connection window at once and a stream's window only
// while that stream is not read-disabled, so a stream whose consumer is
// slow stops its peer after one window. Sent DATA waits in its stream for
// the peer's credit; a stream with more than a bounded amount waiting, or
// a connection whose socket queue is above its limit, raises the stream's
// Watermarks so the producer pauses.
package http2
