package http2

import (
	"bytes"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/sidecar-mesh/mosn/pkg/network"
)

// BenchmarkServerRequest is the server side of one request: a GET's
// HEADERS decoded and handed to a receiver, which answers with a head and
// a two-byte body (encoded, framed and queued on the connection).
func BenchmarkServerRequest(b *testing.B) {
	c, done := pipeServer(b, answerHandler{})
	defer done()
	var enc *hpack.Encoder
	var hb bytes.Buffer
	var out bytes.Buffer
	fr := http2.NewFramer(&out, nil)
	enc = hpack.NewEncoder(&hb)
	start := frames(func(fr *http2.Framer, _ *hpack.Encoder, _ *bytes.Buffer) { fr.WriteSettings() })
	buf := network.GetBuffer(4096)
	buf.AppendString(clientPreface)
	buf.Append(start)
	c.OnData(c.nc, buf, false)
	id := uint32(1)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		out.Reset()
		getRequest(fr, enc, &hb, id, "/bench")
		id += 2
		buf.Append(out.Bytes())
		c.OnData(c.nc, buf, false)
	}
	b.StopTimer()
	buf.Release()
}

// TestServerRequestAllocs keeps the server request path's allocations in
// a budget: the stream, its head's copy (arena and field list), the
// response's frames.
func TestServerRequestAllocs(t *testing.T) {
	res := testing.Benchmark(BenchmarkServerRequest)
	budget := int64(6)
	if raceEnabled {
		budget = 16
	}
	if a := res.AllocsPerOp(); a > budget {
		t.Errorf("%d allocations per request, budget %d", a, budget)
	}
}
