package test

import "testing"

// TestMetricsCountTCPProxy checks the connection and byte counters of the
// L4 proxy: one connection, five bytes each way, then closed.
func TestMetricsCountTCPProxy(t *testing.T) {
	t.Parallel()
	b := startBackend(t, echo)
	p := startInProcess(t, proxyConfig(t, b.addr(), patch{"admin", adminJSON}))
	c := dial(t, p.addr(0))
	roundTrip(t, c, "hello")
	c.Close()
	url := "http://" + p.Admin().Addr().String() + "/metrics"
	waitSeries(t, func() map[string]float64 { return series(scrape(t, url)) }, map[string]float64{
		`mosn_downstream_connection_total{listener="tcp"}`:                               1,
		`mosn_downstream_connection_active{listener="tcp"}`:                              0,
		`mosn_downstream_connection_destroy{listener="tcp"}`:                             1,
		`mosn_downstream_bytes_read_total{listener="tcp"}`:                               5,
		`mosn_downstream_bytes_write_total{listener="tcp"}`:                              5,
		`mosn_upstream_connection_total{cluster="backend"}`:                              1,
		`mosn_upstream_connection_active{cluster="backend"}`:                             0,
		`mosn_upstream_bytes_write_total{cluster="backend"}`:                             5,
		`mosn_upstream_bytes_read_total{cluster="backend"}`:                              5,
		`mosn_upstream_host_connection_total{cluster="backend",host="` + b.addr() + `"}`: 1,
	})
}
