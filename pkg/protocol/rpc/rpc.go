package rpc

import (
	"errors"
	"unicode/utf8"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// Errors of Decode. ErrNeedMore is not a failure: read more and call again.
var (
	ErrNeedMore = errors.New("rpc: need more bytes")
	ErrCorrupt  = errors.New("rpc: corrupt frame")
	ErrTooLarge = errors.New("rpc: frame too large")
)

// Kind is what a frame is.
type Kind uint8

const (
	// KindRequest expects a response with the same id.
	KindRequest Kind = iota + 1
	// KindOneway is a request that gets no response.
	KindOneway
	// KindResponse answers a request.
	KindResponse
	// KindHeartbeat is a heartbeat request; the receiver answers it itself.
	KindHeartbeat
	// KindHeartbeatAck answers a heartbeat.
	KindHeartbeatAck
	// KindEvent is a protocol event that is not a heartbeat (Dubbo's
	// read-only event); it is consumed, not forwarded.
	KindEvent
)

var kindNames = [...]string{
	KindRequest:      "request",
	KindOneway:       "oneway",
	KindResponse:     "response",
	KindHeartbeat:    "heartbeat",
	KindHeartbeatAck: "heartbeat_ack",
	KindEvent:        "event",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// IsRequest reports whether k is a request that the proxy forwards.
func (k Kind) IsRequest() bool { return k == KindRequest || k == KindOneway }

// Frame is one decoded message. A codec fills it on Decode; Body is a slice
// of the decoded bytes and is valid only until the caller drains them.
type Frame struct {
	Kind Kind
	// ID is the request id (bolt's 32 bits or Dubbo's 64).
	ID uint64
	// Status is the protocol's own status code of a response.
	Status uint16
	// Version is the protocol version the frame came in (bolt 1 or 2;
	// 0 for Dubbo), so that replies go back in it.
	Version uint8
	// Ver1 and Switch are bolt v2's ver1 and switch bytes.
	Ver1, Switch uint8
	// Codec is the serializer id (bolt codec, Dubbo serialization).
	Codec uint8
	// Dialect is what a codec noticed of how a request's content is
	// serialized, for answers the proxy writes itself (bolt: which hessian
	// dialect the caller's library speaks); 0 when nothing was noticed.
	Dialect uint8
	// Timeout is a request's timeout in milliseconds, 0 when it has none.
	Timeout uint32
	// Headers are the frame's metadata and x-mosn-* fields (package doc).
	Headers protocol.Headers
	// Body is the content (bolt) or body (Dubbo), untouched.
	Body []byte
}

// Reset empties f for the next Decode, keeping its memory.
func (f *Frame) Reset() {
	h := f.Headers
	h.Reset()
	*f = Frame{Headers: h}
}

// Limits bound what a decoder accepts. Zero values mean the defaults.
type Limits struct {
	// MaxHeaderBytes bounds a frame's metadata (bolt class and header map).
	// Default 64 KiB.
	MaxHeaderBytes int
	// MaxFrameBytes bounds a whole frame. Default 16 MiB.
	MaxFrameBytes int
}

// Default limits.
const (
	DefaultMaxHeaderBytes = 64 << 10
	DefaultMaxFrameBytes  = 16 << 20
)

// OrDefault returns l with zero fields replaced by the defaults.
func (l Limits) OrDefault() Limits {
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxFrameBytes <= 0 {
		l.MaxFrameBytes = DefaultMaxFrameBytes
	}
	return l
}

// Codec is one RPC protocol's codec as the stream layer drives it. Its
// methods are safe for concurrent use (a Codec holds no per-connection
// state).
type Codec interface {
	// Name is the protocol's canonical name.
	Name() string
	// Decode decodes the frame at the front of p into f (which it resets)
	// and returns the frame's length. It returns ErrNeedMore when p holds
	// less than a whole frame, and an error wrapping ErrCorrupt or
	// ErrTooLarge when p cannot start a frame within l.
	Decode(p []byte, f *Frame, l Limits) (int, error)
	// EncodeRequest encodes a request with id from h and body (which it
	// takes over; nil means empty) and returns the buffers to write, in
	// order. h may come from any protocol's decoder.
	EncodeRequest(id uint64, h *protocol.Headers, body *network.Buffer) []*network.Buffer
	// EncodeResponse encodes the response to req (id, version and codec
	// come from it) from h, with its status from the protocol's own status
	// header or else from :status, and body (taken over; nil means empty).
	EncodeResponse(req *Frame, h *protocol.Headers, body *network.Buffer) []*network.Buffer
	// EncodeHeartbeat encodes a heartbeat request with id.
	EncodeHeartbeat(id uint64) *network.Buffer
	// EncodeHeartbeatAck encodes the answer to the heartbeat req.
	EncodeHeartbeatAck(req *Frame) *network.Buffer
	// MaxID is the largest request id the protocol carries.
	MaxID() uint64
}

// Header names that carry frame fields (package doc).
const (
	HeaderRequestID = "x-mosn-request-id"
	HeaderTimeout   = "x-mosn-timeout"
	HeaderOneway    = "x-mosn-oneway"
	// HeaderPrefix starts every header name above; encoders never write
	// such a header into a protocol's own header map.
	HeaderPrefix = "x-mosn-"
)

// Skipped reports whether a header must not be written into an RPC
// protocol's own header map: pseudo-headers, x-mosn-* fields, HTTP framing
// and hop-by-hop fields, which describe the HTTP message, not the call,
// and host, which HTTP hops add and an RPC call has no use for.
func Skipped(name []byte) bool {
	if len(name) == 0 || name[0] == ':' {
		return true
	}
	if len(name) > len(HeaderPrefix) && string(name[:len(HeaderPrefix)]) == HeaderPrefix {
		return true
	}
	switch string(name) {
	case "content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade", "proxy-connection", "host":
		return true
	}
	return false
}

// LocalReply is what a proxy-generated HTTP status means for an RPC caller
// (the statuses the l7 proxy sends: 404 no route, 502 upstream reset or
// connect failure, 503 no healthy host or overflow, 504 timeout).
type LocalReply uint8

const (
	ReplyOK LocalReply = iota
	ReplyNoRoute
	ReplyUpstreamClosed
	ReplyUnavailable
	ReplyTimeout
	ReplyBadRequest
	ReplyError
)

// ReplyFor classifies an HTTP status.
func ReplyFor(status int) LocalReply {
	switch {
	case status >= 200 && status < 300:
		return ReplyOK
	case status == 404:
		return ReplyNoRoute
	case status == 502:
		return ReplyUpstreamClosed
	case status == 503:
		return ReplyUnavailable
	case status == 504 || status == 408:
		return ReplyTimeout
	case status >= 400 && status < 500:
		return ReplyBadRequest
	}
	return ReplyError
}

// Status reads :status as a number; 200 when absent or malformed.
func Status(h *protocol.Headers) int {
	v, ok := h.Get(protocol.Status)
	if !ok {
		return 200
	}
	n, ok := ParseUint(v)
	if !ok || n < 100 || n > 999 {
		return 500
	}
	return int(n)
}

// ParseUint parses a decimal number of up to 19 digits.
func ParseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// HeaderUint reads a numeric header.
func HeaderUint(h *protocol.Headers, name string) (uint64, bool) {
	v, ok := h.Get(name)
	if !ok {
		return 0, false
	}
	return ParseUint(v)
}

// AppendUint appends n in decimal to b.
func AppendUint(b []byte, n uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// AddUint adds a numeric header without allocating.
func AddUint(h *protocol.Headers, name string, n uint64) {
	var tmp [20]byte
	h.Add([]byte(name), AppendUint(tmp[:0], n))
}

// AppendHessianString appends s as one hessian2 string (Hessian 2.0
// serialization, "string"): lengths count UTF-16 code units, and strings
// longer than 65535 units are split into non-final 'R' chunks. Invalid
// UTF-8 is written as U+FFFD.
func AppendHessianString(dst []byte, s string) []byte { return appendHessianString(dst, s, false) }

// AppendHessianDraftString is AppendHessianString in the hessian 2.0 draft
// that sofa-bolt-node's hessian.js speaks, which has no 0x30–0x33 form:
// strings of 32 units or more are 'S' chunks, non-final chunks 's'.
func AppendHessianDraftString(dst []byte, s string) []byte { return appendHessianString(dst, s, true) }

func appendHessianString(dst []byte, s string, draft bool) []byte {
	for {
		// Find the longest prefix of at most 65535 UTF-16 units.
		units, end := 0, 0
		for end < len(s) {
			r, size := utf8.DecodeRuneInString(s[end:])
			u := 1
			if r >= 0x10000 {
				u = 2
			}
			if units+u > 0xffff {
				break
			}
			units += u
			end += size
		}
		last := end == len(s)
		switch {
		case !last && draft:
			dst = append(dst, 's', byte(units>>8), byte(units))
		case !last:
			dst = append(dst, 'R', byte(units>>8), byte(units))
		case units < 32:
			dst = append(dst, byte(units))
		case units < 1024 && !draft:
			dst = append(dst, byte(0x30+units>>8), byte(units))
		default:
			dst = append(dst, 'S', byte(units>>8), byte(units))
		}
		for _, r := range s[:end] { // re-encodes invalid bytes as U+FFFD (3 bytes, 1 unit)
			dst = utf8.AppendRune(dst, r)
		}
		s = s[end:]
		if last {
			return dst
		}
	}
}
