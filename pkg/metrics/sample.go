package metrics

// Sample is every counter of the process read at one moment, by listener,
// cluster and host. A Source makes it at scrape time; the admin API's stats
// and clusters endpoints read it too.
type Sample struct {
	Listeners []ListenerSample
	Clusters  []ClusterSample
}

// ListenerSample is one listener's counters.
type ListenerSample struct {
	Name              string
	Address           string // the bound address; "" before binding
	ConnectionTotal   int64
	ConnectionActive  int64
	ConnectionDestroy int64
	BytesRead         int64
	BytesWritten      int64
	// Requests are the listener's request counters; nil for a listener
	// that serves no requests (a TCP proxy).
	Requests *Downstream
}

// ClusterSample is one cluster's counters and those of its hosts.
type ClusterSample struct {
	Name                   string
	ConnectionTotal        int64
	ConnectionActive       int64
	ConnectionConFail      int64
	ConnectionLocalClose   int64
	ConnectionRemoteClose  int64
	ConnectionOverflow     int64
	BytesRead              int64
	BytesWritten           int64
	RequestActive          int64
	RequestPendingOverflow int64
	RequestRetryOverflow   int64
	Requests               *Requests
	RequestDuration        *Histogram
	Hosts                  []HostSample
}

// HostSample is one upstream host's counters.
type HostSample struct {
	Address           string
	Weight            uint32
	Healthy           bool
	ConnectionTotal   int64
	ConnectionActive  int64
	ConnectionConFail int64
	RequestActive     int64
	Requests          *Requests
}

// Source makes a Sample of everything it runs. Sample is called at scrape
// time, concurrently with traffic; it may allocate.
type Source interface {
	Sample() Sample
}

// SourceFunc adapts a function to Source.
type SourceFunc func() Sample

// Sample calls f.
func (f SourceFunc) Sample() Sample { return f() }
