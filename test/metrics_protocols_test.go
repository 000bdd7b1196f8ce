package test

import (
	"io"
	"net/http"
	"testing"
)

// TestMetricsCountEveryProtocol drives the same requests through each pair
// of downstream and upstream protocols the L7 proxy runs and checks that
// all of them count into the same metric names.
func TestMetricsCountEveryProtocol(t *testing.T) {
	t.Parallel()
	for _, pair := range []struct{ down, up string }{
		{"Http1", "Http1"}, {"Http2", "Http1"}, {"Http1", "Http2"}, {"Http2", "Http2"},
	} {
		t.Run(pair.down+"-"+pair.up, func(t *testing.T) {
			t.Parallel()
			b := startH2Backend(t, func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/missing":
					w.WriteHeader(404)
				case "/broken":
					w.WriteHeader(503)
				default:
					io.WriteString(w, "ok")
				}
			})
			p := startInProcess(t, h2Config(t, pair.down, pair.up, "", []string{b.addr()}, patch{"admin", adminJSON}))
			client := &http.Client{Timeout: waitBound}
			if pair.down == "Http2" {
				client = h2Client(t)
			}
			defer client.CloseIdleConnections()
			for _, c := range []struct {
				path   string
				status int
			}{{"/a", 200}, {"/b", 200}, {"/c", 200}, {"/missing", 404}, {"/broken", 503}} {
				resp, err := client.Get("http://" + p.addr(0) + c.path)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != c.status {
					t.Fatalf("GET %s: %d, want %d", c.path, resp.StatusCode, c.status)
				}
			}
			url := "http://" + p.Admin().Addr().String() + "/metrics"
			waitSeries(t, func() map[string]float64 { return series(scrape(t, url)) }, map[string]float64{
				`mosn_downstream_request_total{listener="h2"}`:           5,
				`mosn_downstream_request_failed{listener="h2"}`:          1,
				`mosn_downstream_request_active{listener="h2"}`:          0,
				`mosn_downstream_request_time_count{listener="h2"}`:      5,
				`mosn_upstream_request_total{cluster="c"}`:               5,
				`mosn_upstream_response_success{cluster="c"}`:            4,
				`mosn_upstream_response_failed{cluster="c"}`:             1,
				`mosn_upstream_request_duration_time_count{cluster="c"}`: 5,
			})
		})
	}
}
