package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"os"
	"strings"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/protocol/rpc"
)

// Frames captured between sofa-rpc-node 2.10.0 peers on loopback
// (testdata/*.bin), and the heartbeat of rpc-wire-formats.md §3.5.
func captured(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var heartbeatV1, _ = hex.DecodeString("0101000001000000070100000bb80000000000000000")

func join(bufs []*network.Buffer) []byte {
	var out []byte
	for _, b := range bufs {
		out = append(out, b.Bytes()...)
		b.Release()
	}
	return out
}

func get(h *protocol.Headers, name string) string {
	v, _ := h.Get(name)
	return string(v)
}

func TestDecodeCaptured(t *testing.T) {
	for _, tc := range []struct {
		file    string
		kind    rpc.Kind
		version uint8
		service string
	}{
		{"v1-request.bin", rpc.KindRequest, 1, "com.example.EchoService:1.0"},
		{"v1-response.bin", rpc.KindResponse, 1, ""},
		{"v2-request.bin", rpc.KindRequest, 2, "com.example.EchoService:1.0"},
		{"v2-response.bin", rpc.KindResponse, 2, ""},
	} {
		p := captured(t, tc.file)
		var f rpc.Frame
		n, err := Codec{}.Decode(p, &f, rpc.Limits{})
		if err != nil || n != len(p) {
			t.Fatalf("%s: Decode = %d, %v; want %d", tc.file, n, err, len(p))
		}
		if f.Kind != tc.kind || f.Version != tc.version || get(&f.Headers, "service") != tc.service {
			t.Errorf("%s: kind %v version %d service %q", tc.file, f.Kind, f.Version, get(&f.Headers, "service"))
		}
		// Every shorter prefix needs more bytes.
		for i := 0; i < len(p); i++ {
			if _, err := (Codec{}).Decode(p[:i], &f, rpc.Limits{}); err != rpc.ErrNeedMore {
				t.Fatalf("%s: prefix %d: %v, want ErrNeedMore", tc.file, i, err)
			}
		}
	}
}

// TestRoundTrip re-encodes a decoded request and response from their
// Headers, as the proxy does, and gets the same bytes back (bolt v2 with a
// new id gets a new, valid CRC).
func TestRoundTrip(t *testing.T) {
	for _, file := range []string{"v1-request.bin", "v2-request.bin"} {
		p := captured(t, file)
		var f rpc.Frame
		if _, err := (Codec{}).Decode(p, &f, rpc.Limits{}); err != nil {
			t.Fatal(err)
		}
		body := network.GetBuffer(len(f.Body))
		body.Append(f.Body)
		out := join(Codec{}.EncodeRequest(f.ID, &f.Headers, body))
		if !bytes.Equal(out, p) {
			t.Errorf("%s: re-encoded\n%x\nwant\n%x", file, out, p)
		}
		body = network.GetBuffer(len(f.Body))
		body.Append(f.Body)
		out = join(Codec{}.EncodeRequest(f.ID+77, &f.Headers, body))
		var g rpc.Frame
		if _, err := (Codec{}).Decode(out, &g, rpc.Limits{}); err != nil || g.ID != f.ID+77 {
			t.Errorf("%s: with a new id: %v, id %d", file, err, g.ID)
		}
	}
	for i, file := range []string{"v1-response.bin", "v2-response.bin"} {
		p := captured(t, file)
		var f rpc.Frame
		if _, err := (Codec{}).Decode(p, &f, rpc.Limits{}); err != nil {
			t.Fatal(err)
		}
		req := rpc.Frame{ID: f.ID, Version: f.Version, Ver1: f.Ver1, Switch: f.Switch, Codec: f.Codec}
		body := network.GetBuffer(len(f.Body))
		body.Append(f.Body)
		out := join(Codec{}.EncodeResponse(&req, &f.Headers, body))
		if !bytes.Equal(out, p) {
			t.Errorf("response %d: re-encoded\n%x\nwant\n%x", i, out, p)
		}
	}
}

func TestHeartbeat(t *testing.T) {
	var f rpc.Frame
	n, err := Codec{}.Decode(heartbeatV1, &f, rpc.Limits{})
	if err != nil || n != 22 || f.Kind != rpc.KindHeartbeat || f.ID != 7 {
		t.Fatalf("Decode = %d, %v, %v id %d", n, err, f.Kind, f.ID)
	}
	ack := Codec{}.EncodeHeartbeatAck(&f)
	want, _ := hex.DecodeString("0100000001000000070100000000000000000000")
	if !bytes.Equal(ack.Bytes(), want) {
		t.Fatalf("ack %x, want %x", ack.Bytes(), want)
	}
	ack.Release()
	hb := Codec{}.EncodeHeartbeat(9)
	if _, err := (Codec{}).Decode(hb.Bytes(), &f, rpc.Limits{}); err != nil || f.Kind != rpc.KindHeartbeat || f.ID != 9 {
		t.Fatalf("own heartbeat: %v %v", err, f.Kind)
	}
	hb.Release()
	// A v2 heartbeat is acknowledged in v2 with its CRC.
	v2 := rpc.Frame{Kind: rpc.KindHeartbeat, ID: 5, Version: 2, Ver1: 2, Switch: 1, Codec: 1}
	ack = Codec{}.EncodeHeartbeatAck(&v2)
	if _, err := (Codec{}).Decode(ack.Bytes(), &f, rpc.Limits{}); err != nil || f.Kind != rpc.KindHeartbeatAck || ack.Len() != 26 {
		t.Fatalf("v2 ack: %v %v len %d", err, f.Kind, ack.Len())
	}
	ack.Release()
}

func TestDecodeErrors(t *testing.T) {
	v2 := captured(t, "v2-request.bin")
	badCRC := append([]byte(nil), v2...)
	badCRC[len(badCRC)-1] ^= 1
	negative := append([]byte(nil), captured(t, "v1-request.bin")...)
	negative[18] = 0x80
	for _, tc := range []struct {
		name string
		in   []byte
		l    rpc.Limits
		want error
	}{
		{"proto", []byte{0x03}, rpc.Limits{}, rpc.ErrCorrupt},
		{"type", []byte{0x01, 0x07}, rpc.Limits{}, rpc.ErrCorrupt},
		{"crc", badCRC, rpc.Limits{}, rpc.ErrCorrupt},
		{"negative length", negative, rpc.Limits{}, rpc.ErrCorrupt},
		{"header limit", v2, rpc.Limits{MaxHeaderBytes: 50}, rpc.ErrTooLarge},
		{"frame limit", v2, rpc.Limits{MaxFrameBytes: 100}, rpc.ErrTooLarge},
	} {
		var f rpc.Frame
		if _, err := (Codec{}).Decode(tc.in, &f, tc.l); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestEncodeFromHTTP encodes a request and a failed response from headers
// that another protocol produced.
func TestEncodeFromHTTP(t *testing.T) {
	var h protocol.Headers
	h.AddString(protocol.Method, "POST")
	h.AddString(protocol.Path, "/x")
	h.AddString("service", "com.example.EchoService:1.0")
	h.AddString("rpc_trace_context.sofaTraceId", "abc")
	h.AddString("content-length", "3")
	body := network.GetBuffer(3)
	body.AppendString("xyz")
	out := join(Codec{V2: true}.EncodeRequest(3, &h, body))
	var f rpc.Frame
	if _, err := (Codec{}).Decode(out, &f, rpc.Limits{}); err != nil {
		t.Fatal(err)
	}
	if f.Version != 2 || string(f.Body) != "xyz" || get(&f.Headers, "service") != "com.example.EchoService:1.0" ||
		get(&f.Headers, HeaderClass) != RequestClass || !bytes.Contains(out, []byte("sofaTraceId")) ||
		bytes.Contains(out, []byte(":path")) || bytes.Contains(out, []byte("content-length")) {
		t.Fatalf("decoded %+v from %q", f, out)
	}

	var r protocol.Headers
	r.AddString(protocol.Status, "504")
	body = network.GetBuffer(32)
	body.AppendString("upstream request timeout\n")
	req := rpc.Frame{ID: 11, Version: 1, Codec: 1}
	out = join(Codec{}.EncodeResponse(&req, &r, body))
	if _, err := (Codec{}).Decode(out, &f, rpc.Limits{}); err != nil {
		t.Fatal(err)
	}
	if f.Status != StatusTimeout || f.ID != 11 || get(&f.Headers, protocol.Status) != "504" ||
		len(f.Body) != 0 {
		t.Fatalf("response %+v body %q", f, f.Body)
	}
}

// TestDraftErrorText: a caller that spoke the draft dialect (the captured
// sofa-rpc-node request) gets a local reply's text as a draft
// RpcServerException; the exact bytes are what sofa-bolt-node 2.0.1's own
// encoder writes for such an error, minus its stack trace.
func TestDraftErrorText(t *testing.T) {
	var req rpc.Frame
	if _, err := (Codec{}).Decode(captured(t, "v1-request.bin"), &req, rpc.Limits{}); err != nil || req.Dialect != DialectDraft {
		t.Fatalf("dialect %d, %v", req.Dialect, err)
	}
	var h protocol.Headers
	h.AddString(protocol.Status, "504")
	body := network.GetBuffer(32)
	body.AppendString("boom here\n")
	out := join(Codec{}.EncodeResponse(&req, &h, body))
	var f rpc.Frame
	if _, err := (Codec{}).Decode(out, &f, rpc.Limits{}); err != nil {
		t.Fatal(err)
	}
	want := "O\xc8\x34" + serverExceptionClass + "\x93\x0ddetailMessage\x0astackTrace\x05causeo\x90\x09boom hereNN"
	if f.Status != StatusTimeout || string(f.Body) != want {
		t.Fatalf("status %d body %q", f.Status, f.Body)
	}
}

func TestStatusMapping(t *testing.T) {
	for _, s := range []uint16{StatusSuccess, StatusNoProcessor, StatusServerThreadpoolBusy, StatusTimeout, StatusConnectionClosed} {
		if got := StatusFor(HTTPStatus(s)); got != s {
			t.Errorf("status %d -> HTTP %d -> %d", s, HTTPStatus(s), got)
		}
	}
}

func TestDecodeAllocs(t *testing.T) {
	p := captured(t, "v1-request.bin")
	var f rpc.Frame
	Codec{}.Decode(p, &f, rpc.Limits{})
	if n := testing.AllocsPerRun(100, func() { Codec{}.Decode(p, &f, rpc.Limits{}) }); n != 0 {
		t.Errorf("Decode allocates %v times per frame, want 0", n)
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, file := range []string{"v1-request.bin", "v2-request.bin"} {
		p := captured(b, file)
		b.Run(strings.TrimSuffix(file, ".bin"), func(b *testing.B) {
			var f rpc.Frame
			b.ReportAllocs()
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if _, err := (Codec{}).Decode(p, &f, rpc.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	p := captured(b, "v2-request.bin")
	var f rpc.Frame
	Codec{}.Decode(p, &f, rpc.Limits{})
	b.ReportAllocs()
	for b.Loop() {
		body := network.GetBuffer(len(f.Body))
		body.Append(f.Body)
		for _, out := range (Codec{}).EncodeRequest(1, &f.Headers, body) {
			out.Release()
		}
	}
}

// FuzzDecodeV1 is FuzzDecode on frames that start as bolt v1.
func FuzzDecodeV1(f *testing.F) {
	f.Add(captured(f, "v1-request.bin"))
	f.Add(captured(f, "v1-response.bin"))
	f.Add(heartbeatV1)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 0 {
			data[0] = ProtoV1
		}
		checkDecode(t, data)
	})
}

// FuzzDecodeV2 is FuzzDecode on frames that start as bolt v2, with the
// CRC of the frame the fixed part declares made right, so that inputs get
// past the CRC check to the fields behind it.
func FuzzDecodeV2(f *testing.F) {
	f.Add(captured(f, "v2-request.bin"))
	f.Add(captured(f, "v2-response.bin"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 0 {
			data[0] = ProtoV2
		}
		fixCRC(data)
		checkDecode(t, data)
	})
}

// fixCRC writes the right CRC32 into a v2 frame whose lengths fit in data.
func fixCRC(p []byte) {
	if len(p) < v2ResponseFixed || p[1] != 2 || p[11]&1 == 0 {
		return
	}
	lay := v2Req
	if p[2] == typeResponse {
		lay = v2Resp
	}
	if len(p) < lay.fixed {
		return
	}
	n := lay.fixed + int(binary.BigEndian.Uint16(p[lay.lens:])) + int(binary.BigEndian.Uint16(p[lay.lens+2:])) +
		int(binary.BigEndian.Uint32(p[lay.lens+4:]))
	if n < 0 || n+4 > len(p) {
		return
	}
	binary.BigEndian.PutUint32(p[n:], crc32.ChecksumIEEE(p[:n]))
}

// FuzzDecode decodes any bytes: no panic, a length within the input, and
// a frame that decodes re-encodes to one that decodes again. Seeds:
// testdata/fuzz/FuzzDecode plus the captured frames.
func FuzzDecode(f *testing.F) {
	for _, file := range []string{"v1-request.bin", "v1-response.bin", "v2-request.bin", "v2-response.bin"} {
		f.Add(captured(f, file))
	}
	f.Add(heartbeatV1)
	f.Fuzz(checkDecode)
}

func checkDecode(t *testing.T, data []byte) {
	{
		var fr rpc.Frame
		l := rpc.Limits{MaxHeaderBytes: 1 << 10, MaxFrameBytes: 4 << 10}
		n, err := Codec{}.Decode(data, &fr, l)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with length %d", err, n)
			}
			return
		}
		if n <= 0 || n > len(data) || n > l.MaxFrameBytes {
			t.Fatalf("length %d of %d bytes", n, len(data))
		}
		if !fr.Kind.IsRequest() {
			return
		}
		body := network.GetBuffer(len(fr.Body))
		body.Append(fr.Body)
		out := join(Codec{}.EncodeRequest(fr.ID, &fr.Headers, body))
		var again rpc.Frame
		if _, err := (Codec{}).Decode(out, &again, rpc.Limits{}); err != nil {
			t.Fatalf("re-encoded frame does not decode: %v\n%x", err, out)
		}
	}
}
