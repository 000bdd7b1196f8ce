package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"log"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sidecar-mesh/mosn/pkg/config"
	_ "github.com/sidecar-mesh/mosn/pkg/proxy/l7"
	"github.com/sidecar-mesh/mosn/pkg/server"
	_ "github.com/sidecar-mesh/mosn/pkg/stream/http1"
)

func main() {
	dashboard := flag.String("dashboard", "../../configs/grafana-dashboard.json", "the Grafana dashboard whose panels are drawn")
	out := flag.String("out", "../../docs/dashboard.png", "the PNG to write")
	duration := flag.Duration("duration", 90*time.Second, "how long the load runs")
	promBin := flag.String("prometheus", "prometheus", "the Prometheus binary")
	flag.Parse()
	if err := run(*dashboard, *out, *promBin, *duration); err != nil {
		log.Fatal(err)
	}
}

// dashboardFile is the part of a Grafana dashboard drawn here.
type dashboardFile struct {
	Title  string
	Panels []struct {
		Title       string
		GridPos     struct{ X, Y, W, H int }
		FieldConfig struct {
			Defaults struct{ Unit string }
		}
		Targets []struct {
			Expr         string
			LegendFormat string
		}
	}
}

func run(dashPath, out, promBin string, duration time.Duration) error {
	raw, err := os.ReadFile(dashPath)
	if err != nil {
		return err
	}
	var dash dashboardFile
	if err := json.Unmarshal(raw, &dash); err != nil {
		return fmt.Errorf("%s: %w", dashPath, err)
	}

	// Backends.
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(1+rand.IntN(8)) * time.Millisecond) // a backend's work, not a wait for anything
		io.WriteString(w, strings.Repeat("x", 512+rand.IntN(2048)))
	}))
	defer fast.Close()
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(2+rand.IntN(10)) * time.Millisecond)
		if rand.IntN(10) == 0 {
			w.WriteHeader(503)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer flaky.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(time.Duration(20+rand.IntN(200)) * time.Millisecond):
			io.WriteString(w, "late")
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()

	// The proxy, in-process, with an admin listener.
	cfg, ps := config.Parse([]byte(proxyConfig(fast.Listener.Addr().String(), flaky.Listener.Addr().String(), slow.Listener.Addr().String())))
	if err := ps.Err(); err != nil {
		return err
	}
	srv, ps := server.Build(cfg, server.Options{Logger: slog.New(slog.DiscardHandler), Version: "dashboard"})
	if srv == nil {
		return errors.Join(ps.Err(), errors.New("build failed"))
	}
	if err := srv.Start(context.Background()); err != nil {
		return err
	}
	defer srv.Close()

	// Prometheus scraping the admin listener.
	prom, stop, err := startPrometheus(promBin, srv.Admin().Addr().String())
	if err != nil {
		return err
	}
	defer stop()

	// The load: two listeners, a ramp of concurrent clients.
	start := time.Now()
	ingress, egress := srv.Listeners()[0].Addr().String(), srv.Listeners()[1].Addr().String()
	load(ingress, egress, duration)
	end := time.Now().Add(3 * time.Second) // the last scrapes
	waitFor(3 * time.Second)

	// Draw.
	step := max(time.Second, duration/120)
	var plots [][]*plot.Plot
	row := -1
	lastY := -1
	for _, p := range dash.Panels {
		if p.GridPos.Y != lastY {
			plots = append(plots, nil)
			row++
			lastY = p.GridPos.Y
		}
		pl, err := panelPlot(prom, p.Title, p.FieldConfig.Defaults.Unit, p.Targets, start, end, step)
		if err != nil {
			return fmt.Errorf("panel %q: %w", p.Title, err)
		}
		plots[row] = append(plots[row], pl)
	}
	return save(out, dash.Title, plots)
}

// proxyConfig is the proxy the dashboard run measures: listener "ingress"
// to clusters api (fast), flaky (10% 503s, retried once) and slow (100ms
// route timeout, max_requests 20); listener "egress" to api.
func proxyConfig(fast, flaky, slow string) string {
	return fmt.Sprintf(`{
  "servers": [{
    "default_log_level": "ERROR",
    "routers": [
      {"router_config_name": "in", "virtual_hosts": [{"name": "v", "domains": ["*"], "routers": [
        {"match": {"prefix": "/api"}, "route": {"cluster_name": "api", "timeout": "5s"}},
        {"match": {"prefix": "/flaky"}, "route": {"cluster_name": "flaky", "timeout": "5s", "retry_policy": {"retry_on": true, "num_retries": 1}}},
        {"match": {"prefix": "/slow"}, "route": {"cluster_name": "slow", "timeout": "150ms"}}
      ]}]},
      {"router_config_name": "out", "virtual_hosts": [{"name": "v", "domains": ["*"], "routers": [
        {"match": {"prefix": "/"}, "route": {"cluster_name": "api", "timeout": "5s"}}
      ]}]}
    ],
    "listeners": [
      {"name": "ingress", "address": "127.0.0.1:0", "bind_port": true, "filter_chains": [{"filters": [{"type": "proxy", "config": {"downstream_protocol": "Http1", "upstream_protocol": "Http1", "router_config_name": "in"}}]}]},
      {"name": "egress", "address": "127.0.0.1:0", "bind_port": true, "filter_chains": [{"filters": [{"type": "proxy", "config": {"downstream_protocol": "Http1", "upstream_protocol": "Http1", "router_config_name": "out"}}]}]}
    ]
  }],
  "cluster_manager": {"clusters": [
    {"name": "api", "type": "SIMPLE", "lb_type": "LB_ROUNDROBIN", "hosts": [{"address": %q}]},
    {"name": "flaky", "type": "SIMPLE", "lb_type": "LB_ROUNDROBIN", "circuit_breakers": [{"max_retries": 3}], "hosts": [{"address": %q}]},
    {"name": "slow", "type": "SIMPLE", "lb_type": "LB_ROUNDROBIN", "circuit_breakers": [{"max_requests": 20}], "hosts": [{"address": %q}]}
  ]},
  "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}}
}`, fast, flaky, slow)
}

// load sends requests for d: clients ramp from 2 to 24 and back, each
// keeping its connection alive; a request's path is drawn at random.
func load(ingress, egress string, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	const maxClients = 24
	for i := range maxClients {
		wg.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			for ctx.Err() == nil {
				// Client i is active while the ramp (a sine over the run)
				// is above its index.
				phase := time.Until(deadlineOf(ctx)).Seconds() / d.Seconds()
				active := 2 + int(float64(maxClients-2)*math.Sin(math.Pi*phase))
				if i >= active {
					waitFor(200 * time.Millisecond)
					continue
				}
				addr, path := ingress, "/api/items"
				switch n := rand.IntN(100); {
				case n < 20:
					addr, path = egress, "/egress"
				case n < 35:
					path = "/flaky"
				case n < 45:
					path = "/slow"
				case n < 47:
					path = "/nowhere" // 404, no route
				}
				resp, err := client.Get("http://" + addr + path)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// waitFor pauses the load generator; nothing is waited for.
func waitFor(d time.Duration) { <-time.After(d) }

// startPrometheus runs Prometheus scraping target every second and waits
// until it is ready.
func startPrometheus(bin, target string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "mosn-dashboard-")
	if err != nil {
		return "", nil, err
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	doc := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: mosn\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--log.level=warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		cancel()
		return "", nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait(); cancel(); os.RemoveAll(dir) }
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base, stop, nil
			}
		}
		waitFor(50 * time.Millisecond)
	}
	stop()
	return "", nil, errors.New("prometheus not ready within 30s")
}

// expand substitutes Grafana's variables in a panel expression.
func expand(expr string, step time.Duration) string {
	rate := (4 * step).String() // at least four scrapes, as $__rate_interval does
	r := strings.NewReplacer("$__rate_interval", rate, `"$listener"`, `".*"`, `"$cluster"`, `".*"`)
	return r.Replace(expr)
}

type rangeSeries struct {
	Metric map[string]string
	Values [][2]any
}

func queryRange(base, q string, start, end time.Time, step time.Duration) ([]rangeSeries, error) {
	v := url.Values{"query": {q}, "start": {fmt.Sprint(start.Unix())}, "end": {fmt.Sprint(end.Unix())}, "step": {fmt.Sprint(step.Seconds())}}
	resp, err := http.Get(base + "/api/v1/query_range?" + v.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status, Error string
		Data          struct{ Result []rangeSeries }
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", q, r.Error)
	}
	return r.Data.Result, nil
}

// legend fills a Grafana legend format ("p99 {{listener}}") from labels.
func legend(format string, labels map[string]string) string {
	out := format
	for k, v := range labels {
		out = strings.ReplaceAll(out, "{{"+k+"}}", v)
	}
	return out
}

var palette = []color.Color{
	color.RGBA{0x73, 0xbf, 0x69, 0xff}, color.RGBA{0xf2, 0xcc, 0x0c, 0xff}, color.RGBA{0x57, 0x94, 0xf2, 0xff},
	color.RGBA{0xff, 0x78, 0x83, 0xff}, color.RGBA{0xb8, 0x77, 0xd9, 0xff}, color.RGBA{0xff, 0x98, 0x30, 0xff},
	color.RGBA{0x8a, 0xb8, 0xff, 0xff}, color.RGBA{0x37, 0x87, 0x2d, 0xff}, color.RGBA{0xc4, 0x16, 0x2a, 0xff},
}

func panelPlot(base, title, unit string, targets []struct {
	Expr         string
	LegendFormat string
}, start, end time.Time, step time.Duration) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title + unitLabel(unit)
	p.X.Label.Text = "seconds into the run"
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	n := 0
	for _, t := range targets {
		res, err := queryRange(base, expand(t.Expr, step), start, end, step)
		if err != nil {
			return nil, err
		}
		sort.Slice(res, func(i, j int) bool {
			return legend(t.LegendFormat, res[i].Metric) < legend(t.LegendFormat, res[j].Metric)
		})
		for _, s := range res {
			var pts plotter.XYs
			for _, v := range s.Values {
				ts, _ := v[0].(float64)
				y, err := strconv.ParseFloat(fmt.Sprint(v[1]), 64)
				if err != nil || math.IsNaN(y) || math.IsInf(y, 0) {
					continue
				}
				pts = append(pts, plotter.XY{X: ts - float64(start.Unix()), Y: scale(unit, y)})
			}
			if len(pts) == 0 || allZero(pts) {
				continue // a series that stayed at 0 (no overflow, say) only crowds the legend
			}
			line, err := plotter.NewLine(pts)
			if err != nil {
				return nil, err
			}
			line.Color = palette[n%len(palette)]
			line.Width = vg.Points(1.5)
			p.Add(line)
			p.Legend.Add(legend(t.LegendFormat, s.Metric), line)
			n++
		}
	}
	p.Y.Min = 0
	return p, nil
}

// unitLabel and scale show Grafana's units in plain numbers.
func unitLabel(unit string) string {
	switch unit {
	case "reqps":
		return " (req/s)"
	case "percentunit":
		return " (%)"
	case "s":
		return " (ms)"
	case "Bps":
		return " (KiB/s)"
	}
	return ""
}

func scale(unit string, y float64) float64 {
	switch unit {
	case "percentunit":
		return 100 * y
	case "s":
		return 1000 * y
	case "Bps":
		return y / 1024
	}
	return y
}

func save(path, title string, rows [][]*plot.Plot) error {
	const cellW, cellH = 6 * vg.Inch, 3.6 * vg.Inch
	cols := 0
	for _, r := range rows {
		cols = max(cols, len(r))
	}
	img := vgimg.New(vg.Length(cols)*cellW, vg.Length(len(rows))*cellH+0.4*vg.Inch)
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	header := draw.Canvas{Canvas: dc, Rectangle: vg.Rectangle{Min: vg.Point{X: 0, Y: vg.Length(len(rows)) * cellH}, Max: vg.Point{X: vg.Length(cols) * cellW, Y: vg.Length(len(rows))*cellH + 0.4*vg.Inch}}}
	sty := draw.TextStyle{Color: color.Black, Font: plot.DefaultFont, Handler: plot.DefaultTextHandler}
	sty.Font.Size = vg.Points(16)
	sty.Font = plot.DefaultFont
	sty.Font.Size = vg.Points(16)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	header.FillText(sty, vg.Point{X: header.Center().X, Y: header.Center().Y}, title+" — panels of configs/grafana-dashboard.json from a real run")
	body := draw.Canvas{Canvas: dc, Rectangle: vg.Rectangle{Max: vg.Point{X: vg.Length(cols) * cellW, Y: vg.Length(len(rows)) * cellH}}}
	tiles := draw.Tiles{Rows: len(rows), Cols: cols, PadX: vg.Millimeter * 2, PadY: vg.Millimeter * 2, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	grid := make([][]*plot.Plot, len(rows))
	for i, r := range rows {
		grid[i] = make([]*plot.Plot, cols)
		copy(grid[i], r)
	}
	canvases := plot.Align(grid, tiles, body)
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		return err
	}
	return f.Close()
}

func allZero(pts plotter.XYs) bool {
	for _, p := range pts {
		if p.Y != 0 {
			return false
		}
	}
	return true
}
