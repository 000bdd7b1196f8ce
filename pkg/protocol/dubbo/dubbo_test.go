package dubbo

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/protocol/rpc"
)

// Frames captured between sofa-rpc-node 2.10.0 + dubbo-remoting 2.1.4 peers
// on loopback (testdata/*.bin), and the heartbeat of §3.7.
func captured(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var heartbeat, _ = hex.DecodeString("dabbe20000000000000000090000000" + "14e")

func get(h *protocol.Headers, name string) string {
	v, _ := h.Get(name)
	return string(v)
}

func join(bufs []*network.Buffer) []byte {
	var out []byte
	for _, b := range bufs {
		out = append(out, b.Bytes()...)
		b.Release()
	}
	return out
}

func TestDecodeRequest(t *testing.T) {
	p := captured(t, "request.bin")
	var f rpc.Frame
	n, err := Codec{}.Decode(p, &f, rpc.Limits{})
	if err != nil || n != len(p) {
		t.Fatalf("Decode = %d, %v", n, err)
	}
	for name, want := range map[string]string{
		"service": "com.example.EchoService", "method": "echo", "version": "1.0",
		"group": "SOFA", "dubbo": "5.3.0", "path": "com.example.EchoService",
		HeaderSerialization: "2", rpc.HeaderRequestID: "1",
	} {
		if got := get(&f.Headers, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if f.Kind != rpc.KindRequest || !bytes.Equal(f.Body, p[16:]) {
		t.Errorf("kind %v", f.Kind)
	}
	for i := 0; i < len(p); i++ {
		if _, err := (Codec{}).Decode(p[:i], &f, rpc.Limits{}); err != rpc.ErrNeedMore {
			t.Fatalf("prefix %d: %v", i, err)
		}
	}
	// The request goes upstream with a new id and the body untouched.
	Codec{}.Decode(p, &f, rpc.Limits{})
	body := network.GetBuffer(len(f.Body))
	body.Append(f.Body)
	out := join(Codec{}.EncodeRequest(1, &f.Headers, body))
	if !bytes.Equal(out, p) {
		t.Errorf("re-encoded\n%x\nwant\n%x", out, p)
	}
}

func TestDecodeResponse(t *testing.T) {
	p := captured(t, "response.bin")
	var f rpc.Frame
	if _, err := (Codec{}).Decode(p, &f, rpc.Limits{}); err != nil {
		t.Fatal(err)
	}
	if f.Kind != rpc.KindResponse || f.Status != StatusOK || get(&f.Headers, protocol.Status) != "200" {
		t.Fatalf("%+v", f)
	}
	req := rpc.Frame{ID: 1, Codec: 2}
	body := network.GetBuffer(len(f.Body))
	body.Append(f.Body)
	if out := join(Codec{}.EncodeResponse(&req, &f.Headers, body)); !bytes.Equal(out, p) {
		t.Errorf("re-encoded\n%x\nwant\n%x", out, p)
	}
}

func TestHeartbeat(t *testing.T) {
	var f rpc.Frame
	if _, err := (Codec{}).Decode(heartbeat, &f, rpc.Limits{}); err != nil || f.Kind != rpc.KindHeartbeat || f.ID != 9 {
		t.Fatalf("%v %v %d", err, f.Kind, f.ID)
	}
	ack := Codec{}.EncodeHeartbeatAck(&f)
	want, _ := hex.DecodeString("dabb2214000000000000000900000001" + "4e")
	if !bytes.Equal(ack.Bytes(), want) {
		t.Fatalf("ack %x", ack.Bytes())
	}
	if _, err := (Codec{}).Decode(ack.Bytes(), &f, rpc.Limits{}); err != nil || f.Kind != rpc.KindHeartbeatAck {
		t.Fatalf("ack decodes as %v %v", f.Kind, err)
	}
	ack.Release()
	// An event with a body other than null is not a heartbeat.
	ro, _ := hex.DecodeString("dabbe2000000000000000009000000" + "0252" + "00")
	ro[15] = 2
	if _, err := (Codec{}).Decode(ro[:18], &f, rpc.Limits{}); err != nil || f.Kind != rpc.KindEvent {
		t.Fatalf("read-only event: %v %v", f.Kind, err)
	}
}

func TestLocalReply(t *testing.T) {
	var h protocol.Headers
	h.AddString(protocol.Status, "404")
	body := network.GetBuffer(16)
	body.AppendString("no route\n")
	req := rpc.Frame{ID: 4, Codec: 2}
	out := join(Codec{}.EncodeResponse(&req, &h, body))
	var f rpc.Frame
	if _, err := (Codec{}).Decode(out, &f, rpc.Limits{}); err != nil || f.Status != StatusServiceNotFound || string(f.Body) != "\x08no route" {
		t.Fatalf("%v %+v %q", err, f, f.Body)
	}
}

func TestDecodeErrors(t *testing.T) {
	p := captured(t, "request.bin")
	long := append([]byte(nil), p...)
	long[12] = 0x7f
	badBody := append([]byte(nil), p...)
	badBody[16] = 0x40 // not a string
	for _, tc := range []struct {
		name string
		in   []byte
		l    rpc.Limits
		want error
	}{
		{"magic", []byte{0xda, 0xbc}, rpc.Limits{}, rpc.ErrCorrupt},
		{"too large", long, rpc.Limits{}, rpc.ErrTooLarge},
		{"limit", p, rpc.Limits{MaxFrameBytes: 100}, rpc.ErrTooLarge},
		{"body", badBody, rpc.Limits{}, rpc.ErrCorrupt},
	} {
		var f rpc.Frame
		if _, err := (Codec{}).Decode(tc.in, &f, tc.l); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestSkipperBoundsLists(t *testing.T) {
	// A fixed-length list claiming 2^31-1 elements must be refused before
	// anyone allocates for it.
	s := skipper{p: []byte{'X', 'I', 0x7f, 0xff, 0xff, 0xff, 0x90}}
	if err := s.value(0); err == nil {
		t.Fatal("accepted a list longer than its bytes")
	}
	if n, ok := countParams([]byte("Ljava/lang/String;I[J[[Lx;")); !ok || n != 4 {
		t.Fatalf("countParams = %d %v", n, ok)
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	p := captured(b, "request.bin")
	var f rpc.Frame
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := (Codec{}).Decode(p, &f, rpc.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	p := captured(b, "request.bin")
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

// FuzzDecode decodes any bytes: no panic and a sane length.
func FuzzDecode(f *testing.F) {
	f.Add(captured(f, "request.bin"))
	f.Add(captured(f, "response.bin"))
	f.Add(heartbeat)
	f.Fuzz(func(t *testing.T, data []byte) {
		var fr rpc.Frame
		n, err := Codec{}.Decode(data, &fr, rpc.Limits{MaxFrameBytes: 64 << 10})
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with length %d", err, n)
			}
			return
		}
		if n < HeaderLen || n > len(data) {
			t.Fatalf("length %d of %d", n, len(data))
		}
	})
}

// FuzzHeaders feeds any bytes to the request body reader (the hessian2
// header extraction): no panic, and nothing handed to dubbo-go-hessian2 that
// the skipper did not vet.
func FuzzHeaders(f *testing.F) {
	f.Add(captured(f, "request.bin")[HeaderLen:])
	f.Add([]byte("\x052.0.2\x17com.example.DemoService\x00\x08sayHello\x12Ljava/lang/String;\x0bgo-consumerH\x09interface\x01aZ"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var fr rpc.Frame
		decodeRequestBody(body, &fr, 1<<10)
	})
}

// TestLargeAttachmentsSkipped: attachments above the header limit are
// walked but not decoded.
func TestLargeAttachmentsSkipped(t *testing.T) {
	p := captured(t, "request.bin")
	var f rpc.Frame
	if _, err := (Codec{}).Decode(p, &f, rpc.Limits{MaxHeaderBytes: 40}); err != nil {
		t.Fatal(err)
	}
	if get(&f.Headers, "service") != "com.example.EchoService" || f.Headers.Has("group") {
		t.Fatalf("service %q, group %q", get(&f.Headers, "service"), get(&f.Headers, "group"))
	}
}
