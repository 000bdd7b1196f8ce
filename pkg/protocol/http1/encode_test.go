package http1

import (
	"strings"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
)

// headers builds a Headers from name, value pairs.
func headers(kv ...string) *protocol.Headers {
	var h protocol.Headers
	for i := 0; i < len(kv); i += 2 {
		h.AddString(kv[i], kv[i+1])
	}
	return &h
}

func TestAppend(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("z", 255)
	for _, tc := range []struct {
		name   string
		encode func(*network.Buffer)
		want   string
	}{
		{"request head", func(b *network.Buffer) {
			AppendRequestHead(b, headers(protocol.Method, "POST", protocol.Path, "/x?y=1", "host", "a", "content-length", "5"))
		}, "POST /x?y=1 HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\n\r\n"},
		{"request head defaults", func(b *network.Buffer) {
			AppendRequestHead(b, headers("host", "a"))
		}, "GET / HTTP/1.1\r\nhost: a\r\n\r\n"},
		{"response head", func(b *network.Buffer) {
			AppendResponseHead(b, headers(protocol.Status, "404", "content-length", "0"))
		}, "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"},
		{"response head unknown code", func(b *network.Buffer) {
			AppendResponseHead(b, headers(protocol.Status, "299"))
		}, "HTTP/1.1 299 Unknown\r\n\r\n"},
		{"response head without status", func(b *network.Buffer) {
			AppendResponseHead(b, headers("x", "y"))
		}, "HTTP/1.1 500 Internal Server Error\r\nx: y\r\n\r\n"},
		{"response head bad status", func(b *network.Buffer) {
			AppendResponseHead(b, headers(protocol.Status, "20x"))
		}, "HTTP/1.1 500 Internal Server Error\r\n\r\n"},
		{"chunk", func(b *network.Buffer) { AppendChunk(b, []byte("hello")) }, "5\r\nhello\r\n"},
		{"chunk hex", func(b *network.Buffer) { AppendChunk(b, []byte(long)) }, "ff\r\n" + long + "\r\n"},
		{"empty chunk", func(b *network.Buffer) { AppendChunk(b, nil) }, ""},
		{"last chunk", func(b *network.Buffer) { AppendLastChunk(b, nil) }, "0\r\n\r\n"},
		{"last chunk with trailers", func(b *network.Buffer) {
			AppendLastChunk(b, headers("grpc-status", "0", "grpc-message", "ok"))
		}, "0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n"},
	} {
		b := network.GetBuffer(16) // small: the encoders must grow it
		tc.encode(b)
		if got := string(b.Bytes()); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
		b.Release()
	}
}

// TestRoundTrip encodes messages and decodes them back.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		response bool
		method   string
		head     *protocol.Headers
		body     []string // chunks when the head says chunked
		trailers *protocol.Headers
		want     string
	}{
		{name: "request with length",
			head: headers(protocol.Method, "PUT", protocol.Path, "/k", "host", "h", "content-length", "5"), body: []string{"hello"},
			want: "HEAD 1.1 length/5 ka {:method=PUT :path=/k host=h content-length=5}\nDATA hello\nEND\nEOF"},
		{name: "chunked request with trailers",
			head: headers(protocol.Method, "POST", protocol.Path, "/", "host", "h", "transfer-encoding", "chunked"),
			body: []string{"hello", " ", strings.Repeat("w", 300)}, trailers: headers("x-sum", "9"),
			want: "HEAD 1.1 chunked ka {:method=POST :path=/ host=h transfer-encoding=chunked}\nDATA hello " + strings.Repeat("w", 300) + "\nEND {x-sum=9}\nEOF"},
		{name: "chunked response", response: true, method: "GET",
			head: headers(protocol.Status, "200", "transfer-encoding", "chunked", "content-type", "text/plain"), body: []string{"a", "", "bc"},
			want: "HEAD 1.1 chunked ka {:status=200 transfer-encoding=chunked content-type=text/plain}\nDATA abc\nEND\nEOF"},
		{name: "response with length", response: true, method: "GET",
			head: headers(protocol.Status, "503", "content-length", "4", "connection", "close"), body: []string{"busy"},
			want: "HEAD 1.1 length/4 close {:status=503 content-length=4 connection=close}\nDATA busy\nEND\nEOF"},
		{name: "204 response", response: true, method: "GET",
			head: headers(protocol.Status, "204", "x", "y"),
			want: "HEAD 1.1 none ka {:status=204 x=y}\nEND\nEOF"},
	} {
		b := network.GetBuffer(64)
		newDec := requestDecoder(Limits{})
		if tc.response {
			AppendResponseHead(b, tc.head)
			newDec = responseDecoder(Limits{}, tc.method)
		} else {
			AppendRequestHead(b, tc.head)
		}
		chunked := tc.head.HasToken("transfer-encoding", "chunked")
		for _, p := range tc.body {
			if chunked {
				AppendChunk(b, []byte(p))
			} else {
				b.AppendString(p)
			}
		}
		if chunked {
			AppendLastChunk(b, tc.trailers)
		}
		if got := sameEveryWay(t, newDec, b.Bytes()); got != tc.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.name, got, tc.want)
		}
		b.Release()
	}
}

// TestReencodeDecodedHead decodes a head, encodes it again and decodes the
// result: the head must come back unchanged.
func TestReencodeDecodedHead(t *testing.T) {
	t.Parallel()
	for _, msg := range [][]byte{typicalGET, typicalResponse} {
		response := msg[0] == 'H'
		first, again := NewRequestDecoder(Limits{}), NewRequestDecoder(Limits{})
		if response {
			first, again = NewResponseDecoder(Limits{}), NewResponseDecoder(Limits{})
		}
		if ev, err := first.Decode(network.NewBuffer(msg)); ev != EventHead || err != nil {
			t.Fatal(ev, err)
		}
		b := network.GetBuffer(512)
		if response {
			AppendResponseHead(b, first.Head())
		} else {
			AppendRequestHead(b, first.Head())
		}
		if ev, err := again.Decode(b); ev != EventHead || err != nil {
			t.Fatal(ev, err)
		}
		if got, want := fields(again.Head()), fields(first.Head()); got != want {
			t.Errorf("re-encoded head\n%s\nwant\n%s", got, want)
		}
		b.Release()
	}
}

func TestRemoveHopByHop(t *testing.T) {
	t.Parallel()
	longName := "x-" + strings.Repeat("l", 40)
	h := headers(protocol.Method, "GET", protocol.Path, "/",
		"host", "a",
		"connection", "Keep-Alive, connection, X-Secret, , Upgrade, close, :path, "+strings.ToUpper(longName),
		"keep-alive", "timeout=5",
		"x-secret", "1",
		"proxy-connection", "keep-alive",
		"te", "trailers",
		"trailer", "x-sum",
		"transfer-encoding", "chunked",
		"upgrade", "websocket",
		longName, "2",
		"x-keep", "3",
		"connection", "x-other, Connection",
		"x-other", "4",
	)
	RemoveHopByHop(h)
	if got, want := fields(h), " {:method=GET :path=/ host=a trailer=x-sum x-keep=3}"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestEncodeAllocs: with room in the buffer the encoders allocate nothing,
// nor does RemoveHopByHop.
func TestEncodeAllocs(t *testing.T) {
	resp := headers(protocol.Status, "200", "content-type", "application/json", "content-length", "27",
		"date", "Sat, 21 Nov 2026 14:00:00 GMT", "server", "mosn")
	req := headers(protocol.Method, "GET", protocol.Path, "/api", "host", "a", "accept", "*/*")
	trailers := headers("grpc-status", "0")
	payload := []byte("hello world")
	b := network.GetBuffer(4096)
	defer b.Release()
	encode := func() {
		AppendResponseHead(b, resp)
		AppendRequestHead(b, req)
		AppendChunk(b, payload)
		AppendLastChunk(b, trailers)
		b.Drain(b.Len())
	}
	if n := testing.AllocsPerRun(200, encode); n != 0 {
		t.Errorf("encoders: %v allocations", n)
	}
	var h protocol.Headers
	name, value := []byte("Connection"), []byte("keep-alive, X-Trace")
	remove := func() {
		h.Reset()
		h.AddString(protocol.Method, "GET")
		h.AddString("host", "a")
		h.Add(name, value)
		h.AddString("x-trace", "1")
		h.AddString("keep-alive", "timeout=5")
		RemoveHopByHop(&h)
	}
	remove()
	if n := testing.AllocsPerRun(200, remove); n != 0 {
		t.Errorf("RemoveHopByHop: %v allocations", n)
	}
}

func TestStatusText(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]string{
		100: "Continue", 200: "OK", 204: "No Content", 304: "Not Modified", 404: "Not Found",
		413: "Content Too Large", 431: "Request Header Fields Too Large", 502: "Bad Gateway",
		505: "HTTP Version Not Supported", 299: "Unknown", 0: "Unknown",
	} {
		if got := StatusText(code); got != want {
			t.Errorf("StatusText(%d) = %q, want %q", code, got, want)
		}
	}
}
