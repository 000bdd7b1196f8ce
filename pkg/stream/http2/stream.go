package http2

import (
	"golang.org/x/net/http2"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// Stream is one exchange on a Conn. On a server connection it is the
// stream.ServerStream of a downstream request; on a client connection the
// stream.ClientStream of an upstream one. Its methods may be called from
// any goroutine, one at a time (the proxy orders them).
type Stream struct {
	c        *Conn
	receiver stream.Receiver
	// headers is the request head (server) or response head (client) as
	// decoded; trailers what followed the body. Both stay valid until the
	// stream's exchange is over: the proxy keeps the request head for
	// retries and the access log.
	headers      protocol.Headers
	trailers     protocol.Headers
	sendTrailers protocol.Headers // a copy of what SendTrailers was given

	// Read goroutine only.
	received int64 // body bytes received
	declared int64 // the peer's content-length, -1 when none applies

	replay replay // client: what a replay on another connection needs

	// Guarded by c.mu.
	id           uint32 // 0 until a client stream's HEADERS are sent
	watermarks   stream.Watermarks
	gotHead      bool // the head has gone to the receiver (client: the final one)
	headSent     bool
	recvClosed   bool // the peer ended its side
	sendClosed   bool // this side's END_STREAM has been queued
	outEnd       bool // the producer ended; END_STREAM follows what is queued
	hasTrailers  bool
	resetDone    bool // removed from the connection
	resetSent    bool
	unprocessed  bool
	headReq      bool // client: the request is HEAD, its response has no body
	readDisabled bool
	inBlocked    bool // in c.blocked
	sendWindow   int64
	recvWindow   int64
	recvUnacked  int64
	out          *network.Buffer // DATA waiting for credit
	high         bool            // what the watermarks were last told
	notifying    bool            // a goroutine is telling them
}

var (
	_ stream.ServerStream = (*Stream)(nil)
	_ stream.ClientStream = (*Stream)(nil)
)

// ID is the HTTP/2 stream id (0 for a client stream not yet sent).
func (st *Stream) ID() uint32 {
	if f := st.moved(); f != nil {
		return f.ID()
	}
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	return st.id
}

// Conn is the network connection the stream runs on.
func (st *Stream) Conn() *network.Conn { return st.c.nc }

// SetWatermarks registers who pauses while the stream's data backs up.
func (st *Stream) SetWatermarks(w stream.Watermarks) {
	st.c.mu.Lock()
	st.watermarks = w
	st.c.mu.Unlock()
}

// SendHeaders sends the head. A server response head that does not end
// the stream is held back to leave with the body (or with Flush). A client
// stream takes its stream id here, so ids go out in increasing order.
func (st *Stream) SendHeaders(h *protocol.Headers, end bool) error {
	c := st.c
	if !c.server {
		if f := st.keepHead(h, end); f != nil {
			return f.SendHeaders(h, end)
		}
	}
	c.mu.Lock()
	if st.resetDone || st.headSent {
		c.mu.Unlock()
		return ErrStreamClosed
	}
	if !c.server {
		if c.closed || c.goAwayRecv || c.nextID >= 1<<31-1 {
			// The request never left: it is safe to try elsewhere. The
			// reset comes from another goroutine, as the caller holds its
			// own locks while sending.
			st.unprocessed = true
			c.removeLocked(st)
			c.unlock()
			go c.resetUnprocessed(st, stream.ResetConnectionClosed)
			return ErrConnClosed
		}
		delete(c.unsent, st)
		if m, _ := h.Get(protocol.Method); string(m) == "HEAD" {
			st.headReq = true
		}
		st.id = c.nextID
		c.nextID += 2
		if c.nextID >= 1<<31-1 {
			c.goingAway = true
		}
		st.sendWindow = c.peerInitial
		st.recvWindow = streamWindow
		c.streams[st.id] = st
	}
	st.headSent = true
	c.hbuf.Reset()
	if c.server {
		encodeResponse(c.henc, h)
	} else {
		encodeRequest(c.henc, h)
	}
	c.writeBlock(st.id, end)
	if end {
		st.outEnd = true
		c.sendEndedLocked(st)
	} else {
		c.pump(st) // data that came before the head (none from the proxy)
	}
	c.unlock()
	if c.server && !end {
		return nil
	}
	c.flushSoon()
	return nil
}

// SendData queues body bytes; they leave as the peer's windows allow.
func (st *Stream) SendData(data *network.Buffer, end bool) error {
	c := st.c
	if !c.server {
		if f := st.keepData(data, end); f != nil {
			return f.SendData(data, end)
		}
	}
	c.mu.Lock()
	if st.resetDone || st.outEnd || c.closed {
		c.mu.Unlock()
		data.Release()
		return ErrStreamClosed
	}
	switch {
	case data.Len() == 0:
		data.Release()
	case st.out == nil:
		st.out = data
	default:
		st.out.Append(data.Bytes())
		data.Release()
	}
	st.outEnd = end
	c.pump(st)
	c.unlock()
	c.flushSoon()
	st.signalWatermark()
	return nil
}

// SendTrailers ends the stream with a trailer block after the body.
func (st *Stream) SendTrailers(t *protocol.Headers) error {
	c := st.c
	if !c.server {
		if f := st.keepTrailers(t); f != nil {
			return f.SendTrailers(t)
		}
	}
	c.mu.Lock()
	if st.resetDone || st.outEnd || c.closed {
		c.mu.Unlock()
		return ErrStreamClosed
	}
	st.sendTrailers.CopyFrom(t)
	st.hasTrailers = true
	st.outEnd = true
	c.pump(st)
	c.unlock()
	c.flushSoon()
	return nil
}

// Flush sends a held-back response head.
func (st *Stream) Flush() { st.c.flushSoon() }

// ReadDisable pauses (true) or resumes receiving the peer's body: while
// paused no stream credit is given back, so the peer stops after the
// window it has.
func (st *Stream) ReadDisable(disable bool) {
	if f := st.moved(); f != nil {
		f.ReadDisable(disable)
		return
	}
	c := st.c
	c.mu.Lock()
	st.readDisabled = disable
	credit := !disable && st.recvUnacked > 0
	if credit {
		c.creditStream(st)
	}
	c.mu.Unlock()
	if credit {
		c.flushSoon()
	}
}

// Reset abandons the stream with RST_STREAM: CANCEL from a client (the
// upstream sees the cancellation), INTERNAL_ERROR from a server (a
// response cut short). No receiver call follows.
func (st *Stream) Reset() {
	if f := st.moved(); f != nil {
		f.Reset()
		return
	}
	if !st.c.server {
		st.forget()
	}
	c := st.c
	c.mu.Lock()
	if st.resetDone {
		c.mu.Unlock()
		return
	}
	if st.id != 0 && !c.closed {
		code := http2.ErrCodeCancel
		if c.server {
			code = http2.ErrCodeInternal
		}
		c.fw.WriteRSTStream(st.id, code)
		st.resetSent = true
	}
	c.removeLocked(st)
	c.unlock()
	c.flushSoon()
}

// Unprocessed reports that the request certainly never reached the
// upstream application: it was refused (REFUSED_STREAM), above a GOAWAY's
// last stream id, or never sent.
func (st *Stream) Unprocessed() bool {
	if f := st.moved(); f != nil {
		return f.Unprocessed()
	}
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	return st.unprocessed
}

// writeBlock frames the encoded block in c.hbuf as HEADERS and, beyond
// the peer's frame size, CONTINUATION frames. c.mu is held.
func (c *Conn) writeBlock(id uint32, end bool) {
	b := c.hbuf.Bytes()
	first := b
	if len(first) > c.peerMaxFrame {
		first = b[:c.peerMaxFrame]
	}
	b = b[len(first):]
	c.fw.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: end, EndHeaders: len(b) == 0})
	for len(b) > 0 {
		n := min(len(b), c.peerMaxFrame)
		c.fw.WriteContinuation(id, n == len(b), b[:n])
		b = b[n:]
	}
}

// dataHeader writes the 9-byte header of a DATA frame. c.mu is held.
func (c *Conn) dataHeader(id uint32, n int, end bool) {
	var h [9]byte
	h[0], h[1], h[2] = byte(n>>16), byte(n>>8), byte(n)
	h[3] = byte(http2.FrameData)
	if end {
		h[4] = byte(http2.FlagDataEndStream)
	}
	h[5], h[6], h[7], h[8] = byte(id>>24), byte(id>>16), byte(id>>8), byte(id)
	c.wbufFor(9).Append(h[:])
}

// pump frames as much of st's queued data as both windows allow, then its
// end (an empty DATA with END_STREAM, or the trailers). c.mu is held.
func (c *Conn) pump(st *Stream) {
	if st.id == 0 || !st.headSent || st.resetDone || st.sendClosed || c.closed {
		return
	}
	for st.out != nil && st.out.Len() > 0 {
		w := min(st.sendWindow, c.sendWindow)
		if w <= 0 {
			if c.sendWindow <= 0 && st.sendWindow > 0 && !st.inBlocked {
				st.inBlocked = true
				c.blocked = append(c.blocked, st)
			}
			return
		}
		size := st.out.Len()
		n := int(min(int64(size), w, int64(c.peerMaxFrame)))
		last := n == size && st.outEnd && !st.hasTrailers
		c.dataHeader(st.id, n, last)
		switch {
		case n == size && n > 1024:
			c.appendRaw(st.out) // the producer's buffer, not copied
			st.out = nil
		case n > 1024:
			b := network.GetBuffer(n)
			b.Append(st.out.Bytes()[:n])
			c.appendRaw(b)
			st.out.Drain(n)
		default:
			c.wbufFor(n).Append(st.out.Bytes()[:n])
			st.out.Drain(n)
		}
		if st.out != nil && st.out.Len() == 0 {
			st.out.Release()
			st.out = nil
		}
		st.sendWindow -= int64(n)
		c.sendWindow -= int64(n)
		if last {
			c.sendEndedLocked(st)
			return
		}
	}
	if !st.outEnd {
		return
	}
	if st.hasTrailers {
		c.hbuf.Reset()
		encodeRegular(c.henc, &st.sendTrailers)
		c.writeBlock(st.id, true)
	} else {
		c.dataHeader(st.id, 0, true)
	}
	c.sendEndedLocked(st)
}

// sendEndedLocked records that st's END_STREAM is queued. A stream the
// peer has ended too is over. A server that has answered before the
// request's end tells the client to stop sending it (RST_STREAM NO_ERROR,
// RFC 9113 8.1). c.mu is held.
func (c *Conn) sendEndedLocked(st *Stream) {
	st.sendClosed = true
	switch {
	case st.recvClosed:
		c.removeLocked(st)
	case c.server:
		c.fw.WriteRSTStream(st.id, http2.ErrCodeNo)
		st.resetSent = true
		c.removeLocked(st)
	}
}

// unlock releases c.mu and, when streams were removed meanwhile, lets the
// pool reuse their slots and a draining connection close.
func (c *Conn) unlock() {
	gone := c.gone
	c.gone = false
	c.mu.Unlock()
	if gone {
		c.streamGone()
	}
}

// wantHighLocked is what st's watermarks should say: high while the
// connection's socket queue is above its limit or the stream holds more
// than streamBufferLimit for want of credit (low again at half). c.mu is
// held.
func (st *Stream) wantHighLocked() bool {
	if st.resetDone {
		return false
	}
	if st.c.netHigh {
		return true
	}
	q := 0
	if st.out != nil {
		q = st.out.Len()
	}
	if st.high {
		return q > streamBufferLimit/2
	}
	return q > streamBufferLimit
}

// signalWatermark tells st's watermarks when what they should say changed.
// They are told from a goroutine of their own, one at a time and in
// order: the change is often noticed inside a send, under the locks of
// the very producer that the watermarks pause.
func (st *Stream) signalWatermark() {
	c := st.c
	c.mu.Lock()
	if st.watermarks == nil || st.notifying || st.high == st.wantHighLocked() {
		c.mu.Unlock()
		return
	}
	st.notifying = true
	w := st.watermarks
	c.mu.Unlock()
	go func() {
		for {
			c.mu.Lock()
			want := st.wantHighLocked()
			if want == st.high {
				st.notifying = false
				c.mu.Unlock()
				return
			}
			st.high = want
			c.mu.Unlock()
			w.OnWriteBufferHigh(want)
		}
	}()
}
