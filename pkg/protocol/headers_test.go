package protocol

import (
	"strings"
	"testing"
)

func TestHeaders(t *testing.T) {
	var h Headers
	h.AddString(Method, "GET")
	h.Add([]byte("Host"), []byte("example.com"))
	h.Add([]byte("X-Multi"), []byte("a"))
	h.AddString("x-multi", "b")
	h.AddString("Connection", "keep-alive, Upgrade")
	if v, ok := h.Get("host"); !ok || string(v) != "example.com" {
		t.Fatalf("Get(host) = %q, %v", v, ok)
	}
	if h.Len() != 5 {
		t.Fatalf("Len = %d", h.Len())
	}
	if !h.HasToken("connection", "upgrade") || h.HasToken("connection", "close") {
		t.Fatal("HasToken wrong")
	}
	h.Set("x-multi", "c")
	var regular []string
	h.RangeRegular(func(n, v []byte) bool { regular = append(regular, string(n)+"="+string(v)); return true })
	if got := strings.Join(regular, ","); got != "host=example.com,x-multi=c,connection=keep-alive, Upgrade" {
		t.Fatalf("after Set: %s", got)
	}
	h.Del("host")
	if h.Has("host") || h.Len() != 3 {
		t.Fatalf("Del left host or len %d", h.Len())
	}
	var c Headers
	c.CopyFrom(&h)
	h.Reset()
	if v, _ := c.Get(Method); string(v) != "GET" || c.Len() != 3 || h.Len() != 0 {
		t.Fatal("CopyFrom/Reset")
	}
}

func TestHeadersReuseAllocatesNothing(t *testing.T) {
	var h Headers
	name, value := []byte("Content-Type"), []byte("text/plain")
	fill := func() {
		h.Reset()
		for range 12 {
			h.Add(name, value)
		}
		h.Get("content-type")
		h.HasToken("connection", "close")
	}
	fill()
	if allocs := testing.AllocsPerRun(100, fill); allocs != 0 {
		t.Fatalf("refilling a reused Headers allocates %.0f times", allocs)
	}
}
