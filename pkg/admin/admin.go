package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	mlog "github.com/sidecar-mesh/mosn/pkg/log"
	"github.com/sidecar-mesh/mosn/pkg/metrics"
)

// ErrNotFound is what Runtime.ConfigDump returns (wrapped) for a filter
// naming nothing that runs; the API answers it 404.
var ErrNotFound = errors.New("not found")

// State is the process's life stage.
type State uint8

// The states, in the order a process goes through them.
const (
	StateInitializing State = iota // built, not yet serving
	StateRunning                   // every listener serves
	StateDraining                  // listeners closed, connections finishing
	StateStopped                   // everything closed
)

// String is the state's name.
func (s State) String() string {
	switch s {
	case StateInitializing:
		return "initializing"
	case StateRunning:
		return "running"
	case StateDraining:
		return "draining"
	case StateStopped:
		return "stopped"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// DumpFilter picks parts of the config dump; an empty field picks nothing
// by that kind. When any field is set, only the named items are dumped.
type DumpFilter struct {
	Listener string
	Cluster  string
	Router   string
}

// Runtime is what the admin API reads from the running proxy. Its methods
// are called from admin request goroutines, concurrently with traffic and
// with each other.
type Runtime interface {
	metrics.Source
	// ConfigDump returns the effective config, ready for encoding/json.
	// The API redacts private keys and secrets in it (Redact) before it
	// leaves the process. A filter naming nothing is an error wrapping
	// ErrNotFound.
	ConfigDump(f DumpFilter) (any, error)
	// State is the process state.
	State() State
}

// Options configure the admin server.
type Options struct {
	// Address is "IP:PORT" to listen on; port 0 picks a free one.
	Address string
	Runtime Runtime
	// Gatherer serves /metrics and /api/v1/stats.
	Gatherer prometheus.Gatherer
	// Level is the error log's level, which update_loglevel changes; nil
	// means a level of the server's own, which changes nothing else.
	Level *slog.LevelVar
	// LogPath is where the error log goes, for get_loglevel.
	LogPath string
	Version string
	// Logger logs level changes; it is expected to carry the component.
	Logger *slog.Logger
}

// Server is an HTTP server on one address. Nothing is bound until Listen.
type Server struct {
	addr    string
	handler http.Handler
	log     *slog.Logger
	ln      net.Listener
	srv     *http.Server
	done    chan struct{}
}

// New makes the admin server.
func New(opts Options) *Server {
	if opts.Level == nil {
		opts.Level = new(slog.LevelVar)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &api{opts: opts, started: time.Now()}
	return newServer(opts.Address, a.mux(), opts.Logger)
}

// NewSink makes the server of a prometheus metrics sink: g at path on addr.
func NewSink(addr, path string, g prometheus.Gatherer, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+path, promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	return newServer(addr, mux, logger)
}

// NewPprof makes the server of Go's profiling endpoints, /debug/pprof/, on
// addr.
func NewPprof(addr string, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return newServer(addr, mux, logger)
}

func newServer(addr string, h http.Handler, logger *slog.Logger) *Server {
	return &Server{addr: addr, handler: h, log: logger, done: make(chan struct{})}
}

// Handler is the server's HTTP handler (for tests that need no socket).
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds the address.
func (s *Server) Listen(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	s.ln = ln
	return nil
}

// Addr is the bound address; nil before Listen.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve serves in the background until Close.
func (s *Server) Serve() {
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin server stopped", "err", err)
		}
	}()
}

// Close stops the server and closes its connections.
func (s *Server) Close() error {
	if s.srv != nil {
		err := s.srv.Close()
		<-s.done
		return err
	}
	if s.ln != nil {
		return s.ln.Close()
	}
	return nil
}

// api holds the handlers of the admin endpoints.
type api struct {
	opts    Options
	started time.Time
}

// endpoint is one route of the API: its pattern, the query parameters it
// takes, what the help page says about it, and its handler.
type endpoint struct {
	method, path string
	params       []string
	help         string
	h            func(w http.ResponseWriter, r *http.Request)
}

func (a *api) endpoints() []endpoint {
	return []endpoint{
		{"GET", "/api/v1/version", nil, "build version", a.version},
		{"GET", "/api/v1/config_dump", []string{"listener", "cluster", "router"}, "effective config, secrets redacted; ?listener=NAME, ?cluster=NAME, ?router=NAME pick items", a.configDump},
		{"GET", "/api/v1/stats", []string{"key"}, "counters as JSON; ?key=PREFIX keeps metrics whose name starts with PREFIX (mosn_ optional)", a.stats},
		{"GET", "/api/v1/get_loglevel", nil, "the error log's level", a.getLevel},
		{"POST", "/api/v1/update_loglevel", nil, `set the error log's level: body {"log_level": "DEBUG"}`, a.updateLevel},
		{"GET", "/api/v1/states", nil, "process state, pid and uptime", a.states},
		{"GET", "/api/v1/clusters", nil, "clusters and their hosts with health and counters", a.clusters},
		{"GET", "/ready", nil, "200 once every listener serves, else 503", a.ready},
		{"GET", "/healthz", nil, "200 while the process is up", a.healthz},
		{"GET", "/metrics", nil, "Prometheus text format", nil},
	}
}

func (a *api) mux() http.Handler {
	mux := http.NewServeMux()
	metricsHandler := promhttp.HandlerFor(a.opts.Gatherer, promhttp.HandlerOpts{})
	for _, e := range a.endpoints() {
		h := e.h
		if e.path == "/metrics" {
			h = metricsHandler.ServeHTTP
		}
		mux.HandleFunc(e.path, checked(e, h))
	}
	mux.HandleFunc("/", a.help)
	return mux
}

// checked answers 405 to a wrong method and 400 to a query parameter the
// endpoint does not take, or one given twice, before calling h.
func checked(e endpoint, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != e.method && !(e.method == "GET" && r.Method == http.MethodHead) && !(e.method == "POST" && r.Method == http.MethodPut) {
			w.Header().Set("Allow", e.method)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: method not allowed (use %s)", r.Method, e.path, e.method))
			return
		}
		q, err := parseQuery(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		for k, vs := range q {
			if !slices.Contains(e.params, k) {
				if len(e.params) == 0 {
					writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown query parameter %q: %s takes none", k, e.path))
				} else {
					writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown query parameter %q (%s takes %s)", k, e.path, strings.Join(e.params, ", ")))
				}
				return
			}
			if len(vs) > 1 {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("query parameter %q given %d times", k, len(vs)))
				return
			}
		}
		h(w, r)
	}
}

func parseQuery(r *http.Request) (map[string][]string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("malformed query: %v", err)
	}
	return q, nil
}

func (a *api) help(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s: no such endpoint; GET / lists them", r.URL.Path))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "mosn %s admin API\n\n", a.opts.Version)
	for _, e := range a.endpoints() {
		fmt.Fprintf(w, "%-5s %-24s %s\n", e.method, e.path, e.help)
	}
}

func (a *api) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": a.opts.Version, "go_version": runtime.Version()})
}

func (a *api) configDump(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := DumpFilter{Listener: q.Get("listener"), Cluster: q.Get("cluster"), Router: q.Get("router")}
	for k, v := range q {
		if v[0] == "" {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("query parameter %q: empty name", k))
			return
		}
	}
	dump, err := a.opts.Runtime.ConfigDump(f)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		red, err := Redact(dump)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, red)
	}
}

func (a *api) getLevel(w http.ResponseWriter, _ *http.Request) {
	path := a.opts.LogPath
	if path == "" {
		path = "stdout"
	}
	writeJSON(w, http.StatusOK, map[string]string{"log_path": path, "log_level": mlog.LevelName(a.opts.Level.Level())})
}

// levelUpdate is the body of update_loglevel, as MOSN takes it.
type levelUpdate struct {
	// LogPath, if set, must name the error log (there is one).
	LogPath  string `json:"log_path"`
	LogLevel string `json:"log_level"`
}

func (a *api) updateLevel(w http.ResponseWriter, r *http.Request) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	var u levelUpdate
	if err := dec.Decode(&u); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`body: want {"log_level": "LEVEL"}: %v`, err))
		return
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "body: more than one JSON value")
		return
	}
	if u.LogLevel == "" {
		writeError(w, http.StatusBadRequest, "body: log_level: required")
		return
	}
	level, err := mlog.ParseLevel(u.LogLevel)
	if err != nil {
		writeError(w, http.StatusBadRequest, "log_level: "+err.Error())
		return
	}
	if u.LogPath != "" && u.LogPath != a.opts.LogPath && !(a.opts.LogPath == "" && u.LogPath == "stdout") {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("log_path %q: not a log of this process (the error log is %q)", u.LogPath, a.opts.LogPath))
		return
	}
	old := a.opts.Level.Level()
	a.opts.Level.Set(level)
	a.opts.Logger.Info("log level changed", "from", mlog.LevelName(old), "to", mlog.LevelName(level))
	writeJSON(w, http.StatusOK, map[string]string{"log_level": mlog.LevelName(level), "previous": mlog.LevelName(old)})
}

func (a *api) states(w http.ResponseWriter, _ *http.Request) {
	st := a.opts.Runtime.State()
	writeJSON(w, http.StatusOK, map[string]any{
		"state":          st.String(),
		"state_code":     uint8(st),
		"pid":            os.Getpid(),
		"version":        a.opts.Version,
		"started_at":     a.started.UTC().Format(time.RFC3339),
		"uptime_seconds": time.Since(a.started).Seconds(),
		"goroutines":     runtime.NumGoroutine(),
		"gomaxprocs":     runtime.GOMAXPROCS(0),
	})
}

func (a *api) ready(w http.ResponseWriter, _ *http.Request) {
	if st := a.opts.Runtime.State(); st != StateRunning {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "state": st.String()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "state": StateRunning.String()})
}

func (a *api) healthz(w http.ResponseWriter, _ *http.Request) {
	st := a.opts.Runtime.State()
	if st == StateStopped {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "stopped"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "state": st.String()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, code int, reason string) {
	writeJSON(w, code, map[string]string{"error": reason})
}
