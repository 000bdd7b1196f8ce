package admin

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/sidecar-mesh/mosn/pkg/metrics"
)

// statValue is one series of /api/v1/stats: its labels and value, or for a
// histogram its count, sum (seconds) and estimated percentiles.
type statValue struct {
	Labels map[string]string `json:"labels,omitempty"`
	Value  *float64          `json:"value,omitempty"`
	Count  *uint64           `json:"count,omitempty"`
	Sum    *float64          `json:"sum,omitempty"`
	P50    *float64          `json:"p50,omitempty"`
	P90    *float64          `json:"p90,omitempty"`
	P99    *float64          `json:"p99,omitempty"`
}

func (a *api) stats(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	if r.URL.Query().Has("key") && key == "" {
		writeError(w, http.StatusBadRequest, `query parameter "key": empty`)
		return
	}
	fams, err := a.opts.Gatherer.Gather()
	if err != nil && len(fams) == 0 {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := map[string][]statValue{}
	for _, f := range fams {
		name := f.GetName()
		if key != "" && !strings.HasPrefix(name, key) && !strings.HasPrefix(name, metrics.Namespace+"_"+key) {
			continue
		}
		for _, m := range f.GetMetric() {
			out[name] = append(out[name], seriesOf(f.GetType(), m))
		}
	}
	if key != "" && len(out) == 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no metric name starts with %q", key))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func seriesOf(t dto.MetricType, m *dto.Metric) statValue {
	var v statValue
	if len(m.GetLabel()) > 0 {
		v.Labels = map[string]string{}
		for _, l := range m.GetLabel() {
			v.Labels[l.GetName()] = l.GetValue()
		}
	}
	num := func(x float64) *float64 { return &x }
	switch t {
	case dto.MetricType_COUNTER:
		v.Value = num(m.GetCounter().GetValue())
	case dto.MetricType_GAUGE:
		v.Value = num(m.GetGauge().GetValue())
	case dto.MetricType_UNTYPED:
		v.Value = num(m.GetUntyped().GetValue())
	case dto.MetricType_HISTOGRAM:
		h := m.GetHistogram()
		c := h.GetSampleCount()
		v.Count, v.Sum = &c, num(h.GetSampleSum())
		s := metrics.HistogramSnapshot{Count: c, Buckets: map[float64]uint64{}}
		for _, b := range h.GetBucket() {
			s.Buckets[b.GetUpperBound()] = b.GetCumulativeCount()
		}
		v.P50, v.P90, v.P99 = num(s.Quantile(0.5)), num(s.Quantile(0.9)), num(s.Quantile(0.99))
	case dto.MetricType_SUMMARY:
		c := m.GetSummary().GetSampleCount()
		v.Count, v.Sum = &c, num(m.GetSummary().GetSampleSum())
	}
	return v
}

// requestCounts are metrics.Requests as JSON.
type requestCounts struct {
	RequestTotal       int64 `json:"request_total"`
	RequestRetry       int64 `json:"request_retry"`
	RequestTimeout     int64 `json:"request_timeout"`
	RequestLocalReset  int64 `json:"request_local_reset"`
	RequestRemoteReset int64 `json:"request_remote_reset"`
	ResponseSuccess    int64 `json:"response_success"`
	ResponseFailed     int64 `json:"response_failed"`
}

func countsOf(q *metrics.Requests) requestCounts {
	if q == nil {
		return requestCounts{}
	}
	return requestCounts{
		RequestTotal: q.Total.Load(), RequestRetry: q.Retry.Load(), RequestTimeout: q.Timeout.Load(),
		RequestLocalReset: q.LocalReset.Load(), RequestRemoteReset: q.RemoteReset.Load(),
		ResponseSuccess: q.ResponseSuccess.Load(), ResponseFailed: q.ResponseFailed.Load(),
	}
}

type hostJSON struct {
	Address           string `json:"address"`
	Weight            uint32 `json:"weight"`
	Healthy           bool   `json:"healthy"`
	ConnectionTotal   int64  `json:"connection_total"`
	ConnectionActive  int64  `json:"connection_active"`
	ConnectionConFail int64  `json:"connection_con_fail"`
	RequestActive     int64  `json:"request_active"`
	requestCounts
}

type clusterJSON struct {
	Name                   string     `json:"name"`
	ConnectionTotal        int64      `json:"connection_total"`
	ConnectionActive       int64      `json:"connection_active"`
	ConnectionConFail      int64      `json:"connection_con_fail"`
	RequestActive          int64      `json:"request_active"`
	RequestPendingOverflow int64      `json:"request_pending_overflow"`
	RequestRetryOverflow   int64      `json:"request_retry_overflow"`
	Hosts                  []hostJSON `json:"hosts"`
	requestCounts
}

func (a *api) clusters(w http.ResponseWriter, _ *http.Request) {
	s := a.opts.Runtime.Sample()
	out := make([]clusterJSON, 0, len(s.Clusters))
	for _, c := range s.Clusters {
		cj := clusterJSON{
			Name: c.Name, ConnectionTotal: c.ConnectionTotal, ConnectionActive: c.ConnectionActive,
			ConnectionConFail: c.ConnectionConFail, RequestActive: c.RequestActive,
			RequestPendingOverflow: c.RequestPendingOverflow, RequestRetryOverflow: c.RequestRetryOverflow,
			Hosts: []hostJSON{}, requestCounts: countsOf(c.Requests),
		}
		for _, h := range c.Hosts {
			cj.Hosts = append(cj.Hosts, hostJSON{
				Address: h.Address, Weight: h.Weight, Healthy: h.Healthy,
				ConnectionTotal: h.ConnectionTotal, ConnectionActive: h.ConnectionActive,
				ConnectionConFail: h.ConnectionConFail, RequestActive: h.RequestActive,
				requestCounts: countsOf(h.Requests),
			})
		}
		out = append(out, cj)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, map[string]any{"clusters": out})
}
