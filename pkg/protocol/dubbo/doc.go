// Package dubbo is the codec of the Dubbo protocol
// (../../../../shared/specs/rpc-wire-formats.md §3.7–3.9): the 16-byte
// header, requests, oneway requests, responses, events and heartbeats,
// decoded in place into rpc.Frame.
//
// Layer: protocol. It imports network, protocol, protocol/rpc and
// github.com/apache/dubbo-go-hessian2.
//
// # Headers
//
// A hessian2 request body yields, as Headers:
//
//	service, method, version   the service path, method name and service version
//	group                      the group attachment, when there is one
//	every other attachment     whose value is a string (or a number, in decimal)
//	:method POST, :path /      so that HTTP encoders get a request line
//	content-length             the body's length
//	x-mosn-request-id          the caller's id
//	x-mosn-timeout             the timeout attachment, in milliseconds
//	x-mosn-oneway              "1" for a request that expects no reply
//	x-mosn-dubbo-serialization the serialization id (2 = hessian2)
//
// and a response, :status, x-mosn-dubbo-status and content-length. The
// first five values of the body are plain strings, read in place by a
// bounds-checking hessian2 skipper (skip.go), which also walks the
// arguments after them without building them, to reach the attachments;
// those dubbo-go-hessian2 decodes, once the skipper has vetted them (and only
// when they fit in Limits.MaxHeaderBytes, 64 KiB by default: what the
// decoder builds can be many times the bytes it reads). The body is
// forwarded as it came: Headers are a read-only view of it, and edits to
// them are not written back into the body.
//
// # Status mapping
//
//	Dubbo status                       HTTP
//	OK 20                              200
//	CLIENT_TIMEOUT 30, SERVER_TIMEOUT 31  504
//	BAD_REQUEST 40                     400
//	BAD_RESPONSE 50                    502
//	SERVICE_NOT_FOUND 60               404
//	SERVICE_ERROR 70, SERVER_ERROR 80, CLIENT_ERROR 90   500
//
// and back: 404 (no route) and 503 (no healthy host) become
// SERVICE_NOT_FOUND, 502 (upstream closed) SERVER_ERROR, 504 SERVER_TIMEOUT,
// 400 BAD_REQUEST, anything else failed SERVER_ERROR, with a body that is
// one hessian2 string, the error text. x-mosn-dubbo-status wins when
// present.
package dubbo
