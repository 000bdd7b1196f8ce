package metrics

import "sync/atomic"

// Downstream counts one listener's requests, whatever their protocol. MOSN's
// metric names (prefix mosn_downstream_, label listener) are in the
// comments. The zero value is ready to use; safe for concurrent use.
type Downstream struct {
	RequestTotal  atomic.Int64 // request_total: requests begun
	RequestActive atomic.Int64 // request_active: requests begun and not yet ended
	// RequestReset counts requests the client abandoned (closed or reset the
	// connection) before their response was complete: request_reset.
	RequestReset atomic.Int64
	// RequestFailed counts requests that ended with a 5xx response, or
	// failed on the proxy's side whatever the status says (a gRPC local
	// reply is HTTP 200), or were cut short by the upstream or a timeout:
	// request_failed.
	RequestFailed atomic.Int64
	// RequestTime is the time from the first byte of the request to the
	// end of the response: request_time.
	RequestTime Histogram
}

// Begin counts a request that has begun.
func (d *Downstream) Begin() {
	d.RequestTotal.Add(1)
	d.RequestActive.Add(1)
}

// Requests count upstream requests (each try to a host is one) by outcome,
// for a cluster or a host. MOSN's metric names (prefix mosn_upstream_) are
// in the comments. The zero value is ready to use; safe for concurrent use.
type Requests struct {
	Total       atomic.Int64 // request_total: tries sent to a host
	Retry       atomic.Int64 // request_retry: tries after the first
	Timeout     atomic.Int64 // request_timeout: tries ended by a timeout
	LocalReset  atomic.Int64 // request_local_reset: tries the proxy abandoned (timeout, client gone, retry)
	RemoteReset atomic.Int64 // request_remote_reset: tries the upstream connection ended (reset, close, connect failure)
	// ResponseSuccess counts tries answered with a status below 500:
	// response_success.
	ResponseSuccess atomic.Int64
	// ResponseFailed counts tries that did not end in a successful response:
	// a 5xx, a reset, a connect failure or a timeout: response_failed.
	ResponseFailed atomic.Int64
}
