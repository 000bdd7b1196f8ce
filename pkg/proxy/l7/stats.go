package l7

import (
	"time"

	"github.com/sidecar-mesh/mosn/pkg/metrics"
)

// Counting of requests into the listener's metrics.Downstream and the
// cluster's and host's metrics.Requests: atomic adds only, no lock beyond
// r.mu (held by every caller), no allocation. A filter built without stats
// (Deps.Stats nil) counts nothing; that is what benchmarks compare against.

// countBegin counts a request that has begun.
func (r *request) countBegin() {
	if s := r.f.stats; s != nil {
		s.Begin()
	}
}

// countEnd counts a request that has ended, from its status and flags.
func (r *request) countEnd() {
	s := r.f.stats
	if s == nil {
		return
	}
	s.RequestActive.Add(-1)
	s.RequestTime.Observe(time.Since(r.start))
	switch {
	case r.flags == flagDownstreamClose:
		s.RequestReset.Add(1)
	case r.status >= 500, proxyFailure(r.flags):
		// A gRPC local reply carries its failure in grpc-status under
		// HTTP 200; its response flag still names it.
		s.RequestFailed.Add(1)
	}
}

// proxyFailure reports whether a response flag names a failure on the
// proxy's side of the request (not the client's, such as no route).
func proxyFailure(flags string) bool {
	switch flags {
	case flagConnectFailure, flagUpstreamReset, flagUpstreamTimeout, flagNoHealthyHost,
		flagOverflow, flagRetryOverflow, flagNoCluster:
		return true
	}
	return false
}

// both applies add to the request counters of a's cluster and host.
func (a *attempt) both(add func(*metrics.Requests)) {
	add(&a.r.cluster.Stats().Requests)
	add(&a.host.Stats().Requests)
}

// countSent counts a try sent upstream, and notes when.
func (a *attempt) countSent() {
	if a.r.f.stats == nil {
		return
	}
	a.sentAt = time.Now()
	cs, hs := &a.r.cluster.Stats().Requests, &a.host.Stats().Requests
	cs.Total.Add(1)
	hs.Total.Add(1)
	if a.retry {
		cs.Retry.Add(1)
		hs.Retry.Add(1)
	}
}

// countResponse counts the response head of a try.
func (a *attempt) countResponse(status int) {
	if a.r.f.stats == nil {
		return
	}
	if status >= 500 {
		a.both(failed)
		return
	}
	a.both(succeeded)
}

// countDone records the duration of a try that ends with its request.
func (a *attempt) countDone() {
	if a.r.f.stats == nil || a.sentAt.IsZero() {
		return
	}
	a.r.cluster.Stats().RequestDuration.Observe(time.Since(a.sentAt))
}

// countRemoteReset counts a try the upstream connection ended.
func (a *attempt) countRemoteReset() {
	if a.r.f.stats == nil {
		return
	}
	a.both(remoteReset)
	if a.r.phase != phaseRespond {
		a.both(failed) // no response head came
	}
}

// countAbandon counts the try in flight, if any, as abandoned by the proxy
// (timeout true: because a timeout passed).
func (r *request) countAbandon(timeout bool) {
	a := r.cur
	if a == nil || r.f.stats == nil {
		return
	}
	a.both(localReset)
	if timeout {
		a.both(timedOut)
	}
	if r.phase == phaseUpstream {
		a.both(failed)
	}
}

// The outcomes, as functions that allocate nothing when passed.
func failed(q *metrics.Requests)      { q.ResponseFailed.Add(1) }
func succeeded(q *metrics.Requests)   { q.ResponseSuccess.Add(1) }
func remoteReset(q *metrics.Requests) { q.RemoteReset.Add(1) }
func localReset(q *metrics.Requests)  { q.LocalReset.Add(1) }
func timedOut(q *metrics.Requests)    { q.Timeout.Add(1) }
