package auto

import (
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// Fake protocols under the names the matchers look up, so that detection
// is tested without the real stream layers.
func init() {
	for _, n := range []string{"Http1", "Http2", "bolt", "dubbo"} {
		stream.Register(&stream.Protocol{Name: n, Serve: func(*network.Conn, stream.Limits, stream.ServerHandler) {}})
	}
	stream.Register(&stream.Protocol{Name: "boltv2", Serve: func(*network.Conn, stream.Limits, stream.ServerHandler) {}})
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		v    Verdict
	}{
		{"", "", More},
		{"P", "", More},
		{"PRI * HTTP/2.0\r\n", "", More},
		{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "Http2", Yes},
		{"POST / HTTP/1.1\r\n", "Http1", Yes},
		{"GET ", "Http1", Yes},
		{"GE", "", More},
		{"GET/", "", No},
		{"\x01\x01\x00\x01", "bolt", Yes},
		{"\x02", "bolt", Yes},
		{"\xda", "", More},
		{"\xda\xbb\xc2", "dubbo", Yes},
		{"\xda\xbc", "", No},
		{"SSH-2.0-OpenSSH", "", No},
		{"\x16\x03\x01", "", No}, // TLS is not among them
	} {
		name, v := Detect([]byte(tc.in))
		if name != tc.want || v != tc.v {
			t.Errorf("%q: %q %v, want %q %v", tc.in, name, v, tc.want, tc.v)
		}
	}
}

func TestAmong(t *testing.T) {
	p, ok := stream.Lookup("Http1, Http2")
	if !ok {
		t.Fatal("no protocol for a list")
	}
	if _, ok := stream.Lookup("Http1,nosuch"); ok {
		t.Fatal("a list with an unknown name resolved")
	}
	b, ok := stream.Lookup("boltv2,dubbo")
	if !ok || b.Name != "Auto(boltv2,dubbo)" || p.Name != "Auto(Http2,Http1)" {
		t.Fatalf("names %q %q", p.Name, b.Name)
	}
}

// FuzzDetect: detection never panics, and is stable as bytes arrive: once
// a prefix is decided, every longer input is decided the same way.
func FuzzDetect(f *testing.F) {
	for _, s := range []string{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "GET / HTTP/1.1\r\n", "\x01\x01\x00\x01\x01", "\x02\x02\x01", "\xda\xbb\xc2\x00", "PUT /x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		var decided string
		var verdict Verdict = More
		for i := 0; i <= len(p); i++ {
			name, v := Detect(p[:i])
			if verdict != More {
				if v != verdict || name != decided {
					t.Fatalf("%q decided %q %v, then %q: %q %v", p, decided, verdict, p[:i], name, v)
				}
				continue
			}
			decided, verdict = name, v
		}
	})
}
