package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Severity says whether a Problem stops the config from being used.
type Severity uint8

const (
	// SeverityError marks a config that must not be applied.
	SeverityError Severity = iota
	// SeverityWarning marks something the operator should know about (an
	// ignored key, say) in a config that can still be applied.
	SeverityWarning
	// SeverityUnsupported marks a valid MOSN config feature that this build
	// cannot run yet: `mosn validate` accepts the config, `mosn start`
	// refuses it. The layer that builds runtime objects reports these.
	SeverityUnsupported
)

// String returns "error", "warning" or "not supported yet".
func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	case SeverityUnsupported:
		return "not supported yet"
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// Problem is one finding about a config, with the JSON path of the value it is
// about, such as servers[0].listeners[1].address. Path is empty when the
// finding is about the document as a whole (a syntax error, say).
type Problem struct {
	Path     string
	Severity Severity
	Msg      string
}

// String returns Path + ": " + Msg, or just Msg when Path is empty. It has no
// severity prefix.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// Problems is every finding about a config, in the order they were found.
type Problems []Problem

// Errors returns the problems of SeverityError, in order.
func (ps Problems) Errors() Problems { return ps.only(SeverityError) }

// Warnings returns the problems of SeverityWarning, in order.
func (ps Problems) Warnings() Problems { return ps.only(SeverityWarning) }

// Unsupported returns the problems of SeverityUnsupported, in order.
func (ps Problems) Unsupported() Problems { return ps.only(SeverityUnsupported) }

func (ps Problems) only(s Severity) Problems {
	var out Problems
	for _, p := range ps {
		if p.Severity == s {
			out = append(out, p)
		}
	}
	return out
}

// Err returns nil if ps holds no errors, and otherwise an *Error holding the
// errors, whose message is one line per error.
func (ps Problems) Err() error {
	errs := ps.Errors()
	if len(errs) == 0 {
		return nil
	}
	return &Error{Problems: errs}
}

// Errorf adds an error about the value at path.
func (ps *Problems) Errorf(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Severity: SeverityError, Msg: fmt.Sprintf(format, args...)})
}

// Warnf adds a warning about the value at path.
func (ps *Problems) Warnf(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Severity: SeverityWarning, Msg: fmt.Sprintf(format, args...)})
}

// Unsupportedf adds a feature at path that this build cannot run yet.
func (ps *Problems) Unsupportedf(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Severity: SeverityUnsupported, Msg: fmt.Sprintf(format, args...)})
}

// Error is the error returned by Problems.Err: a config that must not be
// applied. Callers that want the individual problems use errors.As.
type Error struct {
	// Problems holds the errors only, in order.
	Problems Problems
}

// Error returns one line per problem, as Problem.String writes it.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
