// Package auto is the stream protocol "Auto": it reads a downstream
// connection's first bytes, decides which registered protocol they start,
// and hands the connection to that protocol's Serve, which finds the same
// bytes waiting (network.Conn.AddReadFilter from OnData). A
// comma-separated downstream_protocol ("Http1,Http2") is the same
// detection narrowed to the protocols listed (stream.Lookup, Among).
//
// Layer: stream. It imports stream and network; the protocols it detects
// are looked up in the stream registry by name when a connection arrives,
// so it depends on none of them at compile time.
//
// # Detection order
//
// The matchers run in this fixed order, and the first that matches wins:
//
//  1. HTTP/2: the client preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" ("Http2")
//  2. bolt: first byte 0x01 (v1) or 0x02 (v2) ("bolt")
//  3. Dubbo: magic 0xda 0xbb ("dubbo")
//  4. HTTP/1.x: a method token and a space: GET, HEAD, POST, PUT, DELETE,
//     CONNECT, OPTIONS, TRACE, PATCH ("Http1")
//
// While the bytes so far are a proper prefix of what some matcher wants
// ("P", "PO", "PRI * HT", a lone 0xda) and none has matched, detection
// waits for more. When none can match, or the peer finishes undecided,
// the connection is closed, counted in Stats and logged with its first
// bytes. A protocol that is not registered in this build (Http2 without
// its package) is skipped, as if its matcher had said no.
package auto
