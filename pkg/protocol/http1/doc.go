// Package http1 is the HTTP/1.1 codec (RFC 9112): an incremental Decoder of
// requests or responses, and encoders that append heads and chunks to a
// network.Buffer.
//
// Layer: protocol, under stream. It imports only the standard library,
// network (Buffer) and protocol (Headers); it knows nothing of sockets,
// streams or routes.
//
// # The model: incremental, in place, on the read loop
//
// A connection's read loop hands each read's bytes to Decoder.Decode, which
// returns one Event per call:
//
//	            ┌──────── EventNeedMore (read more; nothing was drained) ─┐
//	            ▼                                                        │
//	Decode ─► EventHead ─► EventData … EventData ─► EventEnd ─► (next message)
//	          Head()        Data()                   Trailers()
//
// The decoder parses the bytes where they lie in the connection's buffer,
// never copying them to a buffer of its own. A head is parsed line by line
// as its lines arrive and copied once, into the decoder's reused
// protocol.Headers (names lower-cased, pseudo-headers :method, :path,
// :status), so a keep-alive connection decodes a typical request without
// allocating. A partial head is left in the buffer, and the next call
// resumes after the lines already parsed instead of rescanning them. Body
// bytes are not gathered: each EventData is whatever the buffer holds of the
// body now, a slice of the buffer itself, with chunk framing removed.
//
// # Why not fasthttp's parser
//
// fasthttp parses a head that is whole inside a bufio.Reader it owns, and
// keeps the result in its own per-request header types. Here the bytes live
// in the connection's pooled network.Buffer and arrive on its read loop in
// whatever pieces the socket delivers: the parser must stop at any byte and
// resume later, must not own the reader, and must hand the layer above a
// protocol.Headers, which every protocol shares. Adapting fasthttp would mean
// a copy into its reader per message and a conversion of its headers per
// request, the very costs this path is built to avoid.
//
// # Strictness
//
// A proxy that parses a message differently from the peer behind it can be
// made to see two messages where the peer sees one (request smuggling).
// This decoder therefore rejects, rather than repairs, everything that is
// ambiguous: lines not ended by CRLF (bare LF, bare CR), obs-fold,
// whitespace before a field's colon, control characters in values,
// Content-Length with Transfer-Encoding, conflicting or malformed
// Content-Length, any transfer coding but chunked, malformed chunk sizes and
// extensions, and chunk data not followed by CRLF. A request error carries
// the status to answer with (*Error); a response error always carries 502.
// Either way the connection is closed after it.
//
// Upgrades (101) and CONNECT tunnels are not supported: the response decoder
// reports their head and end, then fails.
package http1
