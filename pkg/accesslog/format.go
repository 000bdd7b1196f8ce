package accesslog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// DefaultFormat is MOSN's default log_format, used when the format is
// empty. It has %response_code% twice, as MOSN's does.
const DefaultFormat = "%start_time% %request_received_duration% %response_received_duration% %bytes_sent%" +
	" %bytes_received% %protocol% %response_code% %duration% %response_flag% %response_code% %upstream_local_address%" +
	" %downstream_local_address% %downstream_remote_address% %upstream_host%"

// StartTimeLayout is how %start_time% is written (MOSN's layout), in the
// location of Entry.StartTime.
const StartTimeLayout = "2006/01/02 15:04:05.000"

// Prefixes of the header variables: %request_header_x-request-id% is
// the request's x-request-id header.
const (
	RequestHeaderPrefix  = "request_header_"
	ResponseHeaderPrefix = "response_header_"
)

// notFound is what a variable with no value writes (MOSN's
// variable.ValueNotFound), so that a space-separated line keeps its
// column count.
const notFound = '-'

// Format errors. New wraps them with the variable or offset at fault.
var (
	// ErrUnknownVariable is a %name% that is not a supported variable.
	ErrUnknownVariable = errors.New("unknown access log variable")
	// ErrUnclosedVariable is a % with no closing %.
	ErrUnclosedVariable = errors.New("unclosed variable in access log format")
	// ErrEmptyVariable is %% (write a literal % as \%).
	ErrEmptyVariable = errors.New("empty variable %% in access log format")
)

// variable identifies what a segment of a format writes.
type variable uint8

const (
	varText variable = iota // the segment's literal text
	varStartTime
	varRequestReceivedDuration
	varResponseReceivedDuration
	varDuration
	varBytesSent
	varBytesReceived
	varProtocol
	varResponseCode
	varResponseFlag
	varUpstreamLocalAddress
	varDownstreamLocalAddress
	varDownstreamRemoteAddress
	varUpstreamHost
	varUpstreamTransportFailureReason
	varUpstreamCluster
	varRequestHeader  // the request header named by the segment's text
	varResponseHeader // the response header named by the segment's text
	numVariables
)

// variableNames are MOSN's names (mosn.io/mosn pkg/types/variable.go), by
// variable.
var variableNames = [numVariables]string{
	varText:                           "text",
	varStartTime:                      "start_time",
	varRequestReceivedDuration:        "request_received_duration",
	varResponseReceivedDuration:       "response_received_duration",
	varDuration:                       "duration",
	varBytesSent:                      "bytes_sent",
	varBytesReceived:                  "bytes_received",
	varProtocol:                       "protocol",
	varResponseCode:                   "response_code",
	varResponseFlag:                   "response_flag",
	varUpstreamLocalAddress:           "upstream_local_address",
	varDownstreamLocalAddress:         "downstream_local_address",
	varDownstreamRemoteAddress:        "downstream_remote_address",
	varUpstreamHost:                   "upstream_host",
	varUpstreamTransportFailureReason: "upstream_transport_failure_reason",
	varUpstreamCluster:                "upstream_cluster",
	varRequestHeader:                  RequestHeaderPrefix,
	varResponseHeader:                 ResponseHeaderPrefix,
}

func (v variable) String() string {
	if v < numVariables {
		return variableNames[v]
	}
	return "variable(" + strconv.Itoa(int(v)) + ")"
}

// byName maps a variable name in a format to its variable; response_flags
// is MOSN's alias of response_flag.
var byName = func() map[string]variable {
	m := map[string]variable{"response_flags": varResponseFlag}
	for v := varStartTime; v < varRequestHeader; v++ {
		m[variableNames[v]] = v
	}
	return m
}()

// unrecorded are MOSN proxy variables that the proxy does not record, so
// a format naming them gets a more helpful error than "unknown".
var unrecorded = map[string]bool{
	"request_finished_duration": true,
	"process_time_duration":     true,
	"requested_server_name":     true,
	"route_name":                true,
	"protocol_config":           true,
	"stream_response_bytes":     true,
}

// segment is one piece of a parsed format: literal text, or a variable
// (for header variables, text is the lower-case header name).
type segment struct {
	v    variable
	text string
}

// format is a parsed log_format.
type format []segment

// parseFormat parses a MOSN log_format: literal text with %name%
// variables; \% is a literal %. An empty string means DefaultFormat.
func parseFormat(s string) (format, error) {
	if s == "" {
		s = DefaultFormat
	}
	var (
		f   format
		lit []byte
	)
	flush := func() {
		if len(lit) > 0 {
			f = append(f, segment{v: varText, text: string(lit)})
			lit = lit[:0]
		}
	}
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && s[i+1] == '%':
			lit = append(lit, '%')
			i += 2
		case c == '%':
			n := strings.IndexByte(s[i+1:], '%')
			if n < 0 {
				return nil, fmt.Errorf("%w: the %% at offset %d", ErrUnclosedVariable, i)
			}
			if n == 0 {
				return nil, fmt.Errorf("%w at offset %d", ErrEmptyVariable, i)
			}
			seg, err := lookupVariable(s[i+1 : i+1+n])
			if err != nil {
				return nil, err
			}
			flush()
			f = append(f, seg)
			i += n + 2
		default:
			lit = append(lit, c)
			i++
		}
	}
	flush()
	return f, nil
}

func lookupVariable(name string) (segment, error) {
	if v, ok := byName[name]; ok {
		return segment{v: v}, nil
	}
	for _, p := range [...]struct {
		prefix string
		v      variable
	}{{RequestHeaderPrefix, varRequestHeader}, {ResponseHeaderPrefix, varResponseHeader}} {
		if h, ok := strings.CutPrefix(name, p.prefix); ok {
			if h == "" {
				return segment{}, fmt.Errorf("%w %%%s%%: no header name after the prefix", ErrUnknownVariable, name)
			}
			return segment{v: p.v, text: strings.ToLower(h)}, nil
		}
	}
	if unrecorded[name] {
		return segment{}, fmt.Errorf("%w %%%s%%: a MOSN variable this proxy does not record", ErrUnknownVariable, name)
	}
	return segment{}, fmt.Errorf("%w %%%s%%", ErrUnknownVariable, name)
}

// append formats e after dst, without the trailing newline. It does not
// allocate unless dst must grow.
func (f format) append(dst []byte, e *Entry) []byte {
	for i := range f {
		s := &f[i]
		switch s.v {
		case varText:
			dst = append(dst, s.text...)
		case varStartTime:
			if e.StartTime.IsZero() {
				dst = append(dst, notFound)
			} else {
				dst = e.StartTime.AppendFormat(dst, StartTimeLayout)
			}
		case varRequestReceivedDuration:
			dst = appendDuration(dst, e.RequestReceived)
		case varResponseReceivedDuration:
			dst = appendDuration(dst, e.ResponseReceived)
		case varDuration:
			dst = appendDuration(dst, e.Duration)
		case varBytesSent:
			dst = strconv.AppendInt(dst, e.BytesSent, 10)
		case varBytesReceived:
			dst = strconv.AppendInt(dst, e.BytesReceived, 10)
		case varProtocol:
			dst = appendValue(dst, e.Protocol)
		case varResponseCode:
			dst = strconv.AppendInt(dst, int64(e.ResponseCode), 10)
		case varResponseFlag:
			dst = appendValue(dst, e.ResponseFlags)
		case varUpstreamLocalAddress:
			dst = appendValue(dst, e.UpstreamLocalAddr)
		case varDownstreamLocalAddress:
			dst = appendValue(dst, e.DownstreamLocalAddr)
		case varDownstreamRemoteAddress:
			dst = appendValue(dst, e.DownstreamRemoteAddr)
		case varUpstreamHost:
			dst = appendValue(dst, e.UpstreamHost)
		case varUpstreamTransportFailureReason:
			dst = appendFailureReason(dst, e.ResponseFlags)
		case varUpstreamCluster:
			dst = appendValue(dst, e.UpstreamCluster)
		case varRequestHeader:
			dst = appendHeader(dst, e.RequestHeaders, s.text)
		case varResponseHeader:
			dst = appendHeader(dst, e.ResponseHeaders, s.text)
		}
	}
	return dst
}

// appendHeader appends the first value of the lower-case name in h, or
// "-" if there is none.
func appendHeader(dst []byte, h *protocol.Headers, name string) []byte {
	if h == nil {
		return append(dst, notFound)
	}
	v, _ := h.Get(name)
	return appendValue(dst, v)
}

const hexDigits = "0123456789abcdef"

// appendValue appends s, or "-" if it is empty. Control bytes (a header
// value is the client's to choose) are written as \xHH so that an entry
// stays one line.
func appendValue[T string | []byte](dst []byte, s T) []byte {
	if len(s) == 0 {
		return append(dst, notFound)
	}
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] >= 0x20 && s[i] != 0x7f {
			i++
		}
		dst = append(dst, s[:i]...)
		if i == len(s) {
			break
		}
		c := s[i]
		dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		s = s[i+1:]
	}
	return dst
}

// appendFailureReason writes the response flags as words, comma-separated
// (UF → upstream_connection_failure); codes it does not know are written
// as they are, and no flags as "-".
func appendFailureReason(dst []byte, flags string) []byte {
	if flags == "" {
		return append(dst, notFound)
	}
	for i := 0; ; i++ {
		code, rest, more := strings.Cut(flags, ",")
		if i > 0 {
			dst = append(dst, ',')
		}
		if r := flagReason(code); r != "" {
			dst = append(dst, r...)
		} else {
			dst = appendValue(dst, code)
		}
		if !more {
			return dst
		}
		flags = rest
	}
}

func flagReason(code string) string {
	switch code {
	case "UF":
		return "upstream_connection_failure"
	case "UT":
		return "upstream_request_timeout"
	case "NR":
		return "no_route_found"
	case "NC":
		return "no_cluster_found"
	case "UH":
		return "no_healthy_upstream"
	case "UO":
		return "upstream_overflow"
	case "URX":
		return "upstream_retry_limit_exceeded"
	case "UC":
		return "upstream_connection_termination"
	case "DC":
		return "downstream_connection_termination"
	case "LR":
		return "local_reset"
	case "FI":
		return "fault_injected"
	}
	return ""
}

// appendDuration appends d as d.String() writes it ("0s", "850ns",
// "1.5µs", "12.003ms", "2m3.5s"; MOSN writes durations with String),
// without allocating.
func appendDuration(dst []byte, d time.Duration) []byte {
	if d == 0 {
		return append(dst, "0s"...)
	}
	u := uint64(d)
	if d < 0 {
		dst = append(dst, '-')
		u = -u // also right for math.MinInt64
	}
	switch {
	case u < uint64(time.Microsecond):
		dst = strconv.AppendUint(dst, u, 10)
		return append(dst, "ns"...)
	case u < uint64(time.Millisecond):
		dst = appendFixed(dst, u, 3)
		return append(dst, "µs"...)
	case u < uint64(time.Second):
		dst = appendFixed(dst, u, 6)
		return append(dst, "ms"...)
	}
	secs := u / uint64(time.Second)
	if h := secs / 3600; h > 0 {
		dst = strconv.AppendUint(dst, h, 10)
		dst = append(dst, 'h')
		dst = strconv.AppendUint(dst, secs/60%60, 10)
		dst = append(dst, 'm')
	} else if m := secs / 60; m > 0 {
		dst = strconv.AppendUint(dst, m, 10)
		dst = append(dst, 'm')
	}
	dst = appendFixed(dst, secs%60*uint64(time.Second)+u%uint64(time.Second), 9)
	return append(dst, 's')
}

// appendFixed appends u / 10^scale (scale ≤ 9) with its fractional
// digits, trailing zeros and a bare point dropped.
func appendFixed(dst []byte, u uint64, scale int) []byte {
	p := uint64(1)
	for range scale {
		p *= 10
	}
	dst = strconv.AppendUint(dst, u/p, 10)
	frac := u % p
	if frac == 0 {
		return dst
	}
	for frac%10 == 0 {
		frac /= 10
		scale--
	}
	var digits [9]byte
	for i := scale - 1; i >= 0; i-- {
		digits[i] = '0' + byte(frac%10)
		frac /= 10
	}
	dst = append(dst, '.')
	return append(dst, digits[:scale]...)
}
