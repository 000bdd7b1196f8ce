package bolt

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/protocol/rpc"
)

// Wire constants (rpc-wire-formats.md §3.1–3.6).
const (
	ProtoV1 = 0x01
	ProtoV2 = 0x02

	typeResponse = 0x00
	typeRequest  = 0x01
	typeOneway   = 0x02

	cmdHeartbeat = 0
	cmdRequest   = 1
	cmdResponse  = 2

	// CodecHessian2 is the default serializer.
	CodecHessian2 = 1

	v1RequestFixed  = 22
	v1ResponseFixed = 20
	v2RequestFixed  = 24
	v2ResponseFixed = 22
	crcLen          = 4
)

// Response statuses (§3.4).
const (
	StatusSuccess              = 0x00
	StatusError                = 0x01
	StatusServerException      = 0x02
	StatusUnknown              = 0x03
	StatusServerThreadpoolBusy = 0x04
	StatusErrorComm            = 0x05
	StatusNoProcessor          = 0x06
	StatusTimeout              = 0x07
	StatusClientSendError      = 0x08
	StatusCodecException       = 0x09
	StatusConnectionClosed     = 0x10
	StatusServerSerialEx       = 0x11
	StatusServerDeserialEx     = 0x12
)

// Header names of bolt's frame fields (package doc).
const (
	HeaderVersion = "x-mosn-bolt-version"
	HeaderVer1    = "x-mosn-bolt-ver1"
	HeaderSwitch  = "x-mosn-bolt-switch"
	HeaderCodec   = "x-mosn-bolt-codec"
	HeaderClass   = "x-mosn-bolt-class"
	HeaderStatus  = "x-mosn-bolt-status"
)

// Default class names of SOFARPC requests and responses.
const (
	RequestClass  = "com.alipay.sofa.rpc.core.request.SofaRequest"
	ResponseClass = "com.alipay.sofa.rpc.core.response.SofaResponse"
)

// Codec is the bolt codec. The zero value keeps the request's version;
// V2 sends every request as bolt v2 with CRC.
type Codec struct {
	V2 bool
}

var _ rpc.Codec = Codec{}

// Name implements rpc.Codec.
func (c Codec) Name() string {
	if c.V2 {
		return "boltv2"
	}
	return "bolt"
}

// MaxID implements rpc.Codec: Java reads ids as a signed int.
func (Codec) MaxID() uint64 { return 0x7fffffff }

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: bolt: "+format, append([]any{rpc.ErrCorrupt}, args...)...)
}

// layout is where a frame's fixed fields are for its version and type.
type layout struct {
	fixed       int // length of the fixed part
	typ, cmd    int // offsets of type and cmdcode
	id, codec   int
	timeout     int // request: offset of timeout; response: of status
	lens        int // offset of classLen, headerLen, contentLen
	ver1, swtch int // v2 only, else -1
}

var (
	v1Req  = layout{fixed: v1RequestFixed, typ: 1, cmd: 2, id: 5, codec: 9, timeout: 10, lens: 14, ver1: -1, swtch: -1}
	v1Resp = layout{fixed: v1ResponseFixed, typ: 1, cmd: 2, id: 5, codec: 9, timeout: 10, lens: 12, ver1: -1, swtch: -1}
	v2Req  = layout{fixed: v2RequestFixed, typ: 2, cmd: 3, id: 6, codec: 10, timeout: 12, lens: 16, ver1: 1, swtch: 11}
	v2Resp = layout{fixed: v2ResponseFixed, typ: 2, cmd: 3, id: 6, codec: 10, timeout: 12, lens: 14, ver1: 1, swtch: 11}
)

// Decode implements rpc.Codec.
func (Codec) Decode(p []byte, f *rpc.Frame, l rpc.Limits) (int, error) {
	f.Reset()
	l = l.OrDefault()
	if len(p) < 1 {
		return 0, rpc.ErrNeedMore
	}
	var req, resp layout
	switch p[0] {
	case ProtoV1:
		req, resp = v1Req, v1Resp
	case ProtoV2:
		req, resp = v2Req, v2Resp
	default:
		return 0, corrupt("unknown proto byte 0x%02x", p[0])
	}
	if len(p) <= req.typ {
		return 0, rpc.ErrNeedMore
	}
	lay := req
	switch p[req.typ] {
	case typeRequest, typeOneway:
	case typeResponse:
		lay = resp
	default:
		return 0, corrupt("unknown type 0x%02x", p[req.typ])
	}
	if len(p) < lay.fixed {
		return 0, rpc.ErrNeedMore
	}
	typ := p[lay.typ]
	cmd := binary.BigEndian.Uint16(p[lay.cmd:])
	classLen := int(int16(binary.BigEndian.Uint16(p[lay.lens:])))
	headerLen := int(int16(binary.BigEndian.Uint16(p[lay.lens+2:])))
	contentLen := int(int32(binary.BigEndian.Uint32(p[lay.lens+4:])))
	if classLen < 0 || headerLen < 0 || contentLen < 0 {
		return 0, corrupt("negative length")
	}
	if classLen+headerLen > l.MaxHeaderBytes {
		return 0, fmt.Errorf("%w: bolt: class and header of %d bytes, limit %d", rpc.ErrTooLarge, classLen+headerLen, l.MaxHeaderBytes)
	}
	n := lay.fixed + classLen + headerLen + contentLen
	crc := false
	if p[0] == ProtoV2 {
		f.Ver1, f.Switch = p[lay.ver1], p[lay.swtch]
		crc = f.Ver1 == 2 && f.Switch&1 != 0
		if crc {
			n += crcLen
		}
	}
	if n > l.MaxFrameBytes {
		return 0, fmt.Errorf("%w: bolt: frame of %d bytes, limit %d", rpc.ErrTooLarge, n, l.MaxFrameBytes)
	}
	switch {
	case typ == typeResponse && cmd != cmdResponse && cmd != cmdHeartbeat,
		typ != typeResponse && cmd != cmdRequest && cmd != cmdHeartbeat:
		return 0, corrupt("command code %d in a frame of type %d", cmd, typ)
	}
	if len(p) < n {
		return 0, rpc.ErrNeedMore
	}
	if crc {
		want := binary.BigEndian.Uint32(p[n-crcLen:])
		if got := crc32.ChecksumIEEE(p[:n-crcLen]); got != want {
			return 0, corrupt("crc32 %08x, frame says %08x", got, want)
		}
	}
	f.Version = p[0]
	f.ID = uint64(binary.BigEndian.Uint32(p[lay.id:]))
	f.Codec = p[lay.codec]
	switch {
	case typ == typeResponse && cmd == cmdHeartbeat:
		f.Kind = rpc.KindHeartbeatAck
	case typ == typeResponse:
		f.Kind = rpc.KindResponse
		f.Status = binary.BigEndian.Uint16(p[lay.timeout:])
	case cmd == cmdHeartbeat:
		f.Kind = rpc.KindHeartbeat
		f.Timeout = binary.BigEndian.Uint32(p[lay.timeout:])
	case typ == typeOneway:
		f.Kind = rpc.KindOneway
		f.Timeout = binary.BigEndian.Uint32(p[lay.timeout:])
	default:
		f.Kind = rpc.KindRequest
		f.Timeout = binary.BigEndian.Uint32(p[lay.timeout:])
	}
	off := lay.fixed
	class := p[off : off+classLen]
	off += classLen
	header := p[off : off+headerLen]
	off += headerLen
	f.Body = p[off : off+contentLen]
	if f.Kind.IsRequest() && f.Codec == CodecHessian2 && contentLen > 0 && f.Body[0] == 'O' {
		// Hessian 2.0 proper opens an object with its class definition,
		// 'C'; sofa-bolt-node's hessian.js writes the draft form, 'O'.
		f.Dialect = DialectDraft
	}
	if f.Kind == rpc.KindHeartbeat || f.Kind == rpc.KindHeartbeatAck {
		return n, nil
	}
	h := &f.Headers
	if err := decodeHeaderMap(header, h); err != nil {
		return 0, err
	}
	if f.Kind == rpc.KindResponse {
		rpc.AddUint(h, protocol.Status, uint64(HTTPStatus(f.Status)))
		rpc.AddUint(h, HeaderStatus, uint64(f.Status))
	} else {
		h.AddString(protocol.Method, "POST")
		h.AddString(protocol.Path, "/")
		rpc.AddUint(h, rpc.HeaderTimeout, uint64(f.Timeout))
		if f.Kind == rpc.KindOneway {
			h.AddString(rpc.HeaderOneway, "1")
		}
	}
	rpc.AddUint(h, "content-length", uint64(contentLen))
	rpc.AddUint(h, rpc.HeaderRequestID, f.ID)
	rpc.AddUint(h, HeaderVersion, uint64(f.Version))
	if f.Version == ProtoV2 {
		rpc.AddUint(h, HeaderVer1, uint64(f.Ver1))
		rpc.AddUint(h, HeaderSwitch, uint64(f.Switch))
	}
	rpc.AddUint(h, HeaderCodec, uint64(f.Codec))
	if classLen > 0 {
		h.Add([]byte(HeaderClass), class)
	}
	return n, nil
}

// decodeHeaderMap reads the §3.3 string map into h.
func decodeHeaderMap(p []byte, h *protocol.Headers) error {
	for len(p) > 0 {
		key, rest, err := readString(p)
		if err != nil {
			return err
		}
		value, rest, err := readString(rest)
		if err != nil {
			return err
		}
		p = rest
		if !rpc.Skipped(lowerKey(key)) {
			h.Add(key, value)
		}
	}
	return nil
}

// lowerKey reports key as Headers would store it, for the Skipped check;
// it allocates only for keys with upper-case letters that start like a
// reserved name.
func lowerKey(key []byte) []byte {
	for _, c := range key {
		if 'A' <= c && c <= 'Z' {
			b := make([]byte, len(key))
			for i, c := range key {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				b[i] = c
			}
			return b
		}
	}
	return key
}

func readString(p []byte) (s, rest []byte, err error) {
	if len(p) < 4 {
		return nil, nil, corrupt("header map cut in a length")
	}
	n := int32(binary.BigEndian.Uint32(p))
	p = p[4:]
	switch {
	case n == -1: // Java writes null as -1
		return nil, p, nil
	case n < 0 || int(n) > len(p):
		return nil, nil, corrupt("header map string of %d bytes in %d", n, len(p))
	}
	return p[:n], p[n:], nil
}

// HTTPStatus maps a bolt status to an HTTP status (package doc).
func HTTPStatus(s uint16) int {
	switch s {
	case StatusSuccess:
		return 200
	case StatusNoProcessor:
		return 404
	case StatusServerThreadpoolBusy:
		return 503
	case StatusTimeout:
		return 504
	case StatusConnectionClosed, StatusErrorComm, StatusClientSendError:
		return 502
	case StatusCodecException, StatusServerDeserialEx:
		return 400
	}
	return 500
}

// StatusFor maps an HTTP status to a bolt status (package doc).
func StatusFor(httpStatus int) uint16 {
	switch rpc.ReplyFor(httpStatus) {
	case rpc.ReplyOK:
		return StatusSuccess
	case rpc.ReplyNoRoute:
		return StatusNoProcessor
	case rpc.ReplyUpstreamClosed:
		return StatusConnectionClosed
	case rpc.ReplyUnavailable:
		return StatusServerThreadpoolBusy
	case rpc.ReplyTimeout:
		return StatusTimeout
	case rpc.ReplyBadRequest:
		if httpStatus == 400 {
			return StatusCodecException
		}
	}
	return StatusServerException
}

// knownKeys restores the case of SOFA's mixed-case header keys, which
// Headers stores lower-cased.
var knownKeys = map[string]string{}

func init() {
	for _, k := range []string{
		"rpc_trace_context.sofaTraceId", "rpc_trace_context.sofaRpcId",
		"rpc_trace_context.sofaCallerIdc", "rpc_trace_context.sofaCallerIp",
		"rpc_trace_context.sofaCallerApp", "rpc_trace_context.sofaCallerZone",
		"rpc_trace_context.sofaPenAttrs", "rpc_trace_context.sysPenAttrs",
		"sofa_head_target_service", "sofa_head_method_name", "sofa_head_target_app",
	} {
		lower := make([]byte, len(k))
		for i := range k {
			c := k[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lower[i] = c
		}
		knownKeys[string(lower)] = k
	}
}

// appendHeaderMap writes the regular, non-skipped fields of h as a §3.3 map.
func appendHeaderMap(dst []byte, h *protocol.Headers) []byte {
	h.RangeRegular(func(name, value []byte) bool {
		if rpc.Skipped(name) {
			return true
		}
		if k, ok := knownKeys[string(name)]; ok {
			dst = binary.BigEndian.AppendUint32(dst, uint32(len(k)))
			dst = append(dst, k...)
		} else {
			dst = binary.BigEndian.AppendUint32(dst, uint32(len(name)))
			dst = append(dst, name...)
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(value)))
		dst = append(dst, value...)
		return true
	})
	return dst
}

// frameHead describes the fixed part to write.
type frameHead struct {
	version, ver1, swtch uint8
	typ                  uint8
	cmd                  uint16
	id                   uint32
	codec                uint8
	timeoutOrStatus      uint32 // a request's timeout, a response's status
}

func (fh *frameHead) crc() bool { return fh.version == ProtoV2 && fh.ver1 == 2 && fh.swtch&1 != 0 }

// appendFixed writes the fixed part with zero lengths and returns the
// offset of the lengths, to be patched.
func appendFixed(dst []byte, fh *frameHead) ([]byte, int) {
	dst = append(dst, fh.version)
	if fh.version == ProtoV2 {
		dst = append(dst, fh.ver1)
	}
	dst = append(dst, fh.typ)
	dst = binary.BigEndian.AppendUint16(dst, fh.cmd)
	dst = append(dst, 1) // ver2
	dst = binary.BigEndian.AppendUint32(dst, fh.id)
	dst = append(dst, fh.codec)
	if fh.version == ProtoV2 {
		dst = append(dst, fh.swtch)
	}
	if fh.typ == typeResponse {
		dst = binary.BigEndian.AppendUint16(dst, uint16(fh.timeoutOrStatus))
	} else {
		dst = binary.BigEndian.AppendUint32(dst, fh.timeoutOrStatus)
	}
	lens := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	return dst, lens
}

// encode writes a frame: fixed part, class, header map of h (when h is not
// nil), and body, and its CRC when fh asks for one.
func encode(fh *frameHead, class []byte, h *protocol.Headers, body *network.Buffer) []*network.Buffer {
	head := network.GetBuffer(256)
	b := head.Bytes()[:0]
	b, lens := appendFixed(b, fh)
	b = append(b, class...)
	hstart := len(b)
	if h != nil {
		b = appendHeaderMap(b, h)
	}
	headerLen := len(b) - hstart
	contentLen := 0
	if body != nil {
		contentLen = body.Len()
	}
	binary.BigEndian.PutUint16(b[lens:], uint16(len(class)))
	binary.BigEndian.PutUint16(b[lens+2:], uint16(headerLen))
	binary.BigEndian.PutUint32(b[lens+4:], uint32(contentLen))
	if fh.crc() {
		sum := crc32.ChecksumIEEE(b)
		if body != nil {
			sum = crc32.Update(sum, crc32.IEEETable, body.Bytes())
		}
		if contentLen == 0 {
			b = binary.BigEndian.AppendUint32(b, sum)
		} else {
			var t [4]byte
			binary.BigEndian.PutUint32(t[:], sum)
			if body.Shared() {
				nb := network.GetBuffer(contentLen + 4)
				nb.Append(body.Bytes())
				body.Release()
				body = nb
			}
			body.Append(t[:])
		}
	}
	head.Append(b) // b may have outgrown head's array; Append copies only then
	out := append(make([]*network.Buffer, 0, 2), head)
	if body != nil {
		if body.Len() > 0 {
			out = append(out, body)
		} else {
			body.Release()
		}
	}
	return out
}

// versionFrom reads the version fields a request or response is to carry.
func (c Codec) versionFrom(h *protocol.Headers) (version, ver1, swtch uint8) {
	version, ver1, swtch = ProtoV1, 0, 0
	if v, ok := rpc.HeaderUint(h, HeaderVersion); ok && v == ProtoV2 {
		version, ver1, swtch = ProtoV2, 2, 1
		if v, ok := rpc.HeaderUint(h, HeaderVer1); ok && v <= 0xff {
			ver1 = uint8(v)
		}
		if v, ok := rpc.HeaderUint(h, HeaderSwitch); ok && v <= 0xff {
			swtch = uint8(v)
		}
	}
	if c.V2 && version != ProtoV2 {
		version, ver1, swtch = ProtoV2, 2, 1
	}
	if version == ProtoV2 && ver1 == 1 {
		swtch &^= 1 // sofa-bolt-node would expect a CRC the Java side does not send
	}
	return version, ver1, swtch
}

// EncodeRequest implements rpc.Codec.
func (c Codec) EncodeRequest(id uint64, h *protocol.Headers, body *network.Buffer) []*network.Buffer {
	fh := frameHead{typ: typeRequest, cmd: cmdRequest, id: uint32(id), codec: CodecHessian2}
	fh.version, fh.ver1, fh.swtch = c.versionFrom(h)
	if v, ok := h.Get(rpc.HeaderOneway); ok && string(v) == "1" {
		fh.typ = typeOneway
	}
	if v, ok := rpc.HeaderUint(h, HeaderCodec); ok && v <= 0xff {
		fh.codec = uint8(v)
	}
	if v, ok := rpc.HeaderUint(h, rpc.HeaderTimeout); ok && v <= 0x7fffffff {
		fh.timeoutOrStatus = uint32(v)
	}
	class, ok := h.Get(HeaderClass)
	if !ok {
		class = []byte(RequestClass)
	}
	return encode(&fh, class, h, body)
}

// EncodeResponse implements rpc.Codec.
func (c Codec) EncodeResponse(req *rpc.Frame, h *protocol.Headers, body *network.Buffer) []*network.Buffer {
	fh := frameHead{version: req.Version, ver1: req.Ver1, swtch: req.Switch, typ: typeResponse, cmd: cmdResponse, id: uint32(req.ID), codec: req.Codec}
	if fh.version != ProtoV2 {
		fh.version = ProtoV1
	}
	status, fromBolt := rpc.HeaderUint(h, HeaderStatus)
	if !fromBolt || status > 0xffff {
		status = uint64(StatusFor(rpc.Status(h)))
	}
	fh.timeoutOrStatus = uint32(status)
	class, ok := h.Get(HeaderClass)
	if !ok {
		class = []byte(ResponseClass)
	}
	if status != StatusSuccess && !fromBolt && body != nil {
		// An error page or local reply. Bolt clients deserialize a failed
		// response's content as an RpcServerException, which Java encodes
		// in hessian 2.0 and sofa-bolt-node in its draft dialect: a caller
		// whose request came in the draft gets the text that way; any
		// other gets no content, and raises the error the status names.
		text := string(trimNewline(body.Bytes()))
		body.Release()
		body = nil
		if req.Dialect == DialectDraft {
			body = network.GetBuffer(len(text) + 128)
			body.Append(appendDraftServerException(nil, text))
		}
	}
	return encode(&fh, class, h, body)
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// DialectDraft marks a request whose hessian2 content is in the draft
// dialect sofa-bolt-node writes (rpc.Frame.Dialect).
const DialectDraft = 1

const serverExceptionClass = "com.alipay.remoting.rpc.exception.RpcServerException"

// appendDraftServerException writes an RpcServerException with message
// text as sofa-bolt-node's hessian.js reads it: 'O', the class name's
// length as an int and its bytes, the field count and names, then 'o' and
// the definition's index before the values (detailMessage, stackTrace,
// cause).
func appendDraftServerException(dst []byte, text string) []byte {
	dst = append(dst, 'O')
	dst = appendCompactInt(dst, len(serverExceptionClass))
	dst = append(dst, serverExceptionClass...)
	dst = appendCompactInt(dst, 3)
	dst = rpc.AppendHessianDraftString(dst, "detailMessage")
	dst = rpc.AppendHessianDraftString(dst, "stackTrace")
	dst = rpc.AppendHessianDraftString(dst, "cause")
	dst = append(dst, 'o')
	dst = appendCompactInt(dst, 0)
	dst = rpc.AppendHessianDraftString(dst, text)
	return append(dst, 'N', 'N')
}

// appendCompactInt writes n (0 <= n < 2048) as a hessian2 int.
func appendCompactInt(dst []byte, n int) []byte {
	if n <= 47 {
		return append(dst, byte(0x90+n))
	}
	return append(dst, byte(0xc8+n>>8), byte(n))
}

// EncodeHeartbeat implements rpc.Codec: a v1 heartbeat, which every bolt
// peer understands.
func (Codec) EncodeHeartbeat(id uint64) *network.Buffer {
	fh := frameHead{version: ProtoV1, typ: typeRequest, cmd: cmdHeartbeat, id: uint32(id), codec: CodecHessian2, timeoutOrStatus: 3000}
	return encode(&fh, nil, nil, nil)[0]
}

// EncodeHeartbeatAck implements rpc.Codec.
func (Codec) EncodeHeartbeatAck(req *rpc.Frame) *network.Buffer {
	fh := frameHead{version: req.Version, ver1: req.Ver1, swtch: req.Switch, typ: typeResponse, cmd: cmdHeartbeat, id: uint32(req.ID), codec: req.Codec}
	return encode(&fh, nil, nil, nil)[0]
}
