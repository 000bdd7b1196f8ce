package l7

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/accesslog"
	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	codec "github.com/sidecar-mesh/mosn/pkg/protocol/http1"
	"github.com/sidecar-mesh/mosn/pkg/router"
	"github.com/sidecar-mesh/mosn/pkg/stream"
	"github.com/sidecar-mesh/mosn/pkg/upstream"
)

// phase is where a request is in its life; each method below moves it on.
type phase uint8

const (
	phaseReceive  phase = iota // request head arriving
	phaseUpstream              // sent upstream, awaiting the response head
	phaseRespond               // response head sent downstream, body flowing
	phaseDone                  // logged; nothing more happens
)

// Response flags, as MOSN and Envoy write them in access logs.
const (
	flagNoRoute         = "NR"
	flagNoHealthyHost   = "UH"
	flagConnectFailure  = "UF"
	flagUpstreamReset   = "UC"
	flagOverflow        = "UO"
	flagUpstreamTimeout = "UT"
	flagDownstreamClose = "DC"
	flagNoCluster       = "NC"
	flagFault           = "FI"
	flagRetryOverflow   = "URX"
)

// request is one downstream request and everything the proxy keeps for it.
type request struct {
	f    *Filter
	down stream.ServerStream
	conn *handler // the downstream connection's

	downstream downReceiver // the request's receiver, given to the stream layer
	mu         sync.Mutex
	phase      phase

	start time.Time
	// headers is the request as the downstream decoder produced it, edited
	// in place into what goes upstream. The decoder keeps it untouched until
	// the next request on the connection, which HTTP/1.1 serving does not
	// start before this one is answered.
	headers  *protocol.Headers
	route    *router.Route
	cluster  *upstream.Cluster
	reqEnd   bool // the downstream request has been received whole
	bodySent bool // request body bytes went upstream: no retry after that
	tries    int
	cur      *attempt // the upstream attempt in flight
	lastHost *upstream.Host
	flow     flow
	admitted bool // counted against the cluster's max_requests

	timeout  *time.Timer       // the route's overall timeout
	response *protocol.Headers // what went downstream: the upstream's head, or local
	local    protocol.Headers  // a reply made by the proxy
	status   int
	flags    string
	bytesIn  int64
	bytesOut int64
	respAt   time.Duration
	reqAt    time.Duration
}

func newRequest(h *handler, down stream.ServerStream) *request {
	r := &request{f: h.f, conn: h, down: down, start: time.Now()}
	r.downstream.r = r
	r.flow.down = down
	r.countBegin()
	return r
}

// downReceiver receives the downstream request.
type downReceiver struct{ r *request }

func (d *downReceiver) OnHeaders(h *protocol.Headers, end bool) {
	r := d.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.headers = h
	r.reqEnd = end
	if end {
		r.reqAt = time.Since(r.start)
	}
	r.down.SetWatermarks(downWatermarks{r})
	r.receive()
}

func (d *downReceiver) OnData(p []byte, end bool) {
	r := d.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bytesIn += int64(len(p))
	if end {
		r.reqEnd = true
		r.reqAt = time.Since(r.start)
	}
	if r.cur == nil || r.phase == phaseDone {
		return // answered locally: the body goes nowhere
	}
	b := network.GetBuffer(len(p))
	b.Append(p)
	if len(p) > 0 {
		r.bodySent = true
	}
	r.cur.sender.SendData(b, end)
}

func (d *downReceiver) OnTrailers(t *protocol.Headers) {
	r := d.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqEnd = true
	r.reqAt = time.Since(r.start)
	if r.cur != nil && r.phase != phaseDone {
		r.cur.sender.SendTrailers(t)
	}
}

func (d *downReceiver) OnReset(stream.ResetReason) {
	r := d.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.phase == phaseDone {
		return
	}
	r.countAbandon(false)
	r.cancelAttempt()
	r.flags = flagDownstreamClose
	r.finish()
}

// downWatermarks pauses the upstream while the client reads slowly. It may
// come from inside SendData, with r.mu held: it takes only the flow's lock.
type downWatermarks struct{ r *request }

func (w downWatermarks) OnWriteBufferHigh(high bool) { w.r.flow.downstreamBackedUp(high) }

// receive runs the stream filters and routes the request.
func (r *request) receive() {
	for _, sf := range r.f.filters {
		if status, body := sf.OnRequest(r.headers); status != 0 {
			r.flags = flagFault
			r.localReply(status, body)
			return
		}
	}
	r.route = r.f.table.Match(r.headers)
	if r.route == nil {
		r.flags = flagNoRoute
		host, _ := r.headers.Get("host")
		path, _ := r.headers.Get(protocol.Path)
		r.localReply(404, "no route for host "+string(host)+" path "+string(path))
		return
	}
	if status, body, ok := r.route.DirectResponse(); ok {
		r.local.Reset()
		r.reply(status, body) // the configured body, byte for byte
		return
	}
	if status, location, ok := r.route.Redirect(r.headers); ok {
		r.local.Reset()
		r.local.AddString("location", location)
		r.localReplyHeaders(status, "")
		return
	}
	name := r.route.PickCluster(r.headers)
	if r.cluster = r.f.clusters.Get(name); r.cluster == nil {
		r.flags = flagNoCluster
		r.localReply(503, "cluster "+name+" not found")
		return
	}
	r.prepareUpstreamHeaders()
	if d := r.requestTimeout(); d > 0 {
		r.timeout = time.AfterFunc(d, r.onTimeout)
	}
	r.tryUpstream()
}

// prepareUpstreamHeaders turns the downstream request into the upstream one.
func (r *request) prepareUpstreamHeaders() {
	h := r.headers
	if r.conn.http { // not into an RPC protocol's header map
		codec.RemoveHopByHop(h)
		if ip := r.conn.clientIP; ip != "" {
			appendForwardedFor(h, ip)
		}
		if !h.Has("x-forwarded-proto") {
			h.AddString("x-forwarded-proto", "http")
		}
	}
	r.route.RewriteRequest(h)
}

// appendForwardedFor adds the client to X-Forwarded-For. Several fields
// are one list (RFC 9110, 5.3): they are joined, every hop kept.
func appendForwardedFor(h *protocol.Headers, ip string) {
	var list []byte
	h.Range(func(n, v []byte) bool {
		if string(n) == "x-forwarded-for" {
			list = append(append(list, v...), ", "...)
		}
		return true
	})
	if list == nil {
		h.AddString("x-forwarded-for", ip)
		return
	}
	h.Set("x-forwarded-for", string(list)+ip)
}

// tryUpstream makes one attempt: choose a host, take a stream from its pool,
// send the head.
func (r *request) tryUpstream() {
	r.tries++
	if r.tries == 1 {
		if !r.cluster.AcquireRequest() {
			r.flags = flagOverflow
			r.localReply(503, "upstream overflow: cluster "+r.cluster.Name()+" at max_requests")
			return
		}
		r.admitted = true
	} else if !r.cluster.AcquireRetry() {
		r.flags = flagRetryOverflow
		r.localReply(503, "upstream overflow: cluster "+r.cluster.Name()+" at max_retries")
		return
	}
	a := &attempt{r: r, retry: r.tries > 1}
	host, sender, err := r.openStream(a)
	if err != nil {
		a.release()
		if errors.Is(err, upstream.ErrNoHealthyHost) || errors.Is(err, stream.ErrPoolClosed) {
			r.flags = flagNoHealthyHost
			r.localReply(503, "no healthy host in cluster "+r.cluster.Name())
			return
		}
		r.flags = flagOverflow
		r.localReply(503, "upstream overflow: "+err.Error())
		return
	}
	a.host = host
	// An HTTP/1.0 client need not send Host; HTTP/1.1 and HTTP/2
	// upstreams must get one.
	if r.route.AutoHostRewrite() || !r.headers.Has("host") && !r.headers.Has(protocol.Authority) {
		r.headers.Set("host", host.Address)
	}
	a.sender = sender
	r.flow.attach(sender)
	a.countSent()
	host.Stats().RequestActive.Add(1)
	r.lastHost = host
	r.cur = a
	r.phase = phaseUpstream
	if d := r.route.PerTryTimeout(); d > 0 {
		a.timer = time.AfterFunc(d, a.onTimeout)
	}
	// SendHeaders may add framing (transfer-encoding: chunked); that stays
	// right for a retry of the same request.
	a.sender.SendHeaders(r.headers, r.reqEnd)
}

// openStream chooses a host and takes a stream from its pool. A host that
// left the cluster after it was chosen (its pool closed) is chosen around,
// a few times, so replacing a cluster's hosts fails no request.
func (r *request) openStream(a *attempt) (*upstream.Host, stream.ClientStream, error) {
	const picks = 3
	up, newPool := r.f.upstreamFor(r.route)
	var err error
	for range picks {
		host := r.cluster.ChooseHost()
		if host == nil {
			return nil, nil, upstream.ErrNoHealthyHost
		}
		var s stream.ClientStream
		if s, err = host.Pool(up.Name, newPool).NewStream(a); !errors.Is(err, stream.ErrPoolClosed) {
			return host, s, err
		}
	}
	return nil, nil, err
}

// cancelAttempt abandons the attempt in flight, closing its connection.
func (r *request) cancelAttempt() {
	a := r.cur
	if a == nil {
		return
	}
	r.cur = nil
	a.end()
	a.sender.Reset()
}

// retry reports whether another attempt may be made after a failure: the
// route allows retries and has some left, and no request body has gone
// upstream (bodies are streamed, not kept).
func (r *request) retry(reusedAndEmpty bool) bool {
	if r.bodySent {
		return false
	}
	if reusedAndEmpty && r.tries == 1 {
		// The server closed an idle keep-alive connection as we reused it:
		// nothing reached it, so one more try is always safe.
		return true
	}
	on, n := r.route.Retries()
	return on && r.tries <= n
}

// onTimeout fires when the route's timeout passes.
func (r *request) onTimeout() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.phase == phaseDone {
		return
	}
	r.flags = flagUpstreamTimeout
	r.countAbandon(true)
	r.cancelAttempt()
	if r.phase == phaseRespond {
		r.down.Reset()
		r.finish()
		return
	}
	r.localReply(504, "upstream request timeout")
}

// localReply answers the request from the proxy with a plain-text body.
func (r *request) localReply(status int, body string) {
	r.local.Reset()
	r.localReplyHeaders(status, body)
}

func (r *request) localReplyHeaders(status int, body string) {
	if body != "" {
		body += "\n"
	}
	r.reply(status, body)
}

// reply sends r.local with status and body as the response.
func (r *request) reply(status int, body string) {
	if r.isGRPC() {
		r.grpcReply(status, body)
		return
	}
	if body != "" {
		r.local.AddString("content-type", "text/plain; charset=utf-8")
	}
	r.local.AddString(protocol.Status, strconv.Itoa(status))
	r.local.AddString("content-length", strconv.Itoa(len(body)))
	r.response = &r.local
	r.status = status
	r.phase = phaseRespond
	if body == "" {
		r.down.SendHeaders(r.response, true)
	} else {
		r.down.SendHeaders(r.response, false)
		b := network.GetBuffer(len(body))
		b.AppendString(body)
		r.bytesOut += int64(len(body))
		r.down.SendData(b, true)
	}
	r.finish()
}

// finish ends the request: timers stopped, host released, access logged.
func (r *request) finish() {
	if r.phase == phaseDone {
		return
	}
	r.phase = phaseDone
	if r.timeout != nil {
		r.timeout.Stop()
	}
	if a := r.cur; a != nil {
		r.cur = nil
		a.countDone()
		a.end()
	}
	if r.admitted {
		r.admitted = false
		r.cluster.ReleaseRequest()
	}
	r.flow.release()
	r.countEnd()
	r.writeAccessLog()
}

func (r *request) writeAccessLog() {
	if len(r.f.logs) == 0 {
		return
	}
	e := accesslog.Entry{
		StartTime:        r.start,
		RequestReceived:  r.reqAt,
		ResponseReceived: r.respAt,
		Duration:         time.Since(r.start),
		BytesReceived:    r.bytesIn,
		BytesSent:        r.bytesOut,
		Protocol:         r.f.down.Name,
		ResponseCode:     r.status,
		ResponseFlags:    r.flags,
		RequestHeaders:   r.headers,
		ResponseHeaders:  r.response,
	}
	if r.cluster != nil {
		e.UpstreamCluster = r.cluster.Name()
	}
	e.DownstreamLocalAddr, e.DownstreamRemoteAddr = r.conn.localAddr, r.conn.remoteAddr
	if r.lastHost != nil {
		e.UpstreamHost = r.lastHost.Address
	}
	for _, l := range r.f.logs {
		l.Log(&e)
	}
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
