package metrics

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every metric name, as in MOSN's Prometheus sink.
const Namespace = "mosn"

// MaxHostSeries is the largest cluster whose hosts get series of their own
// (the mosn_upstream_host_ family); a larger one is reported per cluster
// only, so that a big cluster cannot blow up the number of series.
const MaxHostSeries = 256

// family is one metric name: its description and how to read its value.
type family[T any] struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*T) float64
}

func counter[T any](sub, name, help string, labels []string, v func(*T) float64) family[T] {
	return family[T]{prometheus.NewDesc(prometheus.BuildFQName(Namespace, sub, name), help, labels, nil), prometheus.CounterValue, v}
}

func gauge[T any](sub, name, help string, labels []string, v func(*T) float64) family[T] {
	return family[T]{prometheus.NewDesc(prometheus.BuildFQName(Namespace, sub, name), help, labels, nil), prometheus.GaugeValue, v}
}

var (
	listenerLabel = []string{"listener"}
	clusterLabel  = []string{"cluster"}
	hostLabels    = []string{"cluster", "host"}
)

func i64(p *int64) float64 { return float64(*p) }

var listenerFamilies = []family[ListenerSample]{
	counter("downstream", "connection_total", "Downstream connections accepted.", listenerLabel, func(s *ListenerSample) float64 { return i64(&s.ConnectionTotal) }),
	gauge("downstream", "connection_active", "Downstream connections open.", listenerLabel, func(s *ListenerSample) float64 { return i64(&s.ConnectionActive) }),
	counter("downstream", "connection_destroy", "Downstream connections closed.", listenerLabel, func(s *ListenerSample) float64 { return i64(&s.ConnectionDestroy) }),
	counter("downstream", "bytes_read_total", "Bytes read from downstream connections.", listenerLabel, func(s *ListenerSample) float64 { return i64(&s.BytesRead) }),
	counter("downstream", "bytes_write_total", "Bytes written to downstream connections.", listenerLabel, func(s *ListenerSample) float64 { return i64(&s.BytesWritten) }),
}

var downstreamFamilies = []family[Downstream]{
	counter("downstream", "request_total", "Downstream requests begun.", listenerLabel, func(d *Downstream) float64 { return float64(d.RequestTotal.Load()) }),
	gauge("downstream", "request_active", "Downstream requests in flight.", listenerLabel, func(d *Downstream) float64 { return float64(d.RequestActive.Load()) }),
	counter("downstream", "request_reset", "Downstream requests abandoned by the client.", listenerLabel, func(d *Downstream) float64 { return float64(d.RequestReset.Load()) }),
	counter("downstream", "request_failed", "Downstream requests answered with a 5xx or cut short.", listenerLabel, func(d *Downstream) float64 { return float64(d.RequestFailed.Load()) }),
}

var clusterFamilies = []family[ClusterSample]{
	counter("upstream", "connection_total", "Upstream connections made.", clusterLabel, func(s *ClusterSample) float64 { return i64(&s.ConnectionTotal) }),
	gauge("upstream", "connection_active", "Upstream connections open.", clusterLabel, func(s *ClusterSample) float64 { return i64(&s.ConnectionActive) }),
	counter("upstream", "connection_con_fail", "Upstream connects that failed or timed out.", clusterLabel, func(s *ClusterSample) float64 { return i64(&s.ConnectionConFail) }),
	counter("upstream", "connection_local_close", "Upstream connections closed by the proxy.", clusterLabel, func(s *ClusterSample) float64 { return i64(&s.ConnectionLocalClose) }),
	counter("upstream", "connection_remote_close", "Upstream connections closed by the host.", clusterLabel, func(s *ClusterSample) float64 { return i64(&s.ConnectionRemoteClose) }),
	counter("upstream", "connection_overflow", "Upstream connections refused by the max_connections circuit breaker.", clusterLabel, func(s *ClusterSample) float64 { return i64(&s.ConnectionOverflow) }),
	counter("upstream", "bytes_read_total", "Bytes read from upstream connections.", clusterLabel, func(s *ClusterSample) float64 { return i64(&s.BytesRead) }),
	counter("upstream", "bytes_write_total", "Bytes written to upstream connections.", clusterLabel, func(s *ClusterSample) float64 { return i64(&s.BytesWritten) }),
	gauge("upstream", "request_active", "Requests in flight to the cluster.", clusterLabel, func(s *ClusterSample) float64 { return i64(&s.RequestActive) }),
	counter("upstream", "request_pending_overflow", "Requests refused by the max_requests circuit breaker.", clusterLabel, func(s *ClusterSample) float64 { return i64(&s.RequestPendingOverflow) }),
	counter("upstream", "request_retry_overflow", "Retries refused by the max_retries circuit breaker.", clusterLabel, func(s *ClusterSample) float64 { return i64(&s.RequestRetryOverflow) }),
}

// requestFamilies are the upstream request counters, for a cluster (labels
// cluster) or a host (labels cluster, host).
func requestFamilies(sub string, labels []string) []family[Requests] {
	return []family[Requests]{
		counter(sub, "request_total", "Upstream tries sent.", labels, func(r *Requests) float64 { return float64(r.Total.Load()) }),
		counter(sub, "request_retry", "Upstream tries after the first.", labels, func(r *Requests) float64 { return float64(r.Retry.Load()) }),
		counter(sub, "request_timeout", "Upstream tries ended by a timeout.", labels, func(r *Requests) float64 { return float64(r.Timeout.Load()) }),
		counter(sub, "request_local_reset", "Upstream tries abandoned by the proxy.", labels, func(r *Requests) float64 { return float64(r.LocalReset.Load()) }),
		counter(sub, "request_remote_reset", "Upstream tries ended by the upstream connection.", labels, func(r *Requests) float64 { return float64(r.RemoteReset.Load()) }),
		counter(sub, "response_success", "Upstream tries answered below 500.", labels, func(r *Requests) float64 { return float64(r.ResponseSuccess.Load()) }),
		counter(sub, "response_failed", "Upstream tries not answered successfully.", labels, func(r *Requests) float64 { return float64(r.ResponseFailed.Load()) }),
	}
}

var (
	clusterRequestFamilies = requestFamilies("upstream", clusterLabel)
	hostRequestFamilies    = requestFamilies("upstream_host", hostLabels)
	hostFamilies           = []family[HostSample]{
		counter("upstream_host", "connection_total", "Connections made to the host.", hostLabels, func(s *HostSample) float64 { return i64(&s.ConnectionTotal) }),
		gauge("upstream_host", "connection_active", "Connections open to the host.", hostLabels, func(s *HostSample) float64 { return i64(&s.ConnectionActive) }),
		counter("upstream_host", "connection_con_fail", "Connects to the host that failed.", hostLabels, func(s *HostSample) float64 { return i64(&s.ConnectionConFail) }),
		gauge("upstream_host", "request_active", "Requests in flight to the host.", hostLabels, func(s *HostSample) float64 { return i64(&s.RequestActive) }),
		gauge("upstream_host", "healthy", "1 if the host is healthy.", hostLabels, func(s *HostSample) float64 {
			if s.Healthy {
				return 1
			}
			return 0
		}),
	}
	requestTimeDesc     = prometheus.NewDesc(Namespace+"_downstream_request_time", "Downstream request time in seconds, first request byte to last response byte.", listenerLabel, nil)
	requestDurationDesc = prometheus.NewDesc(Namespace+"_upstream_request_duration_time", "Upstream request duration in seconds, request sent to response complete.", clusterLabel, nil)
)

// Collector is a prometheus.Collector that reads a Source at every scrape.
// Its metrics are unchecked: the families it emits depend on what runs.
type Collector struct {
	src Source
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector of src's counters.
func NewCollector(src Source) *Collector { return &Collector{src: src} }

// Describe sends nothing: the collector is unchecked.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect reads the source and sends its metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Sample()
	for i := range s.Listeners {
		l := &s.Listeners[i]
		emit(ch, listenerFamilies, l, l.Name)
		if d := l.Requests; d != nil {
			emit(ch, downstreamFamilies, d, l.Name)
			hist(ch, requestTimeDesc, &d.RequestTime, l.Name)
		}
	}
	for i := range s.Clusters {
		cl := &s.Clusters[i]
		emit(ch, clusterFamilies, cl, cl.Name)
		if cl.Requests != nil {
			emit(ch, clusterRequestFamilies, cl.Requests, cl.Name)
		}
		if cl.RequestDuration != nil {
			hist(ch, requestDurationDesc, cl.RequestDuration, cl.Name)
		}
		if len(cl.Hosts) > MaxHostSeries {
			continue // per-cluster series only: the host family would explode
		}
		for j := range cl.Hosts {
			h := &cl.Hosts[j]
			emit(ch, hostFamilies, h, cl.Name, h.Address)
			if h.Requests != nil {
				emit(ch, hostRequestFamilies, h.Requests, cl.Name, h.Address)
			}
		}
	}
}

func emit[T any](ch chan<- prometheus.Metric, fs []family[T], v *T, labels ...string) {
	for _, f := range fs {
		ch <- prometheus.MustNewConstMetric(f.desc, f.kind, f.value(v), labels...)
	}
}

func hist(ch chan<- prometheus.Metric, d *prometheus.Desc, h *Histogram, labels ...string) {
	s := h.Snapshot()
	ch <- prometheus.MustNewConstHistogram(d, s.Count, s.Sum, s.Buckets, labels...)
}

// BuildInfo is what the build-info gauge reports.
type BuildInfo struct {
	Version string
	Commit  string
}

// NewRegistry returns a registry of src's counters, the process and Go
// runtime collectors, and a build-info gauge (mosn_build_info, always 1,
// labelled version, commit and goversion).
func NewRegistry(src Source, info BuildInfo) *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(
		NewCollector(src),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
	)
	bi := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help:        "Build information of the proxy; always 1.",
		ConstLabels: prometheus.Labels{"version": info.Version, "commit": info.Commit, "goversion": runtime.Version()},
	})
	bi.Set(1)
	r.MustRegister(bi)
	return r
}
