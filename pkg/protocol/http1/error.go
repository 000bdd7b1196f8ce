package http1

import "strconv"

// Error is a protocol error. Status is the HTTP status to answer the
// downstream client with: 400, 413, 431, 501 or 505 for a request, and
// always 502 for a bad response from an upstream (whatever was wrong with
// it, the client's request met a bad gateway). Reason is a short lower-case
// text safe to show to that client. Err, if set, is the cause (io.ErrUnexpectedEOF
// when the peer closed in the middle of a message).
//
// After an Error the connection cannot be trusted to carry another message
// and must be closed; the Decoder returns the same Error on every later call
// until Reset.
type Error struct {
	Status int
	Reason string
	Err    error
}

func (e *Error) Error() string {
	s := "http1: " + strconv.Itoa(e.Status) + " " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Err }
