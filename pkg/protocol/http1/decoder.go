package http1

import (
	"bytes"
	"io"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// DefaultMaxHeaderBytes is Limits.MaxHeaderBytes when it is zero.
const DefaultMaxHeaderBytes = 64 << 10

// maxChunkLineBytes bounds a chunk-size line with its extensions, CRLF
// included. Extensions are next to unused; 4 KiB leaves them room while
// keeping a peer from making us buffer an endless line.
const maxChunkLineBytes = 4 << 10

// Limits bound what a peer may send. Zero values mean the defaults.
type Limits struct {
	// MaxHeaderBytes bounds a head: the request or status line, the header
	// fields and the final CRLF; it bounds a chunked body's trailer section
	// too. Over it a request fails with 431 and a response with 502.
	// Default DefaultMaxHeaderBytes (64 KiB).
	MaxHeaderBytes int
	// MaxBodyBytes bounds a body, declared (Content-Length) or streamed
	// (chunked; a response delimited by close), in bytes. Over it a request
	// fails with 413 and a response with 502. Default 0: unlimited.
	MaxBodyBytes int64
}

// Event is what one Decode call produced.
type Event uint8

const (
	// EventNeedMore: nothing more can be decoded from the buffer now; read
	// more bytes.
	EventNeedMore Event = iota
	// EventHead: a message head is complete; Head() is valid.
	EventHead
	// EventData: body bytes; Data() is valid.
	EventData
	// EventEnd: the message (body and trailers) is complete; Trailers() is
	// valid.
	EventEnd
)

var eventNames = [...]string{"need_more", "head", "data", "end"}

func (e Event) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return "unknown"
}

// BodyKind says how a message's body is delimited (RFC 9112 6.3).
type BodyKind uint8

const (
	// BodyNone: no body (a request without Content-Length or
	// Transfer-Encoding; a response to HEAD; 1xx, 204, 304; a 2xx to CONNECT).
	BodyNone BodyKind = iota
	// BodyLength: exactly ContentLength() bytes.
	BodyLength
	// BodyChunked: the chunked transfer coding, possibly with trailers.
	BodyChunked
	// BodyUntilClose: a response body that ends when the connection closes.
	BodyUntilClose
)

var bodyNames = [...]string{"none", "length", "chunked", "until_close"}

func (k BodyKind) String() string {
	if int(k) < len(bodyNames) {
		return bodyNames[k]
	}
	return "unknown"
}

// state is where a Decoder is in the current message.
type state uint8

const (
	stateStart      state = iota // between messages: the next Decode begins one
	stateHead                    // scanning a head
	stateBodyLength              // Content-Length body: remaining bytes left
	stateChunkSize               // expecting a chunk-size line
	stateChunkData               // inside a chunk: remaining bytes left
	stateChunkEnd                // expecting the CRLF after a chunk's data
	stateTrailers                // scanning the trailer section
	stateUntilClose              // body runs until Finish
	stateEnd                     // complete: the next call reports EventEnd
	stateStopped                 // after 101 or a CONNECT 2xx: no more HTTP/1 here
)

// Pseudo-header names as bytes, so adding them does not convert.
var (
	nameMethod = []byte(protocol.Method)
	namePath   = []byte(protocol.Path)
	nameStatus = []byte(protocol.Status)
)

// Decoder decodes one direction of an HTTP/1.1 connection incrementally:
// requests (NewRequestDecoder) or responses (NewResponseDecoder). It is not
// safe for concurrent use and is reusable across messages (pipelining,
// keep-alive) and, after Reset, across connections.
type Decoder struct {
	response bool
	maxHead  int
	maxBody  int64 // 0: unlimited

	state state
	err   *Error // sticky: once set, every call returns it

	head     protocol.Headers
	trailers protocol.Headers
	data     []byte

	// Scanning of a line-oriented section (head, trailers, chunk-size
	// line), in offsets into buf.Bytes(), which the decoder has not drained
	// since the section began: the lines before pos are parsed, and no LF
	// lies between pos and scan.
	pos, scan int
	lines     int // lines of the section parsed so far
	pending   int // bytes of an unfinished head left at the last EventNeedMore

	// The message.
	protoMinor int
	status     int
	body       BodyKind
	cl         int64 // declared Content-Length; -1: none
	remaining  int64 // bytes left of the Content-Length body or current chunk
	received   int64 // body bytes delivered
	keepAlive  bool
	expect     bool
	stopReason string // why no HTTP/1 follows this message (101, CONNECT)

	// Facts the framing depends on, gathered as the fields are parsed.
	hosts         int
	clFields      int  // Content-Length field lines
	clList        bool // a Content-Length value was a list
	teFields      int  // Transfer-Encoding field lines
	teCodings     int  // transfer codings named in them
	teChunked     int  // of which "chunked"
	teLastChunked bool // the final coding is chunked
	connClose     bool
	connKeepAlive bool

	// Response decoders: the method of the request being answered.
	reqHead, reqConnect bool
}

// NewRequestDecoder returns a Decoder of requests, as a server reads them.
func NewRequestDecoder(l Limits) *Decoder { return newDecoder(l, false) }

// NewResponseDecoder returns a Decoder of responses, as a client reads them.
// Tell it the method of each request with SetRequestMethod.
func NewResponseDecoder(l Limits) *Decoder { return newDecoder(l, true) }

func newDecoder(l Limits, response bool) *Decoder {
	d := &Decoder{response: response, maxHead: l.MaxHeaderBytes, maxBody: l.MaxBodyBytes}
	if d.maxHead <= 0 {
		d.maxHead = DefaultMaxHeaderBytes
	}
	if d.maxBody < 0 {
		d.maxBody = 0
	}
	d.cl = -1
	return d
}

// Reset forgets everything about the connection (for reuse on a new one),
// keeping the limits, the direction and the memory of the header lists.
func (d *Decoder) Reset() {
	*d = Decoder{
		response: d.response,
		maxHead:  d.maxHead,
		maxBody:  d.maxBody,
		head:     d.head,
		trailers: d.trailers,
		cl:       -1,
	}
	d.head.Reset()
	d.trailers.Reset()
}

// SetRequestMethod tells a response decoder the method of the request the
// next response answers: a response to HEAD has no body, and a 2xx to
// CONNECT turns the connection into a tunnel. Call it before decoding each
// response; it holds for the interim (1xx) responses before the final one.
// The method is compared, not kept. Request decoders ignore it.
func (d *Decoder) SetRequestMethod(method []byte) {
	d.reqHead = string(method) == "HEAD"
	d.reqConnect = string(method) == "CONNECT"
}

// Head returns the current message's head: the pseudo-headers :method and
// :path (the request-target as sent) for a request, :status (3 digits) for
// a response, then the header fields in order with lower-case names and
// values without surrounding whitespace. It is the decoder's own list,
// filled once as the head is parsed; it is valid from EventHead until the
// Decode call after the message's EventEnd (or Reset), and the caller may
// edit it meanwhile.
func (d *Decoder) Head() *protocol.Headers { return &d.head }

// Data returns the body bytes of an EventData: payload only, chunk framing
// removed. They point into the buffer given to Decode and are valid until
// the next Decode, Finish or Reset, provided the caller leaves the buffer
// alone until then.
func (d *Decoder) Data() []byte { return d.data }

// Trailers returns the trailer fields of a chunked message, valid from
// EventEnd until the next Decode or Reset; it is empty when there were none.
func (d *Decoder) Trailers() *protocol.Headers { return &d.trailers }

// ProtoMinor is the message's HTTP minor version: 0 (HTTP/1.0) or 1.
func (d *Decoder) ProtoMinor() int { return d.protoMinor }

// Status is the response status code (a request decoder returns 0).
func (d *Decoder) Status() int { return d.status }

// KeepAlive reports whether the connection may carry another message after
// this one: for HTTP/1.1 unless "Connection: close", for HTTP/1.0 only with
// "Connection: keep-alive"; never after a body delimited by close, a 101 or
// a CONNECT 2xx.
func (d *Decoder) KeepAlive() bool { return d.keepAlive }

// Body says how the body is delimited.
func (d *Decoder) Body() BodyKind { return d.body }

// ContentLength is the body's length for BodyLength, 0 for BodyNone and -1
// for the delimitings that do not know it in advance.
func (d *Decoder) ContentLength() int64 {
	switch d.body {
	case BodyLength:
		return d.cl
	case BodyNone:
		return 0
	}
	return -1
}

// ExpectContinue reports whether the request was HTTP/1.1 with
// "Expect: 100-continue" (RFC 9110 10.1.1 has HTTP/1.0 requests' ignored).
func (d *Decoder) ExpectContinue() bool { return d.expect }

// fail makes the decoder fail with status (502 for any response error).
func (d *Decoder) fail(status int, reason string) error {
	return d.failErr(status, reason, nil)
}

func (d *Decoder) failErr(status int, reason string, err error) error {
	if d.response {
		status = 502
	}
	d.err = &Error{Status: status, Reason: reason, Err: err}
	d.data = nil
	return d.err
}

// Decode decodes from buf what it can and returns one event per call,
// draining from buf every byte it consumed. After EventEnd the next call
// begins the next message, so pipelined messages in one buffer come out one
// after another. While buf holds only part of a head, Decode parses the
// complete lines into Head(), returns EventNeedMore without draining, and
// resumes after them on the next call (a head arriving a byte at a time is
// scanned once, not once per byte); between calls the caller may append to
// buf but not drain it.
//
// An EventData's Data is a slice of buf's memory: the caller must not
// modify buf until it is done with it (and at the latest, until the next
// call). A message without a body still reports EventEnd, on the call after
// EventHead.
//
// On error the event is EventNeedMore and the error an *Error; the
// connection must be closed.
func (d *Decoder) Decode(buf *network.Buffer) (Event, error) {
	d.data = nil
	if d.err != nil {
		return EventNeedMore, d.err
	}
	for {
		switch d.state {
		case stateStart:
			d.begin()
		case stateHead:
			done, err := d.decodeHead(buf)
			if err != nil || !done {
				return EventNeedMore, err
			}
			return EventHead, nil
		case stateBodyLength:
			if buf.Len() == 0 {
				return EventNeedMore, nil
			}
			d.take(buf, d.remaining)
			if d.remaining == 0 {
				d.state = stateEnd
			}
			return EventData, nil
		case stateChunkSize:
			done, err := d.decodeChunkSize(buf)
			if err != nil || !done {
				return EventNeedMore, err
			}
		case stateChunkData:
			if buf.Len() == 0 {
				return EventNeedMore, nil
			}
			d.take(buf, d.remaining)
			if d.remaining == 0 {
				d.state = stateChunkEnd
			}
			return EventData, nil
		case stateChunkEnd:
			b := buf.Bytes()
			switch {
			case len(b) == 0:
				return EventNeedMore, nil
			case b[0] != '\r', len(b) > 1 && b[1] != '\n':
				return EventNeedMore, d.fail(400, "chunk data not followed by CRLF")
			case len(b) == 1:
				return EventNeedMore, nil
			}
			buf.Drain(2)
			d.state = stateChunkSize
		case stateTrailers:
			b := buf.Bytes()
			end, err := d.scanSection(b, &d.trailers, false)
			if err != nil || end == 0 {
				return EventNeedMore, err
			}
			buf.Drain(end)
			d.pos, d.scan = 0, 0
			d.state = stateEnd
		case stateUntilClose:
			n := int64(buf.Len())
			if n == 0 {
				return EventNeedMore, nil
			}
			if d.maxBody > 0 {
				// Up to the limit, then fail: however the bytes were cut,
				// the peer sees the same.
				if d.received == d.maxBody {
					return EventNeedMore, d.fail(413, "body too large")
				}
				n = min(n, d.maxBody-d.received)
			}
			d.take(buf, n)
			return EventData, nil
		case stateEnd:
			return d.end()
		case stateStopped:
			return EventNeedMore, d.fail(502, d.stopReason)
		}
	}
}

// Finish is called at the peer's EOF, after Decode has returned
// EventNeedMore. For a response delimited by close it returns EventEnd;
// between messages it returns (EventNeedMore, nil), a clean close; in the
// middle of a message it returns an *Error wrapping io.ErrUnexpectedEOF.
func (d *Decoder) Finish() (Event, error) {
	d.data = nil
	if d.err != nil {
		return EventNeedMore, d.err
	}
	switch d.state {
	case stateStart, stateStopped:
		return EventNeedMore, nil
	case stateHead:
		if d.pending == 0 {
			return EventNeedMore, nil
		}
	case stateUntilClose, stateEnd:
		return d.end()
	}
	return EventNeedMore, d.failErr(400, "connection closed in the middle of a message", io.ErrUnexpectedEOF)
}

// end reports the end of the message; a call after it begins the next one,
// unless the message was the last HTTP/1 on the connection.
func (d *Decoder) end() (Event, error) {
	d.state = stateStart
	if d.stopReason != "" {
		d.state = stateStopped
	}
	return EventEnd, nil
}

// begin starts a message: the previous one's head and trailers go.
func (d *Decoder) begin() {
	d.head.Reset()
	d.trailers.Reset()
	d.pos, d.scan, d.lines, d.pending = 0, 0, 0, 0
	d.protoMinor, d.status = 0, 0
	d.body, d.cl, d.remaining, d.received = BodyNone, -1, 0, 0
	d.keepAlive, d.expect, d.stopReason = false, false, ""
	d.hosts, d.clFields, d.clList = 0, 0, false
	d.teFields, d.teCodings, d.teChunked, d.teLastChunked = 0, 0, 0, false
	d.connClose, d.connKeepAlive = false, false
	d.state = stateHead
}

// take makes up to max readable bytes of buf the event's Data and drains
// them. Drained bytes stay in buf's memory until the caller appends.
func (d *Decoder) take(buf *network.Buffer, max int64) {
	b := buf.Bytes()
	if int64(len(b)) > max {
		b = b[:max]
	}
	buf.Drain(len(b))
	d.data = b
	d.remaining -= int64(len(b))
	d.received += int64(len(b))
}

// decodeHead parses the head's complete lines in buf and reports whether
// the head is complete (then drained, with the framing decided).
func (d *Decoder) decodeHead(buf *network.Buffer) (bool, error) {
	b := buf.Bytes()
	if d.lines == 0 && !d.response {
		// RFC 9112 2.2: a server SHOULD ignore at least one empty line
		// received before the request-line.
		n := 0
		for len(b)-n >= 2 && b[n] == '\r' && b[n+1] == '\n' {
			n += 2
		}
		if n > 0 {
			buf.Drain(n)
			b = b[n:]
			d.pos, d.scan = 0, 0
		}
	}
	end, err := d.scanSection(b, &d.head, true)
	if err != nil {
		return false, err
	}
	if end == 0 {
		d.pending = len(b)
		return false, nil
	}
	buf.Drain(end)
	d.pos, d.scan, d.pending = 0, 0, 0
	if d.response {
		return true, d.endResponseHead()
	}
	return true, d.endRequestHead()
}

// scanSection parses the complete lines of a head (start line, then fields)
// or trailer section at the start of b into h, resuming where the last call
// stopped. It returns the section's length once its empty line is found,
// or 0 when it needs more bytes.
//
// Every line must end in CRLF: a bare LF is an error, not a line end, since
// peers that disagree on line ends can be made to disagree on where a
// message ends (request smuggling). A CR elsewhere fails the per-line
// character checks.
func (d *Decoder) scanSection(b []byte, h *protocol.Headers, head bool) (int, error) {
	window := b
	if len(window) > d.maxHead {
		window = window[:d.maxHead]
	}
	for {
		i := bytes.IndexByte(window[d.scan:], '\n')
		if i < 0 {
			d.scan = len(window)
			if len(b) >= d.maxHead {
				switch {
				case head && d.response:
					return 0, d.fail(431, "response header fields too large")
				case head:
					return 0, d.fail(431, "request header fields too large")
				}
				return 0, d.fail(431, "trailer fields too large")
			}
			return 0, nil
		}
		lf := d.scan + i
		if lf == d.pos || window[lf-1] != '\r' {
			return 0, d.fail(400, "line not ended by CRLF")
		}
		line := window[d.pos : lf-1]
		d.pos, d.scan = lf+1, lf+1
		var err error
		switch {
		case head && d.lines == 0:
			if d.response {
				err = d.statusLine(line)
			} else {
				err = d.requestLine(line)
			}
		case len(line) == 0:
			return lf + 1, nil
		default:
			err = d.fieldLine(line, h, head)
		}
		if err != nil {
			return 0, err
		}
		d.lines++
	}
}

// decodeChunkSize parses a chunk-size line (RFC 9112 7.1) and reports
// whether it did; it moves on to the chunk's data or, for the last chunk,
// to the trailers.
func (d *Decoder) decodeChunkSize(buf *network.Buffer) (bool, error) {
	b := buf.Bytes()
	window := b
	if len(window) > maxChunkLineBytes {
		window = window[:maxChunkLineBytes]
	}
	i := bytes.IndexByte(window[d.scan:], '\n')
	if i < 0 {
		d.scan = len(window)
		if len(b) >= maxChunkLineBytes {
			return false, d.fail(400, "chunk-size line too long")
		}
		return false, nil
	}
	lf := d.scan + i
	if lf == 0 || window[lf-1] != '\r' {
		return false, d.fail(400, "line not ended by CRLF")
	}
	size, err := d.chunkLine(window[:lf-1])
	if err != nil {
		return false, err
	}
	buf.Drain(lf + 1)
	d.scan = 0
	if size == 0 {
		d.state, d.pos, d.lines = stateTrailers, 0, 0
		return true, nil
	}
	if d.maxBody > 0 && size > d.maxBody-d.received {
		return false, d.fail(413, "body too large")
	}
	d.remaining = size
	d.state = stateChunkData
	return true, nil
}
