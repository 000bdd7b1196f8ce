package http1

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// Small limits, so that the fuzzer reaches them.
var fuzzLimits = Limits{MaxHeaderBytes: 512, MaxBodyBytes: 768}

// maxFuzzInput bounds an input: each is decoded once per cut position, so
// the cost grows with the square of its length.
const maxFuzzInput = 1 << 10

// The fuzz targets run their seeds in every go test. To fuzz (inputs are
// slow, so keep minimizing short):
//
//	go test -run '^$' -fuzz FuzzDecodeRequest -fuzztime 60s -fuzzminimizetime 5s ./pkg/protocol/http1/
func FuzzDecodeRequest(f *testing.F) {
	for _, tc := range goodRequests {
		f.Add([]byte(tc.in))
	}
	for _, tc := range badRequests {
		f.Add([]byte(tc.in))
	}
	f.Add(typicalGET)
	f.Add(chunkedPOST)
	f.Add(append(append([]byte(nil), typicalGET...), chunkedPOST...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		checkDecoder(t, requestDecoder(fuzzLimits), false, data)
	})
}

var fuzzMethods = [...]string{"GET", "HEAD", "CONNECT", "POST"}

func FuzzDecodeResponse(f *testing.F) {
	for i, tc := range append(append([]decodeCase(nil), goodResponses...), badResponses...) {
		for m, name := range fuzzMethods {
			if name == tc.method || i%len(fuzzMethods) == m {
				f.Add([]byte(tc.in), uint8(m))
			}
		}
	}
	f.Add(typicalResponse, uint8(0))
	f.Add(append(append([]byte(nil), typicalResponse...), typicalResponse...), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, method uint8) {
		if len(data) > maxFuzzInput {
			return
		}
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		checkDecoder(t, responseDecoder(fuzzLimits, m), true, data)
	})
}

// checkDecoder is the fuzz property: decoding never panics or loops, gives
// the same result however the bytes are cut, and what decodes re-encodes
// into something that decodes the same.
func checkDecoder(t *testing.T, newDec func() *Decoder, response bool, data []byte) {
	t.Run("cuts", func(t *testing.T) { sameEveryWay(t, newDec, data) })
	t.Run("reencode", func(t *testing.T) {
		msgs := decodeMessages(t, newDec(), data)
		var enc []byte
		for _, m := range msgs {
			if m.minor != 1 {
				return // re-encoding makes it HTTP/1.1, which means other rules
			}
			enc = append(enc, m.encode(response)...)
		}
		again := decodeMessages(t, newDecoderLike(newDec(), Limits{}), enc)
		if len(again) != len(msgs) {
			t.Fatalf("%d messages decoded, %d after re-encoding %q", len(msgs), len(again), enc)
		}
		for i := range msgs {
			if msgs[i].String() != again[i].String() {
				t.Fatalf("message %d\n%s\nre-encoded as %q, decodes as\n%s", i, msgs[i], enc, again[i])
			}
		}
	})
}

// newDecoderLike returns a fresh decoder of d's direction and request
// method, with limits l.
func newDecoderLike(d *Decoder, l Limits) *Decoder {
	n := newDecoder(l, d.response)
	n.reqHead, n.reqConnect = d.reqHead, d.reqConnect
	return n
}

// message is one complete decoded message.
type message struct {
	minor    int
	body     BodyKind
	head     protocol.Headers
	data     []byte
	trailers protocol.Headers
}

func (m *message) String() string {
	return m.body.String() + fields(&m.head) + "\n" + string(m.data) + "\n" + fields(&m.trailers)
}

// encode writes m back with the package's encoders.
func (m *message) encode(response bool) []byte {
	b := network.GetBuffer(256)
	defer b.Release()
	if response {
		AppendResponseHead(b, &m.head)
	} else {
		AppendRequestHead(b, &m.head)
	}
	switch m.body {
	case BodyChunked:
		AppendChunk(b, m.data)
		AppendLastChunk(b, &m.trailers)
	case BodyLength, BodyUntilClose:
		b.Append(m.data)
	}
	return bytes.Clone(b.Bytes())
}

// decodeMessages decodes data whole and returns the messages that
// completed before the end or the first error.
func decodeMessages(t *testing.T, d *Decoder, data []byte) []*message {
	var msgs []*message
	var cur *message
	buf := network.NewBuffer(bytes.Clone(data))
	defer buf.Release()
	finished := false
	for calls := 0; calls < 4*len(data)+64; calls++ {
		ev, err := d.Decode(buf)
		if err == nil && ev == EventNeedMore {
			if finished {
				return msgs
			}
			finished = true
			ev, err = d.Finish()
		}
		if err != nil || ev == EventNeedMore {
			return msgs
		}
		switch ev {
		case EventHead:
			cur = &message{minor: d.ProtoMinor(), body: d.Body()}
			cur.head.CopyFrom(d.Head())
		case EventData:
			cur.data = append(cur.data, d.Data()...)
		case EventEnd:
			cur.trailers.CopyFrom(d.Trailers())
			msgs = append(msgs, cur)
		}
	}
	t.Fatalf("decoder loops on %q", data)
	return nil
}

func TestFuzzSeedsDecode(t *testing.T) {
	// The seeds run as ordinary tests through FuzzDecode*; this checks the
	// re-encode property on one pipelined stream of every good request.
	t.Parallel()
	var all strings.Builder
	for _, tc := range goodRequests {
		if tc.limits == (Limits{}) && !strings.Contains(tc.in, "HTTP/1.0") {
			all.WriteString(tc.in)
		}
	}
	in := []byte(all.String())
	msgs := decodeMessages(t, NewRequestDecoder(Limits{}), in)
	if len(msgs) < 15 {
		t.Fatalf("only %d messages decoded from the good requests", len(msgs))
	}
	checkDecoder(t, requestDecoder(Limits{}), false, in)
}
