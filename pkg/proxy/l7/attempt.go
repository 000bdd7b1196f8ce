package l7

import (
	"strconv"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	codec "github.com/sidecar-mesh/mosn/pkg/protocol/http1"
	"github.com/sidecar-mesh/mosn/pkg/stream"
	"github.com/sidecar-mesh/mosn/pkg/upstream"
)

// attempt is one try of a request upstream, and the receiver of its
// response. Events of an attempt that is no longer the request's current
// one are ignored, so a late event of an abandoned try changes nothing.
type attempt struct {
	r      *request
	host   *upstream.Host
	sender stream.ClientStream
	timer  *time.Timer // per-try timeout
	sentAt time.Time   // when the try was sent, if counted
	retry  bool        // a retry, counted against the cluster's max_retries
	ended  bool
}

// release gives back the retry budget of an attempt that never got going.
func (a *attempt) release() {
	if a.retry {
		a.retry = false
		a.r.cluster.ReleaseRetry()
	}
}

var (
	_ stream.Receiver   = (*attempt)(nil)
	_ stream.Flusher    = (*attempt)(nil)
	_ stream.Watermarks = (*attempt)(nil)
)

// end releases what the attempt holds: its timer, the host's request count,
// a pause of the upstream connection. r.mu is held.
func (a *attempt) end() {
	if a.ended {
		return
	}
	a.ended = true
	a.release()
	if a.timer != nil {
		a.timer.Stop()
	}
	a.host.Stats().RequestActive.Add(-1)
	a.r.flow.detach(a.sender)
}

// current reports whether a is still the request's attempt, locking r.mu
// when it is; the caller unlocks.
func (a *attempt) current() bool {
	a.r.mu.Lock()
	if a.r.cur == a && a.r.phase != phaseDone {
		return true
	}
	a.r.mu.Unlock()
	return false
}

// OnHeaders receives the response head: a 5xx may be retried; anything
// else is relayed downstream.
func (a *attempt) OnHeaders(h *protocol.Headers, end bool) {
	if !a.current() {
		return
	}
	r := a.r
	defer r.mu.Unlock()
	r.respAt = time.Since(r.start)
	status := 0
	if v, ok := h.Get(protocol.Status); ok {
		status, _ = strconv.Atoi(string(v))
	}
	a.countResponse(status)
	if status >= 500 && r.retry(false) {
		r.cancelAttempt()
		r.tryUpstream()
		return
	}
	r.status = status
	// The upstream decoder's head stays as it is until the connection's
	// next response, which cannot start before this one has been relayed.
	r.response = h
	codec.RemoveHopByHop(h)
	r.route.RewriteResponse(h)
	for _, sf := range r.f.filters {
		sf.OnResponse(h)
	}
	r.phase = phaseRespond
	r.down.SendHeaders(h, end)
	if end {
		r.finish()
	}
}

// OnData relays response body bytes.
func (a *attempt) OnData(p []byte, end bool) {
	if !a.current() {
		return
	}
	r := a.r
	defer r.mu.Unlock()
	r.bytesOut += int64(len(p))
	b := network.GetBuffer(len(p))
	b.Append(p)
	r.down.SendData(b, end)
	if end {
		r.finish()
	}
}

// OnTrailers relays response trailers, which end the response.
func (a *attempt) OnTrailers(t *protocol.Headers) {
	if !a.current() {
		return
	}
	r := a.r
	defer r.mu.Unlock()
	r.down.SendTrailers(t)
	r.finish()
}

// OnReset handles an upstream failure: before the response has started it
// is retried or answered with 502; after, the client connection is closed,
// as HTTP/1.1 has no other way to say the response is cut short.
func (a *attempt) OnReset(reason stream.ResetReason) {
	if !a.current() {
		return
	}
	r := a.r
	defer r.mu.Unlock()
	r.cur = nil
	a.end()
	a.countRemoteReset()
	if r.phase == phaseRespond {
		r.flags = flagUpstreamReset
		r.down.Reset()
		r.finish()
		return
	}
	if r.retry(a.sender.Unprocessed()) {
		r.tryUpstream()
		return
	}
	if reason == stream.ResetConnectFailure {
		r.flags = flagConnectFailure
		r.localReply(502, "upstream connect failure: "+a.host.Address)
		return
	}
	r.flags = flagUpstreamReset
	r.localReply(502, "upstream reset: "+reason.String())
}

// Flush sends a response head held back for the body now.
func (a *attempt) Flush() {
	if !a.current() {
		return
	}
	defer a.r.mu.Unlock()
	a.r.down.Flush()
}

// OnWriteBufferHigh pauses reading the client while the upstream connection
// backs up with its request body. It may come from inside SendData, with
// r.mu held: it takes only the flow's lock.
func (a *attempt) OnWriteBufferHigh(high bool) {
	a.r.flow.upstreamBackedUp(high)
}

// onTimeout fires when the per-try timeout passes: another try, or 504.
func (a *attempt) onTimeout() {
	if !a.current() {
		return
	}
	r := a.r
	defer r.mu.Unlock()
	if r.phase == phaseRespond {
		return // the response has started; only the route timeout applies now
	}
	r.countAbandon(true)
	r.cancelAttempt()
	if r.retry(false) {
		r.tryUpstream()
		return
	}
	r.flags = flagUpstreamTimeout
	r.localReply(504, "upstream per-try timeout")
}
