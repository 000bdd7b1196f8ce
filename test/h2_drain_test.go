package test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestH2DrainGoAway: a graceful shutdown sends GOAWAY(NO_ERROR) naming the
// last stream it took; that stream still completes, then the connection
// closes and the drain ends with nothing closed by force.
func TestH2DrainGoAway(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	be := startH2Backend(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		io.WriteString(w, "done")
	})
	srv := startInProcess(t, h2Config(t, "Http2", "Http2", "", []string{be.addr()}))
	c, err := net.Dial("tcp", srv.addr(0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitBound))
	c.Write([]byte(http2.ClientPreface))
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "drain.test"}, {":path", "/slow"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
	<-arrived

	drained := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitBound)
		defer cancel()
		srv.Shutdown(ctx)
		close(drained)
	}()
	var goAway *http2.GoAwayFrame
	for goAway == nil {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("waiting for GOAWAY: %v", err)
		}
		goAway, _ = f.(*http2.GoAwayFrame)
	}
	if goAway.ErrCode != http2.ErrCodeNo || goAway.LastStreamID != 1 {
		t.Fatalf("GOAWAY %v last stream %d", goAway.ErrCode, goAway.LastStreamID)
	}
	close(release)
	var body []byte
	for done := false; !done; {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("waiting for the response: %v", err)
		}
		if d, ok := f.(*http2.DataFrame); ok && d.StreamID == 1 {
			body = append(body, d.Data()...)
			done = d.StreamEnded()
		}
	}
	if string(body) != "done" {
		t.Fatalf("body %q", body)
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("connection not closed after the last stream: %v", err)
	}
	select {
	case <-drained:
	case <-time.After(waitBound):
		t.Fatal("drain did not end")
	}
	if got := srv.listener(0).ConnectionActive.Load(); got != 0 {
		t.Fatalf("%d connections left", got)
	}
}
