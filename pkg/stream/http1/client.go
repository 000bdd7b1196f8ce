package http1

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	codec "github.com/sidecar-mesh/mosn/pkg/protocol/http1"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// Pool is a ping-pong pool: one request at a time per connection, idle
// connections reused most recent first. A connection that saw any error, or
// whose response did not allow reuse, is closed rather than returned.
type Pool struct {
	opts stream.PoolOptions

	mu     sync.Mutex
	idle   []*clientConn
	closed bool
}

var _ stream.ConnPool = (*Pool)(nil)

// NewPool makes an empty pool.
func NewPool(opts stream.PoolOptions) *Pool { return &Pool{opts: opts} }

// NewStream sends a request on an idle connection, or on a new one (whose
// request waits in its write queue until it has connected).
func (p *Pool) NewStream(r stream.Receiver) (stream.ClientStream, error) {
	cc, connect, err := p.take()
	if err != nil {
		return nil, err
	}
	st := cc.newStream(r)
	if !cc.reused {
		// Only now: a connect that fails at once must find st to tell.
		cc.conn.Connect(connect)
	}
	return st, nil
}

// take returns an idle connection, or a new one that the caller connects
// within the returned timeout once its stream is attached.
func (p *Pool) take() (*clientConn, time.Duration, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, 0, stream.ErrPoolClosed
	}
	for n := len(p.idle); n > 0; n = len(p.idle) {
		cc := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		if !cc.conn.Closed() {
			p.mu.Unlock()
			cc.reused = true
			return cc, 0, nil
		}
	}
	p.mu.Unlock()
	conn, timeout, err := p.opts.Dial()
	if err != nil {
		return nil, 0, err
	}
	cc := &clientConn{pool: p, conn: conn, dec: codec.NewResponseDecoder(codecLimits(p.opts.Limits))}
	conn.AddReadFilter(cc)
	conn.AddEventListener(cc)
	return cc, timeout, nil
}

// release takes back a connection whose exchange completed cleanly.
func (p *Pool) release(cc *clientConn) {
	p.mu.Lock()
	if !p.closed && !cc.conn.Closed() {
		p.idle = append(p.idle, cc)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	cc.conn.Close(network.CloseNoFlush)
}

// forget drops a closed connection from the idle list.
func (p *Pool) forget(cc *clientConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, c := range p.idle {
		if c == cc {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return
		}
	}
}

// Close closes the idle connections; busy ones close when their exchange ends.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, cc := range idle {
		cc.conn.Close(network.CloseNoFlush)
	}
}

// IdleConns is the number of idle connections.
func (p *Pool) IdleConns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// clientConn is one upstream connection of a pool.
type clientConn struct {
	pool     *Pool
	conn     *network.Conn
	dec      *codec.Decoder
	requests int
	reused   bool // it has carried a request before

	mu       sync.Mutex
	active   *ClientStream
	decoding *ClientStream // the stream whose response the decoder expects
}

// ClientStream is one request on an upstream connection and the sender of it.
type ClientStream struct {
	cc         *clientConn
	receiver   stream.Receiver
	head       *network.Buffer // held back to go out with the first body bytes
	chunked    bool
	sentBody   bool // some request body bytes have been queued
	requestEnd bool
	gotBytes   bool // some response bytes have arrived
	reused     bool
	headEnded  bool // the response has no body: OnHeaders says endStream
	// method is the request's method, for the response decoder (a HEAD
	// response has no body); longer methods are cut, which changes nothing
	// the decoder compares.
	method  [16]byte
	methodN int
}

var _ stream.ClientStream = (*ClientStream)(nil)

// newStream starts the connection's next exchange. Each exchange has a
// ClientStream of its own: the connection goes back to the pool as its
// response ends, and a late call on the finished stream (a Reset from a
// timer) must find it no longer active rather than reach the next one.
func (cc *clientConn) newStream(r stream.Receiver) *ClientStream {
	cc.requests++
	st := &ClientStream{cc: cc, receiver: r, reused: cc.reused}
	cc.mu.Lock()
	cc.active = st
	cc.mu.Unlock()
	return st
}

// Unprocessed reports that the stream's connection had carried a request
// before and closed with no byte of this response: the server closed an
// idle keep-alive connection as we reused it, so nothing reached it.
func (st *ClientStream) Unprocessed() bool { return st.reused && !st.gotBytes }

// ReadDisable pauses or resumes reading the response.
func (st *ClientStream) ReadDisable(disable bool) { st.cc.conn.SetReadDisable(disable) }

// Reused reports whether the connection had carried a request before: a
// request that fails on one before any response byte arrived may simply
// have met the server closing an idle connection, and is safe to retry.
func (st *ClientStream) Reused() bool { return st.reused }

// ResponseStarted reports whether any response byte has arrived.
func (st *ClientStream) ResponseStarted() bool { return st.gotBytes }

// BodySent reports whether request body bytes have been queued.
func (st *ClientStream) BodySent() bool { return st.sentBody }

// Conn is the upstream connection.
func (st *ClientStream) Conn() *network.Conn { return st.cc.conn }

// SendHeaders sends the request head. Without a content-length, a request
// that has a body is sent chunked. Hop-by-hop fields must already be gone.
func (st *ClientStream) SendHeaders(h *protocol.Headers, endStream bool) error {
	if m, ok := h.Get(protocol.Method); ok {
		// The read goroutine hands it to the response decoder (HEAD
		// responses have no body); cc.mu orders the two.
		st.cc.mu.Lock()
		st.methodN = copy(st.method[:], m)
		st.cc.mu.Unlock()
	}
	if !endStream && !h.Has("content-length") {
		h.Set("transfer-encoding", "chunked")
		st.chunked = true
	}
	b := network.GetBuffer(1024)
	codec.AppendRequestHead(b, h)
	if endStream {
		st.requestEnd = true
		return st.cc.conn.Write(b)
	}
	st.head = b
	return nil
}

// SendData sends request body bytes, with the held-back head in the same write.
func (st *ClientStream) SendData(data *network.Buffer, endStream bool) error {
	var bufs [5]*network.Buffer
	out := bufs[:0]
	if st.head != nil {
		out = append(out, st.head)
		st.head = nil
	}
	if data.Len() > 0 {
		st.sentBody = true
		if st.chunked {
			size := network.GetBuffer(16)
			appendHex(size, data.Len())
			size.AppendString("\r\n")
			crlf := network.GetBuffer(16)
			crlf.AppendString("\r\n")
			out = append(out, size, data, crlf)
		} else {
			out = append(out, data)
		}
	} else {
		data.Release()
	}
	if endStream {
		st.requestEnd = true
		if st.chunked {
			last := network.GetBuffer(16)
			codec.AppendLastChunk(last, nil)
			out = append(out, last)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return st.cc.conn.Write(out...)
}

// SendTrailers ends a chunked request with trailers.
func (st *ClientStream) SendTrailers(t *protocol.Headers) error {
	var bufs [2]*network.Buffer
	out := bufs[:0]
	if st.head != nil {
		out = append(out, st.head)
		st.head = nil
	}
	st.requestEnd = true
	if st.chunked {
		last := network.GetBuffer(256)
		codec.AppendLastChunk(last, t)
		out = append(out, last)
	}
	if len(out) == 0 {
		return nil
	}
	return st.cc.conn.Write(out...)
}

// Reset abandons the exchange (a timeout, the client went away): the
// connection is closed, as its response can no longer be told apart.
func (st *ClientStream) Reset() {
	if st.head != nil {
		st.head.Release()
		st.head = nil
	}
	st.cc.mu.Lock()
	mine := st.cc.active == st
	if mine {
		st.cc.active = nil
	}
	st.cc.mu.Unlock()
	if mine { // a finished exchange's connection may carry another now
		st.cc.conn.Close(network.CloseNoFlush)
	}
}

func (cc *clientConn) current() *ClientStream {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.active
}

// reading returns the active stream for the read goroutine, telling the
// decoder the method of the request being answered.
func (cc *clientConn) reading() *ClientStream {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.active != nil && cc.decoding != cc.active {
		cc.dec.SetRequestMethod(cc.active.method[:cc.active.methodN])
		cc.decoding = cc.active
	}
	return cc.active
}

// detach ends st's hold on the connection and reports whether it had it.
func (cc *clientConn) detach(st *ClientStream) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.active != st || st == nil {
		return false
	}
	cc.active = nil
	return true
}

// OnNewConnection implements network.ReadFilter.
func (cc *clientConn) OnNewConnection(*network.Conn) network.FilterStatus { return network.Continue }

// OnData decodes the response.
func (cc *clientConn) OnData(_ *network.Conn, buf *network.Buffer, end bool) network.FilterStatus {
	st := cc.reading()
	if st == nil {
		// Bytes nobody asked for: the connection cannot be trusted.
		buf.Drain(buf.Len())
		cc.conn.Close(network.CloseNoFlush)
		return network.Stop
	}
	if buf.Len() > 0 {
		st.gotBytes = true
	}
	for {
		ev, err := cc.dec.Decode(buf)
		if err == nil && ev == codec.EventNeedMore && end {
			ev, err = cc.dec.Finish()
			if err == nil && ev == codec.EventNeedMore {
				err = errors.New("connection closed before the response")
			}
		}
		if err != nil {
			if cc.detach(st) {
				st.receiver.OnReset(stream.ResetProtocolError)
			}
			cc.conn.Close(network.CloseNoFlush)
			return network.Stop
		}
		switch ev {
		case codec.EventNeedMore:
			if f, ok := st.receiver.(stream.Flusher); ok {
				f.Flush()
			}
			return network.Stop
		case codec.EventHead:
			if s := cc.dec.Status(); s >= 100 && s < 200 {
				continue // interim: the final response follows
			}
			// A response without a body (HEAD, 204, 304) is over with its
			// head: it goes up at the decoder's EventEnd, which follows.
			if st.headEnded = cc.dec.Body() == codec.BodyNone; !st.headEnded {
				st.receiver.OnHeaders(cc.dec.Head(), false)
			}
		case codec.EventData:
			st.receiver.OnData(cc.dec.Data(), false)
		case codec.EventEnd:
			if s := cc.dec.Status(); s >= 100 && s < 200 {
				continue
			}
			// The connection goes back to the pool before the end goes up:
			// the end may let the client send its next request at once,
			// which must find the connection idle (not open another, or
			// meet max_connections). The decoder's head and trailers stay
			// until this goroutine decodes again.
			cc.responseDone(st)
			switch t := cc.dec.Trailers(); {
			case st.headEnded:
				st.receiver.OnHeaders(cc.dec.Head(), true)
			case t.Len() > 0:
				st.receiver.OnTrailers(t)
			default:
				st.receiver.OnData(nil, true)
			}
			return network.Stop
		}
	}
}

// responseDone returns the connection to the pool if it can carry another
// request, and closes it otherwise.
func (cc *clientConn) responseDone(st *ClientStream) {
	if !cc.detach(st) {
		return
	}
	max := cc.pool.opts.MaxRequestsPerConn
	if cc.dec.KeepAlive() && st.requestEnd && (max == 0 || cc.requests < max) {
		cc.pool.release(cc)
		return
	}
	cc.conn.Close(network.CloseFlush)
}

// OnEvent implements network.EventListener.
func (cc *clientConn) OnEvent(_ *network.Conn, e network.Event) {
	switch {
	case e.IsClose():
		cc.pool.forget(cc)
		st := cc.current()
		if !cc.detach(st) {
			return
		}
		reason := stream.ResetConnectionClosed
		if e == network.EventConnectFailed || e == network.EventConnectTimeout {
			reason = stream.ResetConnectFailure
		}
		st.receiver.OnReset(reason)
	case e == network.EventWriteBufferHigh, e == network.EventWriteBufferLow:
		if st := cc.current(); st != nil {
			if w, ok := st.receiver.(stream.Watermarks); ok {
				w.OnWriteBufferHigh(e == network.EventWriteBufferHigh)
			}
		}
	}
}

// appendHex writes n in hexadecimal, as chunk sizes are written.
func appendHex(dst *network.Buffer, n int) {
	var b [16]byte
	dst.Append(strconv.AppendInt(b[:0], int64(n), 16))
}
