package http1

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// transcript feeds pieces to d one after another, decoding after each until
// it needs more, then calls Finish, and returns what came out, one line per
// event. Consecutive EventData are joined, so that any way of cutting the
// same bytes must give the same transcript:
//
//	HEAD <version> <body>[/<length>] <ka|close>[ expect] {<fields>}
//	DATA <payload>
//	END[ {<trailers>}]      END@eof when Finish ended the message
//	EOF                     Finish saw a clean close
//	ERR <status> <reason>
//
// It fails t if the decoder breaks its contract: an empty EventData, an
// event that neither consumes nor moves on (a loop), a Content-Length body
// of the wrong size.
func transcript(t testing.TB, d *Decoder, pieces ...[]byte) string {
	t.Helper()
	var out []byte // transcript lines, each ended by "\n"
	var data []byte
	inData := false
	flush := func() {
		if inData {
			out = append(out, "DATA "...)
			out = append(out, data...)
			out = append(out, '\n')
			data, inData = data[:0], false
		}
	}
	total := 0
	for _, p := range pieces {
		total += len(p)
	}
	var bodyLen int64
	buf := network.GetBuffer(64)
	defer buf.Release()
	calls := 0
	record := func(ev Event, err error, eof bool) bool {
		calls++
		if calls > 4*total+64 {
			t.Fatalf("decoder loops: %d calls for %d bytes; so far:\n%s", calls, total, out)
		}
		if err != nil {
			flush()
			out = append(out, errLine(t, err)...)
			out = append(out, '\n')
			return false
		}
		switch ev {
		case EventNeedMore:
			return false
		case EventHead:
			flush()
			out = appendHeadLine(out, d)
			bodyLen = 0
		case EventData:
			if len(d.Data()) == 0 {
				t.Fatalf("EventData with no data")
			}
			inData = true
			data = append(data, d.Data()...)
			bodyLen += int64(len(d.Data()))
		case EventEnd:
			flush()
			if d.Body() == BodyLength && bodyLen != d.ContentLength() {
				t.Fatalf("Content-Length %d body ended after %d bytes", d.ContentLength(), bodyLen)
			}
			out = append(out, "END"...)
			if eof {
				out = append(out, "@eof"...)
			}
			out = appendFieldText(out, d.Trailers())
			out = append(out, '\n')
		}
		return true
	}
	failed := false
	for _, p := range pieces {
		buf.Append(p)
		for !failed {
			ev, err := d.Decode(buf)
			if !record(ev, err, false) {
				failed = err != nil
				break
			}
		}
	}
	for i := 0; !failed && i < 3; i++ {
		ev, err := d.Finish()
		if err == nil && ev == EventNeedMore {
			out = append(out, "EOF\n"...)
			break
		}
		failed = !record(ev, err, true)
	}
	return strings.TrimSuffix(string(out), "\n")
}

func appendHeadLine(b []byte, d *Decoder) []byte {
	b = append(b, "HEAD 1."...)
	b = strconv.AppendInt(b, int64(d.ProtoMinor()), 10)
	b = append(b, ' ')
	b = append(b, d.Body().String()...)
	if d.Body() == BodyLength {
		b = append(b, '/')
		b = strconv.AppendInt(b, d.ContentLength(), 10)
	}
	if d.KeepAlive() {
		b = append(b, " ka"...)
	} else {
		b = append(b, " close"...)
	}
	if d.ExpectContinue() {
		b = append(b, " expect"...)
	}
	b = appendFieldText(b, d.Head())
	return append(b, '\n')
}

// appendFieldText renders h as " {name=value …}", or nothing when empty.
func appendFieldText(b []byte, h *protocol.Headers) []byte {
	if h.Len() == 0 {
		return b
	}
	b = append(b, " {"...)
	first := true
	h.Range(func(n, v []byte) bool {
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = append(b, n...)
		b = append(b, '=')
		b = append(b, v...)
		return true
	})
	return append(b, '}')
}

func fields(h *protocol.Headers) string { return string(appendFieldText(nil, h)) }

func errLine(t testing.TB, err error) string {
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	return "ERR " + strconv.Itoa(e.Status) + " " + e.Reason
}

// cuts returns data whole, byte by byte, and cut in two at every position.
func cuts(data []byte) (names []string, ways [][][]byte) {
	names = append(names, "whole")
	ways = append(ways, [][]byte{data})
	bytewise := make([][]byte, len(data))
	for i := range data {
		bytewise[i] = data[i : i+1]
	}
	names = append(names, "bytewise")
	ways = append(ways, bytewise)
	for k := 1; k < len(data); k++ {
		names = append(names, "cut@"+strconv.Itoa(k))
		ways = append(ways, [][]byte{data[:k], data[k:]})
	}
	return names, ways
}

// sameEveryWay decodes data whole, byte by byte and cut at every position,
// each with a fresh decoder from newDec, and fails t unless all agree. It
// returns the whole-buffer transcript.
func sameEveryWay(t testing.TB, newDec func() *Decoder, data []byte) string {
	t.Helper()
	names, ways := cuts(data)
	want := transcript(t, newDec(), ways[0]...)
	for i := 1; i < len(ways); i++ {
		if got := transcript(t, newDec(), ways[i]...); got != want {
			t.Fatalf("fed %s:\n%s\nfed whole:\n%s\ninput %q", names[i], got, want, data)
		}
	}
	return want
}
