// Package rpc is the stream layer of the multiplexed RPC protocols, bolt
// (names "bolt", "SofaRpc"; "boltv2" sends v2 with CRC upstream) and Dubbo
// ("dubbo"), registered from init. One request and its response is a
// stream; many are in flight on one connection at once, told apart by
// request id.
//
// Layer: stream. It imports stream, protocol, protocol/rpc and the codecs
// protocol/bolt and protocol/dubbo.
//
//	downstream conn ─► ServerConn ─► ServerStream ─► (l7 proxy) ─► Pool ─► clientConn ─► upstream conn
//	  heartbeats answered here                      ids rewritten here, restored on the way back
//
// # Server side
//
// ServerConn decodes frames in place on the connection's read goroutine.
// A heartbeat is answered at once, in the version of the request, and goes
// no further. A request becomes a ServerStream; its Headers (package
// protocol/rpc describes them) are the stream's own, valid for as long as
// the proxy holds the stream, and its body is handed over in one OnData.
// The response is gathered until it ends and then encoded, from whatever
// protocol's Headers it came with, in one write: so a local reply (:status
// 404, 502, 503, 504) becomes the protocol's own status (see the codecs'
// tables), and a response that breaks off (Reset) still gets an answer,
// CONNECTION_CLOSED or SERVER_ERROR. A request still unanswered when the
// timeout it carries (bolt's timeout field, Dubbo's timeout attachment)
// has passed is answered TIMEOUT (SERVER_TIMEOUT) and reset towards the
// proxy, so that nothing is held for a caller that has given up, whatever
// the route's timeout. Oneway requests get no response. At MaxInFlight
// unanswered requests a connection's reading pauses until half are
// answered. A corrupt or oversized frame, or a connection that ends in the
// middle of one, closes the connection; Stats counts them and a warning is
// logged.
// When the listener drains (network.EventDrain), a connection closes as
// soon as nothing is in flight on it: neither protocol can announce a
// shutdown, and their clients reconnect elsewhere on a close.
//
// # Client side
//
// Pool keeps up to Config.Conns multiplexed connections per host (1 by
// default: every downstream connection's requests share it), dialed when
// first needed and again after one fails. Each request gets a fresh id
// from its connection's counter; the response with that id goes back to
// the request's receiver, whatever id the caller used. A connection that
// has read nothing for Config.HeartbeatInterval sends a heartbeat and
// closes if Config.HeartbeatTimeout passes without an answer. A connection that
// has carried MaxRequestsPerConn requests takes no more and closes when its
// last answer arrives. Reset forgets a request (a late answer is dropped)
// without disturbing the others; ReadDisable does nothing, since pausing a
// shared connection would stall every caller on it. The pools the registry
// makes use the default Config (the config schema has no place for it yet).
//
// A body that comes from another protocol (an HTTP upload, an HTTP answer)
// is gathered whole, since bolt and Dubbo frames state their length first,
// and bounded by the frame limit.
package rpc
