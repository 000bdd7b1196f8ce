// Package http1 is the HTTP/1.1 stream layer: a server stream connection
// that turns a downstream connection's bytes into request streams, and a
// client stream connection and ping-pong pool for upstream hosts.
//
// Everything runs on the connections' own read goroutines: decoding is
// incremental on the bytes each read delivers, and sending only queues
// bytes on the connection. Requests pipelined on one connection are taken
// one at a time: once a request has been received, reading pauses until its
// response has been sent, so responses leave in request order.
package http1

import (
	"errors"
	"strconv"
	"sync"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	codec "github.com/sidecar-mesh/mosn/pkg/protocol/http1"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

func init() {
	stream.Register(&stream.Protocol{
		Name:    "Http1",
		HTTP:    true,
		Serve:   func(c *network.Conn, l stream.Limits, h stream.ServerHandler) { NewServerConn(c, l, h) },
		NewPool: func(o stream.PoolOptions) stream.ConnPool { return NewPool(o) },
	})
}

func codecLimits(l stream.Limits) codec.Limits {
	return codec.Limits{MaxHeaderBytes: l.MaxHeaderBytes, MaxBodyBytes: l.MaxBodyBytes}
}

// ServerConn is the HTTP/1.1 server side of one downstream connection. It
// is the connection's read filter and event listener.
type ServerConn struct {
	conn    *network.Conn
	dec     *codec.Decoder // used on the read goroutine only
	handler stream.ServerHandler
	stream  ServerStream // reused for every request on this connection

	// mu guards active and the request/response flags of streams: the
	// request side moves on the read goroutine, the response side on
	// whichever goroutine sends it. Never held while calling out.
	mu     sync.Mutex
	active *ServerStream // the request being received or answered
}

var (
	_ network.ReadFilter    = (*ServerConn)(nil)
	_ network.EventListener = (*ServerConn)(nil)
	_ stream.ServerStream   = (*ServerStream)(nil)
)

// NewServerConn installs HTTP/1.1 serving on c.
func NewServerConn(c *network.Conn, limits stream.Limits, h stream.ServerHandler) *ServerConn {
	sc := &ServerConn{conn: c, dec: codec.NewRequestDecoder(codecLimits(limits)), handler: h}
	sc.stream.sc = sc
	c.AddReadFilter(sc)
	c.AddEventListener(sc)
	return sc
}

// Conn is the downstream connection.
func (sc *ServerConn) Conn() *network.Conn { return sc.conn }

// OnNewConnection implements network.ReadFilter.
func (sc *ServerConn) OnNewConnection(*network.Conn) network.FilterStatus { return network.Continue }

// OnData decodes requests from buf until it needs more bytes or a request
// has been received whole (then reading pauses until its response is sent).
func (sc *ServerConn) OnData(_ *network.Conn, buf *network.Buffer, end bool) network.FilterStatus {
	for {
		st, receiving := sc.receiving()
		if st != nil && !receiving {
			return network.Stop // answering a whole request; reading is paused
		}
		ev, err := sc.dec.Decode(buf)
		if err != nil {
			sc.protocolError(err)
			return network.Stop
		}
		switch ev {
		case codec.EventNeedMore:
			if end {
				sc.peerFinished()
			}
			return network.Stop
		case codec.EventHead:
			sc.beginRequest()
		case codec.EventData:
			if st != nil {
				st.received += int64(len(sc.dec.Data()))
				st.receiver.OnData(sc.dec.Data(), false)
			}
		case codec.EventEnd:
			if st != nil {
				sc.endRequest(st)
			}
		}
	}
}

// receiving returns the active stream and whether its request is still
// being received.
func (sc *ServerConn) receiving() (*ServerStream, bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.active == nil {
		return nil, false
	}
	return sc.active, !sc.active.requestDone
}

func (sc *ServerConn) beginRequest() {
	st := &sc.stream
	st.reset()
	st.protoMinor = sc.dec.ProtoMinor()
	st.keepAlive = sc.dec.KeepAlive()
	if m, ok := sc.dec.Head().Get(protocol.Method); ok {
		st.method = append(st.method, m...)
	}
	noBody := sc.dec.Body() == codec.BodyNone
	sc.mu.Lock()
	sc.active = st
	st.requestDone = noBody // before OnHeaders, which may answer at once
	sc.mu.Unlock()
	if sc.dec.ExpectContinue() && !noBody {
		// Answer 100-continue ourselves: the body is streamed to the
		// upstream as it comes, so there is no reason to make the client wait.
		sc.dec.Head().Del("expect")
		b := network.GetBuffer(32)
		b.AppendString("HTTP/1.1 100 Continue\r\n\r\n")
		sc.conn.Write(b)
	}
	st.receiver = sc.handler.NewStream(st)
	st.receiver.OnHeaders(sc.dec.Head(), noBody)
	if noBody {
		sc.requestReceived(st)
	}
}

func (sc *ServerConn) endRequest(st *ServerStream) {
	// Done before the receiver hears of it: the response may complete at
	// once, on the upstream connection's goroutine, and must find the
	// request read whole or it closes the connection (responseDone).
	sc.mu.Lock()
	st.requestDone = true
	sc.mu.Unlock()
	if t := sc.dec.Trailers(); t.Len() > 0 {
		st.receiver.OnTrailers(t)
	} else {
		st.receiver.OnData(nil, true)
	}
	sc.requestReceived(st)
}

// requestReceived pauses reading until the response has been sent, unless
// it has been already.
func (sc *ServerConn) requestReceived(st *ServerStream) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	st.requestDone = true
	if sc.active == st && !st.responseDone {
		st.paused = true
		sc.conn.SetReadDisable(true)
	}
}

// detach makes st no longer active and reports whether it was.
func (sc *ServerConn) detach(st *ServerStream) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.active != st || st == nil {
		return false
	}
	sc.active = nil
	return true
}

// peerFinished handles the client's FIN: in the middle of a request it is
// a reset; between requests a clean end.
func (sc *ServerConn) peerFinished() {
	st, receiving := sc.receiving()
	if receiving && sc.detach(st) {
		st.receiver.OnReset(stream.ResetConnectionClosed)
		st = nil
	}
	if st == nil {
		sc.conn.Close(network.CloseFlush)
	}
}

// protocolError answers a malformed request with its status and closes.
func (sc *ServerConn) protocolError(err error) {
	status, reason := 400, err.Error()
	var ce *codec.Error
	if errors.As(err, &ce) {
		status, reason = ce.Status, ce.Reason
	}
	st, _ := sc.receiving()
	if sc.detach(st) {
		st.receiver.OnReset(stream.ResetProtocolError)
		if st.responseStarted {
			sc.conn.Close(network.CloseNoFlush)
			return
		}
	}
	body := reason + "\n"
	b := network.GetBuffer(256)
	b.AppendString("HTTP/1.1 ")
	b.AppendString(strconv.Itoa(status))
	b.AppendString(" ")
	b.AppendString(codec.StatusText(status))
	b.AppendString("\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: ")
	b.AppendString(strconv.Itoa(len(body)))
	b.AppendString("\r\n\r\n")
	b.AppendString(body)
	sc.conn.Write(b)
	sc.conn.Close(network.CloseFlush)
}

// OnEvent implements network.EventListener.
func (sc *ServerConn) OnEvent(_ *network.Conn, e network.Event) {
	switch {
	case e.IsClose():
		st, _ := sc.receiving()
		if sc.detach(st) {
			st.receiver.OnReset(stream.ResetConnectionClosed)
		}
	case e == network.EventWriteBufferHigh, e == network.EventWriteBufferLow:
		sc.mu.Lock()
		st := sc.active
		sc.mu.Unlock()
		if st != nil && st.watermarks != nil {
			st.watermarks.OnWriteBufferHigh(e == network.EventWriteBufferHigh)
		}
	}
}

// responseDone finishes the active request: the connection carries the next
// one, or closes.
func (sc *ServerConn) responseDone(st *ServerStream) {
	sc.mu.Lock()
	if sc.active != st {
		sc.mu.Unlock()
		return
	}
	st.responseDone = true
	sc.active = nil
	reuse := st.keepAlive && st.requestDone
	resume := st.paused
	st.paused = false
	sc.mu.Unlock()
	switch {
	case !reuse:
		// A response sent before its request was read whole leaves the rest
		// of the request unread: the connection cannot carry another.
		sc.conn.Close(network.CloseFlush)
	case resume:
		sc.conn.SetReadDisable(false)
	}
}

// ServerStream is one request on a ServerConn and the sender of its
// response.
type ServerStream struct {
	sc         *ServerConn
	receiver   stream.Receiver
	watermarks stream.Watermarks
	method     []byte
	protoMinor int
	keepAlive  bool

	requestDone     bool
	responseStarted bool
	responseDone    bool
	paused          bool
	chunked         bool
	noBody          bool // HEAD, 204, 304: no body whatever the headers say
	received        int64
	head            *network.Buffer // encoded head held back to go out with the body
}

func (st *ServerStream) reset() {
	*st = ServerStream{sc: st.sc, method: st.method[:0]}
}

// Conn is the downstream connection.
func (st *ServerStream) Conn() *network.Conn { return st.sc.conn }

// BytesReceived is the request body bytes received so far.
func (st *ServerStream) BytesReceived() int64 { return st.received }

// SetWatermarks registers who pauses when the downstream connection backs up.
func (st *ServerStream) SetWatermarks(w stream.Watermarks) { st.watermarks = w }

// ProtoMinor is the request's HTTP minor version (0 or 1).
func (st *ServerStream) ProtoMinor() int { return st.protoMinor }

// SendHeaders sends the response head. Framing is chosen here: the given
// content-length if any; none for HEAD, 1xx, 204 and 304; chunked for an
// HTTP/1.1 client otherwise; and for an HTTP/1.0 client, the body runs until
// the connection closes. Hop-by-hop fields must already be gone.
func (st *ServerStream) SendHeaders(h *protocol.Headers, endStream bool) error {
	status := 200
	if v, ok := h.Get(protocol.Status); ok {
		status, _ = strconv.Atoi(string(v))
	}
	if status >= 100 && status < 200 {
		return nil // interim responses are not relayed; the client sees the final one
	}
	st.responseStarted = true
	st.noBody = string(st.method) == "HEAD" || status == 204 || status == 304
	switch {
	case st.noBody, h.Has("content-length"):
	case endStream:
		h.Set("content-length", "0")
	case st.protoMinor >= 1:
		h.Set("transfer-encoding", "chunked")
		st.chunked = true
	default:
		st.keepAlive = false
	}
	if !st.keepAlive {
		h.Set("connection", "close")
	} else if st.protoMinor == 0 {
		h.Set("connection", "keep-alive")
	}
	b := network.GetBuffer(1024)
	codec.AppendResponseHead(b, h)
	if endStream {
		err := st.sc.conn.Write(b)
		st.sc.responseDone(st)
		return err
	}
	st.head = b
	return nil
}

// SendData sends body bytes, with the held-back head in the same write.
func (st *ServerStream) SendData(data *network.Buffer, endStream bool) error {
	if st.noBody {
		data.Release()
		data = nil
	}
	var bufs [4]*network.Buffer
	out := st.takeHead(bufs[:0])
	switch {
	case data == nil:
	case st.chunked && data.Len() > 0:
		// The chunk's size line and CRLF go around data in the same writev,
		// so the body itself is not copied.
		size := network.GetBuffer(16)
		appendHex(size, data.Len())
		size.AppendString("\r\n")
		out = append(out, size, data)
		crlf := network.GetBuffer(16)
		crlf.AppendString("\r\n")
		out = append(out, crlf)
	default:
		out = append(out, data)
	}
	if endStream && st.chunked {
		last := network.GetBuffer(16)
		codec.AppendLastChunk(last, nil)
		out = append(out, last)
	}
	err := st.write(out)
	if endStream {
		st.sc.responseDone(st)
	}
	return err
}

// SendTrailers ends a chunked response with trailers (other framings drop
// them, as HTTP/1.1 can carry trailers only in chunked bodies).
func (st *ServerStream) SendTrailers(t *protocol.Headers) error {
	var bufs [2]*network.Buffer
	out := st.takeHead(bufs[:0])
	if st.chunked {
		last := network.GetBuffer(256)
		codec.AppendLastChunk(last, t)
		out = append(out, last)
	}
	err := st.write(out)
	st.sc.responseDone(st)
	return err
}

// Flush sends a held-back head now.
func (st *ServerStream) Flush() {
	var bufs [1]*network.Buffer
	st.write(st.takeHead(bufs[:0]))
}

func (st *ServerStream) takeHead(out []*network.Buffer) []*network.Buffer {
	if st.head != nil {
		out = append(out, st.head)
		st.head = nil
	}
	return out
}

func (st *ServerStream) write(bufs []*network.Buffer) error {
	if len(bufs) == 0 {
		return nil
	}
	return st.sc.conn.Write(bufs...)
}

// ReadDisable pauses or resumes reading the request.
func (st *ServerStream) ReadDisable(disable bool) { st.sc.conn.SetReadDisable(disable) }

// Reset ends a response that cannot be completed (the upstream went away
// mid-body): HTTP/1.1 can only say so by closing the connection.
func (st *ServerStream) Reset() {
	if st.head != nil {
		st.head.Release()
		st.head = nil
	}
	st.sc.detach(st)
	st.sc.conn.Close(network.CloseNoFlush)
}
