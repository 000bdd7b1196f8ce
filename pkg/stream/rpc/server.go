package rpc

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/protocol/bolt"
	"github.com/sidecar-mesh/mosn/pkg/protocol/dubbo"
	"github.com/sidecar-mesh/mosn/pkg/protocol/rpc"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

func init() {
	register := func(name string, aliases []string, c rpc.Codec) {
		stream.Register(&stream.Protocol{
			Name:    name,
			Aliases: aliases,
			Serve: func(conn *network.Conn, l stream.Limits, h stream.ServerHandler) {
				NewServerConn(conn, c, l, h)
			},
			NewPool: func(o stream.PoolOptions) stream.ConnPool { return NewPool(c, o, Config{}) },
		})
	}
	register("bolt", []string{"SofaRpc"}, bolt.Codec{})
	register("boltv2", nil, bolt.Codec{V2: true})
	register("dubbo", nil, dubbo.Codec{})
}

// Stats counts what the RPC stream connections of this process refused.
// Safe for concurrent use.
type Stats struct {
	// CorruptFrames counts connections closed on a frame the codec
	// rejected (bad magic or version, bad CRC, malformed body).
	CorruptFrames atomic.Int64
	// OversizedFrames counts connections closed on a frame above the limits.
	OversizedFrames atomic.Int64
	// TruncatedFrames counts connections that ended inside a frame.
	TruncatedFrames atomic.Int64
	// Heartbeats counts heartbeats answered by the proxy itself.
	Heartbeats atomic.Int64
}

// stats is the process's count; ProcessStats returns it.
var stats Stats

// ProcessStats returns the counters of every RPC connection of the process.
func ProcessStats() *Stats { return &stats }

var logger = slog.Default().With("component", "rpc")

func limitsOf(l stream.Limits) rpc.Limits {
	r := rpc.Limits{MaxHeaderBytes: l.MaxHeaderBytes}
	if l.MaxBodyBytes > 0 && l.MaxBodyBytes < 1<<30 {
		r.MaxFrameBytes = int(l.MaxBodyBytes) + r.OrDefault().MaxHeaderBytes + 64
	}
	return r
}

// ServerConn is the server side of one downstream RPC connection: its read
// filter and event listener.
type ServerConn struct {
	conn    *network.Conn
	codec   rpc.Codec
	limits  rpc.Limits
	handler stream.ServerHandler
	frame   rpc.Frame // decoded into on the read goroutine

	mu       sync.Mutex
	streams  map[*ServerStream]struct{} // requests not yet answered
	closed   bool
	paused   bool // reading paused at MaxInFlight
	draining bool // the listener drains: close once nothing is in flight
}

// MaxInFlight is how many requests one downstream connection may have
// unanswered: at this many, reading it pauses until half are answered, so
// a client that never stops sending costs bounded memory.
const MaxInFlight = 4096

var (
	_ network.ReadFilter    = (*ServerConn)(nil)
	_ network.EventListener = (*ServerConn)(nil)
	_ stream.ServerStream   = (*ServerStream)(nil)
)

// NewServerConn installs RPC serving with codec c on conn.
func NewServerConn(conn *network.Conn, c rpc.Codec, l stream.Limits, h stream.ServerHandler) *ServerConn {
	sc := &ServerConn{conn: conn, codec: c, limits: limitsOf(l), handler: h, streams: make(map[*ServerStream]struct{})}
	conn.AddReadFilter(sc)
	conn.AddEventListener(sc)
	return sc
}

// OnNewConnection implements network.ReadFilter.
func (sc *ServerConn) OnNewConnection(*network.Conn) network.FilterStatus { return network.Continue }

// OnData decodes every whole frame in buf.
func (sc *ServerConn) OnData(_ *network.Conn, buf *network.Buffer, end bool) network.FilterStatus {
	for {
		n, err := sc.codec.Decode(buf.Bytes(), &sc.frame, sc.limits)
		if err == rpc.ErrNeedMore {
			if end {
				if buf.Len() > 0 {
					stats.TruncatedFrames.Add(1)
					logger.Warn("connection ended inside a frame", "protocol", sc.codec.Name(), "conn", sc.conn.ID(), "bytes", buf.Len())
				}
				buf.Drain(buf.Len())
				sc.conn.Close(network.CloseFlush)
			}
			return network.Stop
		}
		if err != nil {
			sc.refuse(err)
			buf.Drain(buf.Len())
			return network.Stop
		}
		f := &sc.frame
		switch f.Kind {
		case rpc.KindHeartbeat:
			stats.Heartbeats.Add(1)
			sc.conn.Write(sc.codec.EncodeHeartbeatAck(f))
		case rpc.KindRequest, rpc.KindOneway:
			if sc.request(f) {
				buf.Drain(n)
				return network.Stop // paused: the rest waits in buf
			}
		}
		buf.Drain(n)
	}
}

// refuse closes the connection on a frame that cannot be decoded.
func (sc *ServerConn) refuse(err error) {
	if errors.Is(err, rpc.ErrTooLarge) {
		stats.OversizedFrames.Add(1)
	} else {
		stats.CorruptFrames.Add(1)
	}
	logger.Warn("closing connection on a bad frame", "protocol", sc.codec.Name(), "conn", sc.conn.ID(), "err", err)
	sc.conn.Close(network.CloseNoFlush)
}

// request starts a stream for the request in f, moving its Headers there,
// and reports whether reading paused at MaxInFlight.
func (sc *ServerConn) request(f *rpc.Frame) (paused bool) {
	st := &ServerStream{sc: sc, oneway: f.Kind == rpc.KindOneway}
	body := f.Body
	// The stream gets a copy of the Headers sized at once, and the
	// connection's frame keeps its grown memory for the next request.
	hdrs := f.Headers
	st.req = *f
	st.req.Body = nil
	st.req.Headers = protocol.Headers{}
	st.req.Headers.CopyFrom(&hdrs)
	sc.mu.Lock()
	if sc.closed {
		sc.mu.Unlock()
		return false
	}
	sc.streams[st] = struct{}{}
	if len(sc.streams) >= MaxInFlight && !sc.paused {
		sc.paused, paused = true, true
		sc.conn.SetReadDisable(true)
	}
	sc.mu.Unlock()
	st.receiver = sc.handler.NewStream(st)
	if len(body) == 0 {
		st.receiver.OnHeaders(&st.req.Headers, true)
	} else {
		st.receiver.OnHeaders(&st.req.Headers, false)
		st.receiver.OnData(body, true)
	}
	if t := st.req.Timeout; t > 0 && !st.oneway {
		st.mu.Lock()
		if !st.ended {
			st.timer = time.AfterFunc(time.Duration(t)*time.Millisecond, st.expire)
		}
		st.mu.Unlock()
	}
	return paused
}

// done removes st and reports whether it was still open.
func (sc *ServerConn) done(st *ServerStream) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if _, ok := sc.streams[st]; !ok {
		return false
	}
	delete(sc.streams, st)
	if sc.paused && len(sc.streams) <= MaxInFlight/2 {
		sc.paused = false
		sc.conn.SetReadDisable(false)
	}
	return true
}

// closeIfDrained closes the connection, after what is queued, when it is
// draining and has nothing left in flight. Call it after writing an answer.
func (sc *ServerConn) closeIfDrained() {
	sc.mu.Lock()
	idle := sc.draining && len(sc.streams) == 0
	sc.mu.Unlock()
	if idle {
		sc.conn.Close(network.CloseFlush)
	}
}

// OnEvent implements network.EventListener: a close resets every
// unanswered request.
func (sc *ServerConn) OnEvent(_ *network.Conn, e network.Event) {
	if e == network.EventDrain {
		// bolt and Dubbo cannot announce it: finish what is in flight,
		// then close, which their clients take as a cue to reconnect.
		sc.mu.Lock()
		sc.draining = true
		idle := len(sc.streams) == 0
		sc.mu.Unlock()
		if idle {
			sc.conn.Close(network.CloseFlush)
		}
		return
	}
	if !e.IsClose() {
		return
	}
	sc.mu.Lock()
	sc.closed = true
	streams := sc.streams
	sc.streams = map[*ServerStream]struct{}{}
	sc.mu.Unlock()
	for st := range streams {
		st.receiver.OnReset(stream.ResetConnectionClosed)
	}
}

// ServerStream is one request on a ServerConn and the sender of its
// response. The proxy calls its methods one at a time.
type ServerStream struct {
	sc       *ServerConn
	req      rpc.Frame // the request; Body is nil once delivered
	receiver stream.Receiver
	oneway   bool

	resp     protocol.Headers // the response head, copied by SendHeaders
	started  bool
	finished bool
	body     *network.Buffer

	mu    sync.Mutex // guards timer and ended against expire
	timer *time.Timer
	ended bool
}

// Conn is the downstream connection.
func (st *ServerStream) Conn() *network.Conn { return st.sc.conn }

// Request is the decoded request frame (its Body is no longer available).
func (st *ServerStream) Request() *rpc.Frame { return &st.req }

// SetWatermarks implements stream.ServerStream; responses are sent whole,
// so there is nothing to pause.
func (st *ServerStream) SetWatermarks(stream.Watermarks) {}

// ReadDisable pauses or resumes reading the downstream connection.
func (st *ServerStream) ReadDisable(disable bool) { st.sc.conn.SetReadDisable(disable) }

// Flush implements stream.ServerStream: the response goes out whole when
// it ends.
func (st *ServerStream) Flush() {}

// SendHeaders takes the response head; it is encoded when the response ends.
func (st *ServerStream) SendHeaders(h *protocol.Headers, endStream bool) error {
	st.resp.CopyFrom(h)
	st.started = true
	if endStream {
		return st.finish()
	}
	return nil
}

// SendData gathers the response body.
func (st *ServerStream) SendData(data *network.Buffer, endStream bool) error {
	if st.finished {
		if data != nil {
			data.Release()
		}
		return nil
	}
	if appendBody(&st.body, data, st.sc.limits.OrDefault().MaxFrameBytes) {
		// A response from another protocol larger than one frame may be.
		st.body.Release()
		st.body = network.GetBuffer(32)
		st.body.AppendString("response too large")
		st.resp.Reset()
		st.resp.AddString(protocol.Status, "500")
		st.finish()
		return rpc.ErrTooLarge
	}
	if endStream {
		return st.finish()
	}
	return nil
}

// appendBody gathers data (taking over its reference; nil adds nothing)
// into *body, an RPC message being one frame, and reports whether the body
// has grown past limit.
func appendBody(body **network.Buffer, data *network.Buffer, limit int) (tooLarge bool) {
	switch {
	case data == nil:
	case *body == nil:
		*body = data
	default:
		(*body).Append(data.Bytes())
		data.Release()
	}
	return *body != nil && (*body).Len() > limit
}

// SendTrailers ends the response; RPC protocols carry no trailers.
func (st *ServerStream) SendTrailers(*protocol.Headers) error { return st.finish() }

func (st *ServerStream) finish() error {
	st.finished = true
	st.stopTimer()
	body := st.body
	st.body = nil
	if !st.sc.done(st) || st.oneway {
		if body != nil {
			body.Release()
		}
		st.sc.closeIfDrained()
		return nil
	}
	err := st.sc.conn.Write(st.sc.codec.EncodeResponse(&st.req, &st.resp, body)...)
	st.sc.closeIfDrained()
	return err
}

func (st *ServerStream) stopTimer() {
	st.mu.Lock()
	st.ended = true
	if st.timer != nil {
		st.timer.Stop()
	}
	st.mu.Unlock()
}

// expire answers a request still unanswered when the timeout it carried
// has passed: the caller has given up by now, and nothing the proxy holds
// for it should outlive that (a route without a timeout would otherwise
// keep the request of an upstream that never answers for ever). The
// caller gets TIMEOUT (Dubbo: SERVER_TIMEOUT) and the proxy a reset.
func (st *ServerStream) expire() {
	if !st.sc.done(st) {
		return
	}
	var h protocol.Headers
	h.AddString(protocol.Status, "504")
	body := network.GetBuffer(32)
	body.AppendString("request timeout passed at the proxy")
	st.sc.conn.Write(st.sc.codec.EncodeResponse(&st.req, &h, body)...)
	st.sc.closeIfDrained()
	st.receiver.OnReset(stream.ResetLocal)
}

// Reset answers a response that broke off with an upstream-closed error,
// so the caller is not left waiting.
func (st *ServerStream) Reset() {
	if st.body != nil {
		st.body.Release()
		st.body = nil
	}
	st.resp.Reset()
	st.resp.AddString(protocol.Status, "502")
	body := network.GetBuffer(32)
	body.AppendString("upstream response reset")
	st.body = body
	st.finish()
}
