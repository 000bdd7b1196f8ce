// Package protocol is the codec layer: bytes to messages (headers, data,
// trailers) and back, with no sockets and no routing. It imports only
// network (for Buffer). One registry maps a protocol name (Http1, Http2,
// bolt, Dubbo, …) to its codec and to a matcher for Auto detection; each
// codec lives in protocol/<name>.
//
// Nothing is here yet: the codecs arrive with the HTTP/1.1 data path, and
// until then pkg/server reports the "proxy" network filter as not supported.
package protocol
