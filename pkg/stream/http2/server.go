package http2

import (
	"strconv"

	"golang.org/x/net/http2"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

func init() {
	stream.Register(&stream.Protocol{
		Name:    "Http2",
		HTTP:    true,
		Aliases: []string{"h2"},
		Serve:   func(c *network.Conn, l stream.Limits, h stream.ServerHandler) { NewServerConn(c, l, h) },
		NewPool: func(o stream.PoolOptions) stream.ConnPool { return NewPool(o) },
	})
}

// NewServerConn installs HTTP/2 serving (h2c with prior knowledge) on a
// downstream connection: requests become streams given to h.
func NewServerConn(nc *network.Conn, limits stream.Limits, h stream.ServerHandler) *Conn {
	c := newConn(nc, true, limits)
	c.handler = h
	c.flush() // our SETTINGS go out at once
	return c
}

// serverHeaders handles a request head or trailers.
func (c *Conn) serverHeaders(id uint32, end bool) {
	c.mu.Lock()
	st := c.streams[id]
	c.mu.Unlock()
	if st != nil {
		c.requestTrailers(st, end)
		return
	}
	switch {
	case id%2 == 0:
		if c.decode(&c.scratch, blockRequest) {
			c.connError(http2.ErrCodeProtocol, "even stream id from a client")
		}
		return
	case id <= c.lastPeer:
		c.mu.Lock()
		recent := c.recentlyReset(id)
		c.mu.Unlock()
		if c.decode(&c.scratch, blockTrailers) && !recent {
			c.connError(http2.ErrCodeStreamClosed, "HEADERS on a closed stream")
		}
		return
	}
	st = &Stream{c: c}
	if !c.decode(&st.headers, blockRequest) {
		return
	}
	st.declared = c.dec.length
	if end && st.declared > 0 {
		c.dec.invalid = "content-length without a body"
	}
	c.mu.Lock()
	c.lastPeer = id
	st.id = id
	switch {
	case c.goingAway || c.open >= maxConcurrentStreams:
		c.fw.WriteRSTStream(id, http2.ErrCodeRefusedStream)
		c.noteReset(id)
		c.mu.Unlock()
		return
	case c.dec.invalid != "":
		c.fw.WriteRSTStream(id, http2.ErrCodeProtocol)
		c.noteReset(id)
		c.mu.Unlock()
		return
	}
	tooBig := c.dec.tooBig
	c.mu.Unlock()
	if !tooBig {
		// The receiver exists before the stream can be seen, and reset,
		// by anyone else.
		st.receiver = c.handler.NewStream(st)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	st.sendWindow = c.peerInitial
	st.recvWindow = streamWindow
	st.recvClosed = end
	st.gotHead = !tooBig
	c.streams[id] = st
	c.open++
	c.opened++
	c.mu.Unlock()
	if tooBig {
		c.reply(st, 431)
		return
	}
	st.receiver.OnHeaders(&st.headers, end)
	if end {
		c.recvDone(st)
	}
}

// requestTrailers handles a second header block on a request: trailers,
// which must end the stream.
func (c *Conn) requestTrailers(st *Stream, end bool) {
	if !c.decode(&st.trailers, blockTrailers) {
		return
	}
	c.mu.Lock()
	closed, head := st.recvClosed, st.gotHead
	if !closed && end {
		st.recvClosed = true
	}
	c.mu.Unlock()
	switch {
	case closed:
		c.streamError(st.id, http2.ErrCodeStreamClosed)
	case !end || c.dec.invalid != "" || c.dec.tooBig || st.declared >= 0 && st.received != st.declared:
		c.streamError(st.id, http2.ErrCodeProtocol)
	case head:
		st.receiver.OnTrailers(&st.trailers)
		c.recvDone(st)
	}
}

// reply answers a request from the stream layer itself (431, 413).
func (c *Conn) reply(st *Stream, status int) {
	var h protocol.Headers
	h.AddString(protocol.Status, strconv.Itoa(status))
	h.AddString("content-length", "0")
	st.SendHeaders(&h, true)
}

// tooLarge ends a request whose body is over the limit: the proxy
// abandons it and the client gets 413, or a reset if its response had
// begun.
func (c *Conn) tooLarge(st *Stream) {
	st.receiver.OnReset(stream.ResetProtocolError)
	c.mu.Lock()
	started := st.headSent
	c.mu.Unlock()
	if started {
		st.Reset()
		return
	}
	c.reply(st, 413)
}
