// Package log opens the proxy's leveled error log: log/slog text lines to
// stdout, stderr or a file, at a level that can change at run time. It is a
// leaf that every layer may use; components get their logger injected, with
// a "component" attribute, and never log per request at info level.
package log

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
)

// MOSN's levels beyond slog's four.
const (
	LevelTrace    = slog.Level(-8)
	LevelCritical = slog.Level(12)
	LevelFatal    = slog.Level(16)
)

var levelNames = map[string]slog.Level{
	"TRACE": LevelTrace, "DEBUG": slog.LevelDebug, "INFO": slog.LevelInfo,
	"WARN": slog.LevelWarn, "WARNING": slog.LevelWarn, "ERROR": slog.LevelError,
	"CRITICAL": LevelCritical, "FATAL": LevelFatal,
}

// ParseLevel reads a MOSN level name (TRACE, DEBUG, INFO, WARN, ERROR,
// CRITICAL, FATAL), in any case.
func ParseLevel(s string) (slog.Level, error) {
	if l, ok := levelNames[strings.ToUpper(strings.TrimSpace(s))]; ok {
		return l, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL or FATAL)", s)
}

// Open returns a logger writing to path ("stdout", "stderr" or a file,
// appended to) at the level held by level, and the file to close (nil for
// the standard streams). A file is a *File, which Reopen moves to a new file
// of the same name after log rotation.
func Open(path string, level *slog.LevelVar) (*slog.Logger, io.Closer, error) {
	var w io.Writer
	var closer io.Closer
	switch path {
	case "", "stdout":
		w = os.Stdout
	case "stderr":
		w = os.Stderr
	default:
		f, err := OpenFile(path)
		if err != nil {
			return nil, nil, err
		}
		w, closer = f, f
	}
	h := slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: levelName})
	return slog.New(h), closer, nil
}

// levelName prints MOSN's names for the levels slog does not know.
func levelName(_ []string, a slog.Attr) slog.Attr {
	if a.Key != slog.LevelKey {
		return a
	}
	switch a.Value.Any().(slog.Level) {
	case LevelTrace:
		a.Value = slog.StringValue("TRACE")
	case LevelCritical:
		a.Value = slog.StringValue("CRITICAL")
	case LevelFatal:
		a.Value = slog.StringValue("FATAL")
	}
	return a
}

// LevelName is MOSN's name of a level: TRACE, DEBUG, INFO, WARN, ERROR,
// CRITICAL or FATAL (slog's form, such as "INFO+2", for any other).
func LevelName(l slog.Level) string {
	switch l {
	case LevelTrace:
		return "TRACE"
	case LevelCritical:
		return "CRITICAL"
	case LevelFatal:
		return "FATAL"
	}
	return l.String()
}

// File is a log file that can be reopened under the same name after log
// rotation moved it away, without losing a line: a line is written whole to
// the old file or to the new one. Safe for concurrent use.
type File struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// OpenFile opens path for appending, creating it if need be.
func OpenFile(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &File{path: path, f: f}, nil
}

// Write appends p to the current file.
func (f *File) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.f.Write(p)
}

// Reopen opens the path anew and closes the old file once writes go to the
// new one. If the path cannot be opened, writes go on to the old file.
func (f *File) Reopen() error {
	nf, err := os.OpenFile(f.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	f.mu.Lock()
	old := f.f
	f.f = nf
	f.mu.Unlock()
	return old.Close()
}

// Close closes the file.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.f.Close()
}
