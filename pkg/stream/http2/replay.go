package http2

import (
	"sync"
	"sync/atomic"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// Replay of unprocessed requests. A request the upstream certainly did
// not process (above a GOAWAY's last stream id, refused with
// REFUSED_STREAM, or never sent before its connection closed) is sent
// again on another connection of the pool, invisibly to the proxy, when
// the stream still holds all of it: the head, and a body of at most
// replayLimit bytes. The proxy streams bodies rather than keep them, so
// without this a request with a body (every gRPC call) would fail when
// its upstream goes away gracefully.

const (
	// replayLimit is the most request body a client stream keeps for a
	// replay.
	replayLimit = 64 << 10
	// maxReplays bounds how often one request is sent again.
	maxReplays = 2
)

// replay is what a client stream keeps of its request. Its mutex orders
// the proxy's sends against a replay that moves the stream.
type replay struct {
	mu       sync.Mutex
	fwd      atomic.Pointer[Stream] // the stream now carrying the request
	off      bool                   // too much to keep, or a response began
	head     protocol.Headers
	headSent bool
	headEnd  bool
	body     *network.Buffer
	bodyEnd  bool
	trailers protocol.Headers
	hasTrail bool
	tries    int
}

// keepHead records the request head (client streams only). It reports the
// stream the call must go to instead, if the request has moved.
func (st *Stream) keepHead(h *protocol.Headers, end bool) *Stream {
	r := &st.replay
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.fwd.Load(); f != nil {
		return f
	}
	if !r.off {
		r.head.CopyFrom(h)
		r.headSent, r.headEnd = true, end
	}
	return nil
}

// keepData records body bytes while they fit replayLimit.
func (st *Stream) keepData(data *network.Buffer, end bool) *Stream {
	r := &st.replay
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.fwd.Load(); f != nil {
		return f
	}
	if r.off {
		return nil
	}
	have := 0
	if r.body != nil {
		have = r.body.Len()
	}
	if have+data.Len() > replayLimit {
		r.stop()
		return nil
	}
	if data.Len() > 0 {
		if r.body == nil {
			r.body = network.GetBuffer(data.Len())
		}
		r.body.Append(data.Bytes())
	}
	r.bodyEnd = end
	return nil
}

// keepTrailers records the request trailers.
func (st *Stream) keepTrailers(t *protocol.Headers) *Stream {
	r := &st.replay
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.fwd.Load(); f != nil {
		return f
	}
	if !r.off {
		r.trailers.CopyFrom(t)
		r.hasTrail = true
	}
	return nil
}

// moved is the stream that now carries st's request, or nil.
func (st *Stream) moved() *Stream { return st.replay.fwd.Load() }

// stop gives up replaying. r.mu is held.
func (r *replay) stop() {
	r.off = true
	if r.body != nil {
		r.body.Release()
		r.body = nil
	}
}

// forget drops what a finished stream kept.
func (st *Stream) forget() {
	r := &st.replay
	r.mu.Lock()
	r.stop()
	r.mu.Unlock()
}

// resetUnprocessed delivers the reset of a stream this side has just
// removed, unless its request can be sent again elsewhere, which it then
// is. It runs without c.mu.
func (c *Conn) resetUnprocessed(st *Stream, reason stream.ResetReason) {
	if st.unprocessedNow() && c.pool != nil && c.replay(st) {
		return
	}
	st.receiver.OnReset(reason)
}

func (st *Stream) unprocessedNow() bool {
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	return st.unprocessed && !st.gotHead
}

// replay sends st's request again on another stream of the pool and makes
// st forward to it.
func (c *Conn) replay(st *Stream) bool {
	r := &st.replay
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.off || !r.headSent || r.tries >= maxReplays || r.fwd.Load() != nil {
		return false
	}
	cs, err := c.pool.NewStream(st.receiver)
	if err != nil {
		return false
	}
	ns := cs.(*Stream)
	r.tries++
	ns.replay.tries = r.tries
	// What the new stream sends it keeps too, so that it can move again.
	ns.SendHeaders(&r.head, r.headEnd)
	if r.body != nil || (r.bodyEnd && !r.headEnd) {
		n := 0
		if r.body != nil {
			n = r.body.Len()
		}
		b := network.GetBuffer(max(n, 1))
		if r.body != nil {
			b.Append(r.body.Bytes())
		}
		ns.SendData(b, r.bodyEnd)
	}
	if r.hasTrail {
		ns.SendTrailers(&r.trailers)
	}
	r.fwd.Store(ns)
	r.stop()
	return true
}
