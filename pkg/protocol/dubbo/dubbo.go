package dubbo

import (
	"encoding/binary"
	"fmt"
	"strconv"

	hessian "github.com/apache/dubbo-go-hessian2"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/protocol/rpc"
)

// Wire constants (§3.7).
const (
	Magic      = 0xdabb
	HeaderLen  = 16
	flagReq    = 0x80
	flagTwoWay = 0x40
	flagEvent  = 0x20
	serialMask = 0x1f

	// SerializationHessian2 is the default serialization id.
	SerializationHessian2 = 2

	// DefaultMaxFrameBytes is Dubbo's own payload limit (8 MiB) plus the header.
	DefaultMaxFrameBytes = 8<<20 + HeaderLen
)

// Response statuses.
const (
	StatusOK              = 20
	StatusClientTimeout   = 30
	StatusServerTimeout   = 31
	StatusBadRequest      = 40
	StatusBadResponse     = 50
	StatusServiceNotFound = 60
	StatusServiceError    = 70
	StatusServerError     = 80
	StatusClientError     = 90
)

// Header names.
const (
	HeaderService       = "service"
	HeaderMethod        = "method"
	HeaderVersion       = "version"
	HeaderGroup         = "group"
	HeaderSerialization = "x-mosn-dubbo-serialization"
	HeaderStatus        = "x-mosn-dubbo-status"
)

// Codec is the Dubbo codec.
type Codec struct{}

var _ rpc.Codec = Codec{}

// Name implements rpc.Codec.
func (Codec) Name() string { return "dubbo" }

// MaxID implements rpc.Codec.
func (Codec) MaxID() uint64 { return 1<<63 - 1 }

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: dubbo: "+format, append([]any{rpc.ErrCorrupt}, args...)...)
}

// Decode implements rpc.Codec. A zero l.MaxFrameBytes means Dubbo's own
// 8 MiB payload limit.
func (Codec) Decode(p []byte, f *rpc.Frame, l rpc.Limits) (int, error) {
	f.Reset()
	if l.MaxFrameBytes <= 0 {
		l.MaxFrameBytes = DefaultMaxFrameBytes
	}
	l = l.OrDefault()
	if len(p) >= 1 && p[0] != Magic>>8 || len(p) >= 2 && p[1] != Magic&0xff {
		return 0, corrupt("bad magic")
	}
	if len(p) < HeaderLen {
		return 0, rpc.ErrNeedMore
	}
	flag := p[2]
	bodyLen := int(int32(binary.BigEndian.Uint32(p[12:])))
	if bodyLen < 0 {
		return 0, corrupt("negative body length")
	}
	n := HeaderLen + bodyLen
	if n > l.MaxFrameBytes {
		return 0, fmt.Errorf("%w: dubbo: frame of %d bytes, limit %d", rpc.ErrTooLarge, n, l.MaxFrameBytes)
	}
	if len(p) < n {
		return 0, rpc.ErrNeedMore
	}
	f.ID = binary.BigEndian.Uint64(p[4:])
	f.Codec = flag & serialMask
	f.Body = p[HeaderLen:n]
	event := flag&flagEvent != 0
	heartbeat := event && (bodyLen == 0 || p[HeaderLen] == 'N')
	switch {
	case flag&flagReq == 0:
		f.Status = uint16(p[3])
		switch {
		case heartbeat:
			f.Kind = rpc.KindHeartbeatAck
		case event:
			f.Kind = rpc.KindEvent
		default:
			f.Kind = rpc.KindResponse
		}
	case heartbeat:
		f.Kind = rpc.KindHeartbeat
		if flag&flagTwoWay == 0 {
			f.Kind = rpc.KindEvent // nobody waits for an answer
		}
	case event:
		f.Kind = rpc.KindEvent
	case flag&flagTwoWay == 0:
		f.Kind = rpc.KindOneway
	default:
		f.Kind = rpc.KindRequest
	}
	h := &f.Headers
	switch f.Kind {
	case rpc.KindResponse:
		rpc.AddUint(h, protocol.Status, uint64(HTTPStatus(f.Status)))
		rpc.AddUint(h, HeaderStatus, uint64(f.Status))
	case rpc.KindRequest, rpc.KindOneway:
		if f.Codec == SerializationHessian2 {
			if err := decodeRequestBody(f.Body, f, l.MaxHeaderBytes); err != nil {
				return 0, err
			}
		}
		h.AddString(protocol.Method, "POST")
		h.AddString(protocol.Path, "/")
		if f.Kind == rpc.KindOneway {
			h.AddString(rpc.HeaderOneway, "1")
		}
		if f.Timeout > 0 {
			rpc.AddUint(h, rpc.HeaderTimeout, uint64(f.Timeout))
		}
	default:
		return n, nil
	}
	rpc.AddUint(h, "content-length", uint64(bodyLen))
	rpc.AddUint(h, rpc.HeaderRequestID, f.ID)
	rpc.AddUint(h, HeaderSerialization, uint64(f.Codec))
	return n, nil
}

// decodeRequestBody reads service, method, version and the attachments
// (§3.8) into f.Headers. Attachments longer than maxAttachments bytes are
// not decoded (what the decoder builds from them may be many times their
// size); the request still goes on, without them as headers.
func decodeRequestBody(body []byte, f *rpc.Frame, maxAttachments int) error {
	s := skipper{p: body}
	var fields [5][]byte // dubbo version, path, version, method, descriptor
	for i := range fields {
		v, err := s.readString()
		if err != nil {
			return corrupt("request body: field %d: %v", i+1, err)
		}
		fields[i] = v
	}
	h := &f.Headers
	h.Add([]byte(HeaderService), fields[1])
	h.Add([]byte(HeaderMethod), fields[3])
	h.Add([]byte(HeaderVersion), fields[2])
	n, ok := countParams(fields[4])
	if !ok {
		return corrupt("request body: bad parameter descriptor %q", fields[4])
	}
	if err := s.values(n, 0); err != nil {
		return corrupt("request body: arguments: %v", err)
	}
	if s.off == len(body) {
		return nil // no attachments
	}
	start := s.off
	if err := s.value(0); err != nil {
		return corrupt("request body: attachments: %v", err)
	}
	if s.off-start <= maxAttachments {
		addAttachments(body[start:s.off], f)
	}
	return nil
}

// addAttachments decodes the vetted attachments map with dubbo-go-hessian2.
// A map it cannot decode (one referring to values of the arguments, say)
// adds nothing.
func addAttachments(p []byte, f *rpc.Frame) {
	v, err := decodeHessian(p)
	if err != nil {
		return
	}
	m, ok := v.(map[interface{}]interface{})
	if !ok {
		return
	}
	h := &f.Headers
	for k, v := range m {
		key, ok := k.(string)
		if !ok || key == "" {
			continue
		}
		var val string
		switch v := v.(type) {
		case string:
			val = v
		case int32:
			val = strconv.FormatInt(int64(v), 10)
		case int64:
			val = strconv.FormatInt(v, 10)
		case int:
			val = strconv.Itoa(v)
		default:
			continue
		}
		switch lk := lowerString(key); {
		case lk == "timeout":
			if t, err := strconv.ParseUint(val, 10, 32); err == nil {
				f.Timeout = uint32(t)
			}
			h.AddString(key, val)
		case lk == HeaderService, lk == HeaderMethod, lk == HeaderVersion && h.Has(HeaderVersion):
			// Already taken from the body's own fields.
		case rpc.Skipped([]byte(lk)):
		default:
			h.AddString(key, val)
		}
	}
}

// decodeHessian decodes one value, turning a panic of the decoder on
// input it did not expect into an error.
func decodeHessian(p []byte) (v interface{}, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("hessian2 decoder: %v", r)
		}
	}()
	return hessian.NewDecoder(p).Decode()
}

func lowerString(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// HTTPStatus maps a Dubbo status to an HTTP status (package doc).
func HTTPStatus(s uint16) int {
	switch s {
	case StatusOK:
		return 200
	case StatusClientTimeout, StatusServerTimeout:
		return 504
	case StatusBadRequest:
		return 400
	case StatusBadResponse:
		return 502
	case StatusServiceNotFound:
		return 404
	}
	return 500
}

// StatusFor maps an HTTP status to a Dubbo status (package doc).
func StatusFor(httpStatus int) uint8 {
	switch rpc.ReplyFor(httpStatus) {
	case rpc.ReplyOK:
		return StatusOK
	case rpc.ReplyNoRoute, rpc.ReplyUnavailable:
		return StatusServiceNotFound
	case rpc.ReplyTimeout:
		return StatusServerTimeout
	case rpc.ReplyBadRequest:
		if httpStatus == 400 {
			return StatusBadRequest
		}
	}
	return StatusServerError
}

func appendHeader(dst []byte, flag, status uint8, id uint64, bodyLen int) []byte {
	dst = append(dst, Magic>>8, Magic&0xff, flag, status)
	dst = binary.BigEndian.AppendUint64(dst, id)
	return binary.BigEndian.AppendUint32(dst, uint32(bodyLen))
}

func frame(flag, status uint8, id uint64, body *network.Buffer) []*network.Buffer {
	n := 0
	if body != nil {
		n = body.Len()
	}
	head := network.GetBuffer(HeaderLen)
	var b [HeaderLen]byte
	head.Append(appendHeader(b[:0], flag, status, id, n))
	if n == 0 {
		if body != nil {
			body.Release()
		}
		return []*network.Buffer{head}
	}
	return []*network.Buffer{head, body}
}

func serialization(h *protocol.Headers) uint8 {
	if v, ok := rpc.HeaderUint(h, HeaderSerialization); ok && v <= serialMask {
		return uint8(v)
	}
	return SerializationHessian2
}

// EncodeRequest implements rpc.Codec: a new header before the body as it
// came. A body from another protocol is sent as it is.
func (Codec) EncodeRequest(id uint64, h *protocol.Headers, body *network.Buffer) []*network.Buffer {
	flag := flagReq | serialization(h)
	if v, ok := h.Get(rpc.HeaderOneway); !ok || string(v) != "1" {
		flag |= flagTwoWay
	}
	return frame(flag, 0, id, body)
}

// EncodeResponse implements rpc.Codec.
func (Codec) EncodeResponse(req *rpc.Frame, h *protocol.Headers, body *network.Buffer) []*network.Buffer {
	status, fromDubbo := rpc.HeaderUint(h, HeaderStatus)
	if !fromDubbo || status > 0xff {
		status = uint64(StatusFor(rpc.Status(h)))
	}
	if status != StatusOK && !fromDubbo {
		text := "proxy error"
		if body != nil {
			if b := trimNewline(body.Bytes()); len(b) > 0 {
				text = string(b)
			}
			body.Release()
		}
		body = network.GetBuffer(len(text) + 8)
		body.Append(rpc.AppendHessianString(nil, text))
	}
	return frame(req.Codec&serialMask, uint8(status), req.ID, body)
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// EncodeHeartbeat implements rpc.Codec: a two-way event with a null body.
func (Codec) EncodeHeartbeat(id uint64) *network.Buffer {
	body := network.GetBuffer(1)
	body.Append([]byte{'N'})
	bufs := frame(flagReq|flagTwoWay|flagEvent|SerializationHessian2, 0, id, body)
	bufs[0].Append(bufs[1].Bytes())
	bufs[1].Release()
	return bufs[0]
}

// EncodeHeartbeatAck implements rpc.Codec.
func (Codec) EncodeHeartbeatAck(req *rpc.Frame) *network.Buffer {
	var b [HeaderLen + 1]byte
	out := appendHeader(b[:0], flagEvent|(req.Codec&serialMask), StatusOK, req.ID, 1)
	out = append(out, 'N')
	buf := network.GetBuffer(len(out))
	buf.Append(out)
	return buf
}
