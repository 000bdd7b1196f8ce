package log

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want slog.Level
		err  bool
	}{
		{"DEBUG", slog.LevelDebug, false},
		{"info", slog.LevelInfo, false},
		{" Warn ", slog.LevelWarn, false},
		{"trace", LevelTrace, false},
		{"CRITICAL", LevelCritical, false},
		{"verbose", 0, true},
	} {
		got, err := ParseLevel(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestOpenFileHonoursLevel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "error.log")
	var level slog.LevelVar
	level.Set(slog.LevelWarn)
	logger, closer, err := Open(path, &level)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("hidden")
	logger.Warn("shown", "component", "network")
	level.Set(LevelTrace)
	logger.Log(context.Background(), LevelTrace, "traced")
	closer.Close()
	data, _ := os.ReadFile(path)
	out := string(data)
	if strings.Contains(out, "hidden") || !strings.Contains(out, "msg=shown component=network") {
		t.Fatalf("log file:\n%s", out)
	}
	if !bytes.Contains(data, []byte("level=TRACE msg=traced")) {
		t.Fatalf("trace line missing or misnamed:\n%s", out)
	}
}

func TestFileReopenKeepsEveryLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "error.log")
	var level slog.LevelVar
	logger, closer, err := Open(path, &level)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	f := closer.(*File)
	done := make(chan struct{})
	const lines = 2000
	go func() {
		defer close(done)
		for i := range lines {
			logger.Info("line", "n", i)
		}
	}()
	rotated := filepath.Join(dir, "error.log.1")
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	<-done
	a, _ := os.ReadFile(rotated)
	b, _ := os.ReadFile(path)
	if n := bytes.Count(a, []byte("\n")) + bytes.Count(b, []byte("\n")); n != lines {
		t.Fatalf("%d lines across the rotated and the new file, want %d", n, lines)
	}
}

func TestLevelName(t *testing.T) {
	for l, want := range map[slog.Level]string{LevelTrace: "TRACE", slog.LevelDebug: "DEBUG", slog.LevelInfo: "INFO", slog.LevelWarn: "WARN", slog.LevelError: "ERROR", LevelCritical: "CRITICAL", LevelFatal: "FATAL"} {
		if got := LevelName(l); got != want {
			t.Errorf("LevelName(%v) = %q, want %q", l, got, want)
		}
	}
}
