// Package rpc is the part every multiplexed RPC codec shares (bolt, Dubbo):
// the Frame a codec decodes into, the Codec contract the stream layer drives,
// the x-mosn-* header names that carry frame fields through the
// protocol-neutral protocol.Headers, the mapping between HTTP statuses and
// locally generated replies, and a hessian2 string encoder for error bodies.
//
// Layer: protocol. It imports only the standard library, network (Buffer)
// and protocol (Headers). Codecs live in protocol/bolt and protocol/dubbo;
// the stream layer that multiplexes them is stream/rpc.
//
// # Decoding
//
// A codec decodes in place: Decode reads the frame at the front of the
// bytes a connection has read and slices its fields out of them, copying
// only the metadata it turns into Headers. It returns the frame's length,
// or ErrNeedMore when the bytes hold less than a whole frame (never a zero
// length with no error), or an error wrapping ErrCorrupt or ErrTooLarge when
// the bytes cannot be a frame within the Limits. The caller drains the
// length once it is done with the frame.
//
// # Headers carried across protocols
//
// Frame fields that are not metadata travel as x-mosn-* headers, so that a
// request decoded from bolt can be encoded as HTTP/2 by another stream
// layer and back into bolt by the next proxy (see the constants). Encoders
// read them back and never write them into a protocol's own header map.
//
//	x-mosn-request-id   the caller's request id (decimal); informational,
//	                    RPC encoders assign their own ids
//	x-mosn-timeout      the request's timeout in milliseconds
//	x-mosn-oneway       "1" when the caller expects no response
//	x-mosn-bolt-*       bolt fields: version, ver1, switch, codec, class, status
//	x-mosn-dubbo-*      Dubbo fields: serialization, status, event
//
// Responses carry :status, an HTTP status mapped from the protocol's own
// status (see the codecs), and the protocol's status itself, which wins
// when the response is encoded in that protocol again.
package rpc
