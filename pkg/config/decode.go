package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Decode decodes the JSON value raw into v, which must be a non-nil pointer,
// and returns what it found wrong. It is the one decoder of this package, and
// plugin factories use it for the json.RawMessage slots of their filters.
//
// Object keys match the `json` tags of v's struct fields case-insensitively,
// as encoding/json matches them. An unknown key is a warning ("unknown key,
// ignored"); a key given twice in one object, in any case, is an error; a
// value of the wrong JSON type is an error naming the expected type, such as
// "expected integer, got string". Types that implement json.Unmarshaler
// (Duration, json.RawMessage) decode themselves. A JSON null, like an absent
// key, leaves the Go value as it was. path is the JSON path of raw, prefixed
// to the path of every problem; it may be empty.
func Decode(path string, raw json.RawMessage, v any) Problems {
	var c checker
	c.decode(path, raw, v)
	return c.ps
}

// checker collects the problems of one config. It remembers the paths of
// values that failed to decode, so that validation does not report again, as
// "required" say, a value that is only missing because it was rejected.
type checker struct {
	ps     Problems
	failed []string // paths of values that did not decode

	// For validation only.
	dir      string            // directory of relative file paths; "" = the working directory
	clusters map[string]string // cluster name → JSON path of its name
}

// errorf adds an error unless path is, or is inside, a value that failed to
// decode.
func (c *checker) errorf(path, format string, args ...any) {
	for _, f := range c.failed {
		if path == f || strings.HasPrefix(path, f+".") || strings.HasPrefix(path, f+"[") {
			return
		}
	}
	c.ps.Errorf(path, format, args...)
}

func (c *checker) warnf(path, format string, args ...any) { c.ps.Warnf(path, format, args...) }

// fail adds an error about a value that did not decode.
func (c *checker) fail(path, format string, args ...any) {
	c.ps.Errorf(path, format, args...)
	c.failed = append(c.failed, path)
}

// decode is Decode into c.
func (c *checker) decode(path string, raw []byte, v any) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		c.fail(path, "cannot decode into %T: not a non-nil pointer", v)
		return
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && !json.Valid(raw) {
		c.fail(path, "%s", syntaxError(raw))
		return
	}
	c.value(path, raw, rv.Elem())
}

// syntaxError describes what is wrong with data, which is not valid JSON,
// with the line and column where it goes wrong.
func syntaxError(data []byte) string {
	var x any
	err := json.Unmarshal(data, &x)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON: %v", err)
	}
	// Offset counts the bytes read before the error, the bad one included.
	before := data[:max(0, min(int(se.Offset)-1, len(data)))]
	line := 1 + bytes.Count(before, []byte("\n"))
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("invalid JSON at line %d, column %d: %v", line, col, err)
}

// jsonKind names the JSON type of the valid, trimmed, non-empty value raw.
func jsonKind(raw []byte) string {
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// value decodes the valid, trimmed JSON value raw into v.
func (c *checker) value(path string, raw []byte, v reflect.Value) {
	if len(raw) == 0 || jsonKind(raw) == "null" {
		return
	}
	if u, ok := v.Addr().Interface().(json.Unmarshaler); ok {
		if err := u.UnmarshalJSON(raw); err != nil {
			c.fail(path, "%v", err)
		}
		return
	}
	got := jsonKind(raw)
	// want checks that raw is of JSON kind; expect names the Go side.
	want := func(kind, expect string) bool {
		if got != kind {
			c.fail(path, "expected %s, got %s", expect, got)
			return false
		}
		return true
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		c.value(path, raw, v.Elem())
	case reflect.Struct:
		if want("object", "object") {
			c.object(path, raw, v)
		}
	case reflect.Map:
		if want("object", "object") {
			c.dict(path, raw, v)
		}
	case reflect.Slice:
		if want("array", "array") {
			c.array(path, raw, v)
		}
	case reflect.String:
		if want("string", "string") {
			var s string
			_ = json.Unmarshal(raw, &s) // raw is a valid JSON string
			v.SetString(s)
		}
	case reflect.Bool:
		if want("boolean", "boolean") {
			v.SetBool(raw[0] == 't')
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if want("number", "integer") {
			n, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil || v.OverflowInt(n) {
				bits := v.Type().Bits()
				c.fail(path, "%s: want an integer in %d..%d", raw, -1<<(bits-1), 1<<(bits-1)-1)
				return
			}
			v.SetInt(n)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if want("number", "integer") {
			n, err := strconv.ParseUint(string(raw), 10, 64)
			if err != nil || v.OverflowUint(n) {
				c.fail(path, "%s: want an integer in 0..%d", raw, ^uint64(0)>>(64-v.Type().Bits()))
				return
			}
			v.SetUint(n)
		}
	case reflect.Float32, reflect.Float64:
		if want("number", "number") {
			f, err := strconv.ParseFloat(string(raw), v.Type().Bits())
			if err != nil {
				c.fail(path, "%s: %v", raw, err)
				return
			}
			v.SetFloat(f)
		}
	case reflect.Interface:
		var x any
		if err := json.Unmarshal(raw, &x); err != nil || !reflect.TypeOf(x).AssignableTo(v.Type()) {
			c.fail(path, "cannot decode %s into Go type %s", got, v.Type())
			return
		}
		v.Set(reflect.ValueOf(x))
	default:
		c.fail(path, "cannot decode into Go type %s", v.Type())
	}
}

// object decodes a JSON object into the struct v.
func (c *checker) object(path string, raw []byte, v reflect.Value) {
	fields := fieldsOf(v.Type())
	seen := make(map[string]string) // lower-case key → key as first written
	for _, m := range c.members(path, raw) {
		lk := strings.ToLower(m.key)
		f, known := fields[lk]
		p := key(path, m.key)
		if known {
			p = key(path, f.name)
		}
		if first, dup := seen[lk]; dup {
			c.fail(p, "duplicate key (%q and %q)", first, m.key)
			continue
		}
		seen[lk] = m.key
		if !known {
			c.warnf(p, "unknown key, ignored")
			continue
		}
		c.value(p, m.val, v.Field(f.index))
	}
}

// dict decodes a JSON object into the map v, whose keys are strings.
func (c *checker) dict(path string, raw []byte, v reflect.Value) {
	if v.Type().Key().Kind() != reflect.String {
		c.fail(path, "cannot decode into Go type %s", v.Type())
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := make(map[string]bool)
	for _, m := range c.members(path, raw) {
		p := key(path, m.key)
		if seen[m.key] {
			c.fail(p, "duplicate key")
			continue
		}
		seen[m.key] = true
		elem := reflect.New(v.Type().Elem()).Elem()
		c.value(p, m.val, elem)
		v.SetMapIndex(reflect.ValueOf(m.key).Convert(v.Type().Key()), elem)
	}
}

// array decodes a JSON array into the slice v, replacing what it held.
func (c *checker) array(path string, raw []byte, v reflect.Value) {
	ms := c.members(path, raw)
	s := reflect.MakeSlice(v.Type(), len(ms), len(ms))
	for i, m := range ms {
		c.value(index(path, i), m.val, s.Index(i))
	}
	v.Set(s)
}

// member is one key and value of a JSON object, or one element of an array
// (with no key).
type member struct {
	key string
	val []byte
}

// members splits the valid JSON object or array raw into its members, in the
// order they are written.
func (c *checker) members(path string, raw []byte) []member {
	dec := json.NewDecoder(bytes.NewReader(raw))
	open, err := dec.Token()
	if err != nil {
		c.fail(path, "%v", err)
		return nil
	}
	var ms []member
	for dec.More() {
		var m member
		if open == json.Delim('{') {
			tok, err := dec.Token()
			if err != nil {
				c.fail(path, "%v", err)
				return nil
			}
			m.key, _ = tok.(string)
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			c.fail(path, "%v", err)
			return nil
		}
		m.val = bytes.TrimSpace(val)
		ms = append(ms, m)
	}
	return ms
}

// field is a struct field that JSON decodes into.
type field struct {
	index int
	name  string // as in the json tag
}

// fieldsOf maps the lower-cased JSON name of each exported field of t to the
// field. The name is the field's json tag, or the field name without one.
func fieldsOf(t reflect.Type) map[string]field {
	fs := make(map[string]field, t.NumField())
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		fs[strings.ToLower(name)] = field{index: i, name: name}
	}
	return fs
}

// key returns the path of member k of the object at path.
func key(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// index returns the path of element i of the array at path.
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
