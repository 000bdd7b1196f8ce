package admin_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sidecar-mesh/mosn/pkg/admin"
	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/metrics"
)

// fakeRuntime dumps a fixed value and reports a fixed state.
type fakeRuntime struct {
	dump  any
	state admin.State
}

func (f *fakeRuntime) Sample() metrics.Sample {
	return metrics.Sample{Clusters: []metrics.ClusterSample{{Name: "c", Requests: new(metrics.Requests),
		Hosts: []metrics.HostSample{{Address: "127.0.0.1:1", Weight: 1, Healthy: true, Requests: new(metrics.Requests)}}}}}
}

func (f *fakeRuntime) ConfigDump(d admin.DumpFilter) (any, error) {
	if d.Cluster == "nope" {
		return nil, admin.ErrNotFound
	}
	return f.dump, nil
}

func (f *fakeRuntime) State() admin.State { return f.state }

func newAPI(t *testing.T, rt admin.Runtime) (http.Handler, *slog.LevelVar) {
	t.Helper()
	lv := new(slog.LevelVar)
	return admin.New(admin.Options{Runtime: rt, Gatherer: prometheus.NewRegistry(), Level: lv, Version: "test",
		Logger: slog.New(slog.DiscardHandler)}).Handler(), lv
}

func do(h http.Handler, method, target, body string) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

// tlsConfig is the config of pkg/config/testdata/tls.json with the private
// key both as a path (as Load resolves it) and inline as PEM text.
func tlsConfig(t *testing.T) (*config.Config, string) {
	t.Helper()
	cfg, ps := config.Load("../config/testdata/tls.json")
	if cfg == nil {
		t.Fatalf("load: %v", ps)
	}
	pem, err := os.ReadFile("../config/testdata/certs/key.pem")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ClusterManager.Clusters[0].TLSContext = &config.TLSConfig{Status: true, PrivateKey: string(pem), Ticket: "0123456789abcdef"}
	return cfg, string(pem)
}

func TestConfigDumpRedactsPrivateKeys(t *testing.T) {
	cfg, pem := tlsConfig(t)
	keyPath := cfg.Servers[0].Listeners[0].FilterChains[0].TLSContext.PrivateKey
	h, _ := newAPI(t, &fakeRuntime{dump: cfg})
	code, body := do(h, "GET", "/api/v1/config_dump", "")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	// Every line of the PEM body, not only its header, must be absent.
	for _, line := range strings.Split(strings.TrimSpace(pem), "\n") {
		if strings.Contains(body, strings.TrimSpace(line)) {
			t.Fatalf("config dump holds the private key line %q:\n%s", line, body)
		}
	}
	for _, secret := range []string{keyPath, "0123456789abcdef"} {
		if strings.Contains(body, secret) {
			t.Fatalf("config dump holds the secret %q:\n%s", secret, body)
		}
	}
	if !strings.Contains(body, admin.Redacted) || !strings.Contains(body, "cert.pem") {
		t.Fatalf("want redacted keys and the certificate path kept:\n%s", body)
	}
}

func TestMalformedRequestsAre400(t *testing.T) {
	h, _ := newAPI(t, &fakeRuntime{dump: map[string]int{}})
	for _, tc := range []struct {
		method, target, body string
		code                 int
		reason               string
	}{
		{"GET", "/api/v1/config_dump?listner=x", "", 400, `unknown query parameter "listner"`},
		{"GET", "/api/v1/config_dump?listener=", "", 400, "empty name"},
		{"GET", "/api/v1/config_dump?cluster=a&cluster=b", "", 400, "given 2 times"},
		{"GET", "/api/v1/config_dump?cluster=%zz", "", 400, "malformed query"},
		{"GET", "/api/v1/stats?key=", "", 400, "empty"},
		{"GET", "/api/v1/version?x=1", "", 400, "takes none"},
		{"POST", "/api/v1/update_loglevel", "{", 400, "body"},
		{"POST", "/api/v1/update_loglevel", `{"log_level": "LOUD"}`, 400, "unknown log level"},
		{"POST", "/api/v1/update_loglevel", `{"level": "DEBUG"}`, 400, "unknown field"},
		{"POST", "/api/v1/update_loglevel", `{}`, 400, "required"},
		{"POST", "/api/v1/update_loglevel", `{"log_level": "DEBUG"} {}`, 400, "more than one"},
		{"POST", "/api/v1/update_loglevel", `{"log_level": "DEBUG", "log_path": "/var/log/other.log"}`, 400, "not a log of this process"},
		{"GET", "/api/v1/update_loglevel", "", 405, "method not allowed"},
		{"POST", "/api/v1/stats", "", 405, "method not allowed"},
		{"GET", "/api/v1/config_dump?cluster=nope", "", 404, "not found"},
		{"GET", "/api/v1/nothing", "", 404, "no such endpoint"},
	} {
		code, body := do(h, tc.method, tc.target, tc.body)
		var e struct{ Error string }
		if err := json.Unmarshal([]byte(body), &e); err != nil || code != tc.code || !strings.Contains(e.Error, tc.reason) {
			t.Errorf("%s %s %q: %d %s; want %d with a reason containing %q", tc.method, tc.target, tc.body, code, body, tc.code, tc.reason)
		}
	}
}

func TestUpdateLogLevel(t *testing.T) {
	h, lv := newAPI(t, &fakeRuntime{})
	if code, body := do(h, "POST", "/api/v1/update_loglevel", `{"log_level": "debug"}`); code != 200 {
		t.Fatalf("update: %d %s", code, body)
	}
	if lv.Level() != slog.LevelDebug {
		t.Fatalf("level %v, want DEBUG", lv.Level())
	}
	_, body := do(h, "GET", "/api/v1/get_loglevel", "")
	var got struct {
		LogLevel string `json:"log_level"`
	}
	if json.Unmarshal([]byte(body), &got); got.LogLevel != "DEBUG" {
		t.Fatalf("get_loglevel: %s", body)
	}
}

func TestReadyFollowsState(t *testing.T) {
	rt := &fakeRuntime{state: admin.StateInitializing}
	h, _ := newAPI(t, rt)
	for _, tc := range []struct {
		state        admin.State
		ready, alive int
	}{
		{admin.StateInitializing, 503, 200},
		{admin.StateRunning, 200, 200},
		{admin.StateDraining, 503, 200},
		{admin.StateStopped, 503, 503},
	} {
		rt.state = tc.state
		if code, _ := do(h, "GET", "/ready", ""); code != tc.ready {
			t.Errorf("%v: /ready %d, want %d", tc.state, code, tc.ready)
		}
		if code, _ := do(h, "GET", "/healthz", ""); code != tc.alive {
			t.Errorf("%v: /healthz %d, want %d", tc.state, code, tc.alive)
		}
	}
}

func TestRedactKeepsOrdinaryValues(t *testing.T) {
	in := map[string]any{"name": "x", "private_key": "k", "nested": []any{map[string]any{"db_password": "p", "port": 1}}, "tokens_per_second": 5}
	out, err := admin.Redact(in)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	want := `{"name":"x","nested":[{"db_password":"[redacted]","port":1}],"private_key":"[redacted]","tokens_per_second":5}`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
}
