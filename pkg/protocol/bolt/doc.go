// Package bolt is the codec of SOFARPC's bolt protocol, versions 1 and 2
// (../../../../shared/specs/rpc-wire-formats.md §3.1–3.6): requests, oneway
// requests, responses and heartbeats, decoded in place into rpc.Frame and
// encoded from any protocol's protocol.Headers.
//
// Layer: protocol. It imports network, protocol and protocol/rpc.
//
// # Frames and headers
//
// A request's header map becomes Headers as it is (names lower-cased, as
// Headers stores them; the encoder restores the case of the well-known
// mixed-case SOFA keys such as rpc_trace_context.sofaTraceId), plus
//
//	:method POST, :path /        so that HTTP encoders get a request line
//	content-length               the content's length
//	x-mosn-request-id            the caller's id
//	x-mosn-timeout               the timeout field, in milliseconds
//	x-mosn-oneway                "1" for oneway requests
//	x-mosn-bolt-version          1 or 2 (the proto byte)
//	x-mosn-bolt-ver1, -switch    bolt v2's ver1 and switch bytes
//	x-mosn-bolt-codec            the serializer (1 hessian2, 11 protobuf)
//	x-mosn-bolt-class            the class name
//
// and a response's, plus :status and x-mosn-bolt-status. Header map keys
// that would collide with these (":…", "x-mosn-…", HTTP framing fields)
// are dropped on decode and never written on encode.
//
// # Status mapping
//
//	bolt status                                   HTTP
//	SUCCESS 0                                     200
//	NO_PROCESSOR 6                                404 (no route)
//	SERVER_THREADPOOL_BUSY 4                      503 (no healthy host, overflow)
//	TIMEOUT 7                                     504 (upstream timeout)
//	CONNECTION_CLOSED 16, ERROR_COMM 5,
//	CLIENT_SEND_ERROR 8                           502 (upstream closed or unreachable)
//	CODEC_EXCEPTION 9, SERVER_DESERIAL_EXCEPTION 18  400
//	anything else                                 500
//
// Encoding a response, x-mosn-bolt-status wins when present (a bolt
// upstream's own status goes back unchanged); otherwise :status is mapped
// back along the same table (other 4xx and 5xx become SERVER_EXCEPTION),
// and a failed response that did not come from bolt (a proxy's local
// reply, an HTTP error page) carries its text as an RpcServerException only
// to a caller whose request content was in the hessian draft dialect of
// sofa-bolt-node (an object opened with 'O'), and no content otherwise:
// bolt clients decode a failed response's content as an RpcServerException,
// which Java writes in hessian 2.0 and sofa-bolt-node in its draft, and an
// empty content makes either raise the error the status names.
//
// # Version 2 and CRC
//
// A v2 frame carries a CRC32 (IEEE) of every byte before it when ver1 is 2
// and bit 0 of switch is set, as the Java implementation decides; Decode
// checks it, and every encoder computes it afresh, so a rewritten request
// id is always covered. Responses and heartbeat acks are encoded in the
// version, ver1 and switch of their request. The "boltv2" codec sends every
// request as v2 with CRC; "bolt" keeps the version of the request it
// forwards (v1 for requests from other protocols).
package bolt
