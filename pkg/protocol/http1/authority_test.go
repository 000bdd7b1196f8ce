package http1

import (
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// TestAppendRequestHeadAuthority: a request that came as HTTP/2 names its
// host in :authority; the HTTP/1.1 head gets it as Host, once.
func TestAppendRequestHeadAuthority(t *testing.T) {
	for _, tc := range []struct {
		fields []string
		want   string
	}{
		{[]string{":method", "GET", ":path", "/a", ":authority", "example.test"},
			"GET /a HTTP/1.1\r\nhost: example.test\r\n\r\n"},
		{[]string{":method", "GET", ":path", "/a", ":authority", "example.test", "host", "other.test"},
			"GET /a HTTP/1.1\r\nhost: other.test\r\n\r\n"},
		{[]string{":method", "GET", ":path", "/a"}, "GET /a HTTP/1.1\r\n\r\n"},
	} {
		var h protocol.Headers
		for i := 0; i < len(tc.fields); i += 2 {
			h.AddString(tc.fields[i], tc.fields[i+1])
		}
		b := network.GetBuffer(256)
		AppendRequestHead(b, &h)
		if got := string(b.Bytes()); got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.fields, got, tc.want)
		}
		b.Release()
	}
}
