package http1

import (
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// decodeAll decodes one whole message from buf.
func decodeAll(b *testing.B, d *Decoder, buf *network.Buffer) {
	for {
		ev, err := d.Decode(buf)
		if err != nil {
			b.Fatal(err)
		}
		switch ev {
		case EventEnd:
			return
		case EventNeedMore:
			b.Fatal("incomplete message")
		}
	}
}

func benchmarkDecode(b *testing.B, d *Decoder, msg []byte) {
	buf := network.GetBuffer(4096)
	defer buf.Release()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		buf.Append(msg)
		decodeAll(b, d, buf)
	}
}

// BenchmarkDecodeRequestHead: a typical browser-like GET (9 fields) on a
// keep-alive connection.
func BenchmarkDecodeRequestHead(b *testing.B) {
	benchmarkDecode(b, NewRequestDecoder(Limits{}), typicalGET)
}

// BenchmarkDecodeChunkedBody: a POST with three chunks (2 KiB) and a
// trailer.
func BenchmarkDecodeChunkedBody(b *testing.B) {
	benchmarkDecode(b, NewRequestDecoder(Limits{}), chunkedPOST)
}

// BenchmarkDecodeResponse: a 200 with 6 fields and a small JSON body.
func BenchmarkDecodeResponse(b *testing.B) {
	d := NewResponseDecoder(Limits{})
	d.SetRequestMethod([]byte("GET"))
	benchmarkDecode(b, d, typicalResponse)
}

func BenchmarkAppendResponseHead(b *testing.B) {
	h := headers(protocol.Status, "200",
		"server", "mosn",
		"date", "Sat, 21 Nov 2026 14:00:00 GMT",
		"content-type", "application/json",
		"content-length", "27",
		"cache-control", "no-cache",
		"x-request-id", "6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f")
	buf := network.GetBuffer(4096)
	defer buf.Release()
	b.ReportAllocs()
	for b.Loop() {
		AppendResponseHead(buf, h)
		buf.Drain(buf.Len())
	}
}

func BenchmarkAppendRequestHead(b *testing.B) {
	d := NewRequestDecoder(Limits{})
	if ev, err := d.Decode(network.NewBuffer(typicalGET)); ev != EventHead || err != nil {
		b.Fatal(ev, err)
	}
	buf := network.GetBuffer(4096)
	defer buf.Release()
	b.ReportAllocs()
	for b.Loop() {
		AppendRequestHead(buf, d.Head())
		buf.Drain(buf.Len())
	}
}
