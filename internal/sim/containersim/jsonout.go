package containersim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The CLI's JSON comes from Swift's JSONEncoder. 1.x: sorted keys, ISO 8601
// dates, compact for lists and Foundation-pretty ("key" : value) for
// inspect. Pre-1.0: declaration order and Double dates (§2.5). These helpers
// build documents as ordered trees so both profiles are exact.

// jkv is one member of an ordered JSON object.
type jkv struct {
	K string
	V any
}

// jobj is an ordered JSON object; encoders sort it in the 1.x profile.
type jobj []jkv

func (o jobj) get(k string) (any, bool) {
	for _, kv := range o {
		if kv.K == k {
			return kv.V, true
		}
	}
	return nil, false
}

func (o jobj) without(keys ...string) jobj {
	var out jobj
	for _, kv := range o {
		if !contains(keys, kv.K) {
			out = append(out, kv)
		}
	}
	return out
}

// jsonStyle controls rendering.
type jsonStyle struct {
	Sorted      bool
	Pretty      bool // Foundation's .prettyPrinted: 2 spaces, "key" : value
	EscapeSlash bool // Foundation escapes "/" unless .withoutEscapingSlashes
}

func (e *env) listStyle() jsonStyle {
	if e.ver.pre1() {
		return jsonStyle{EscapeSlash: true}
	}
	return jsonStyle{Sorted: true, EscapeSlash: true}
}

func (e *env) inspectStyle() jsonStyle {
	if e.ver.pre1() {
		return jsonStyle{EscapeSlash: true}
	}
	return jsonStyle{Sorted: true, Pretty: true, EscapeSlash: true}
}

func isoDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// appleReference is Foundation's reference date, 2001-01-01T00:00:00Z.
var appleReference = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

func appleReferenceSeconds(t time.Time) float64 {
	return float64(t.Sub(appleReference).Microseconds()) / 1e6
}

// renderJSON encodes v. Supported: jobj, []any, []jobj, []string,
// map[string]string, map[string]any, string, bool, ints, floats, json.Number, nil.
func renderJSON(v any, st jsonStyle) []byte {
	var b bytes.Buffer
	writeJSON(&b, v, st, 0)
	return b.Bytes()
}

func writeJSON(b *bytes.Buffer, v any, st jsonStyle, depth int) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case jobj:
		writeObject(b, x, st, depth)
	case map[string]string:
		o := make(jobj, 0, len(x))
		for k, val := range x {
			o = append(o, jkv{k, val})
		}
		sort.Slice(o, func(i, j int) bool { return o[i].K < o[j].K })
		writeObject(b, o, st, depth)
	case map[string]any:
		o := make(jobj, 0, len(x))
		for k, val := range x {
			o = append(o, jkv{k, val})
		}
		sort.Slice(o, func(i, j int) bool { return o[i].K < o[j].K })
		writeObject(b, o, st, depth)
	case []jobj:
		a := make([]any, len(x))
		for i := range x {
			a[i] = x[i]
		}
		writeArray(b, a, st, depth)
	case []string:
		a := make([]any, len(x))
		for i := range x {
			a[i] = x[i]
		}
		writeArray(b, a, st, depth)
	case []any:
		writeArray(b, x, st, depth)
	case string:
		writeString(b, x, st.EscapeSlash)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case uint32:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			b.WriteString(strconv.FormatFloat(x, 'f', 0, 64))
		} else {
			b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
		}
	case json.Number:
		b.WriteString(x.String())
	default:
		panic(fmt.Sprintf("renderJSON: unsupported %T", v))
	}
}

func writeObject(b *bytes.Buffer, o jobj, st jsonStyle, depth int) {
	if st.Sorted {
		o = append(jobj(nil), o...)
		sort.SliceStable(o, func(i, j int) bool { return o[i].K < o[j].K })
	}
	if len(o) == 0 {
		b.WriteString("{}")
		return
	}
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		if st.Pretty {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat("  ", depth+1))
		}
		writeString(b, kv.K, st.EscapeSlash)
		if st.Pretty {
			b.WriteString(" : ")
		} else {
			b.WriteByte(':')
		}
		writeJSON(b, kv.V, st, depth+1)
	}
	if st.Pretty {
		b.WriteByte('\n')
		b.WriteString(strings.Repeat("  ", depth))
	}
	b.WriteByte('}')
}

func writeArray(b *bytes.Buffer, a []any, st jsonStyle, depth int) {
	if len(a) == 0 {
		b.WriteString("[]")
		return
	}
	b.WriteByte('[')
	for i, v := range a {
		if i > 0 {
			b.WriteByte(',')
		}
		if st.Pretty {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat("  ", depth+1))
		}
		writeJSON(b, v, st, depth+1)
	}
	if st.Pretty {
		b.WriteByte('\n')
		b.WriteString(strings.Repeat("  ", depth))
	}
	b.WriteByte(']')
}

func writeString(b *bytes.Buffer, s string, escapeSlash bool) {
	enc, _ := json.Marshal(s) // valid JSON string with Go's escapes
	out := string(enc)
	// Foundation does not HTML-escape; undo Go's \u003c \u003e \u0026.
	out = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(out)
	if escapeSlash {
		out = strings.ReplaceAll(out, "/", `\/`)
	}
	b.WriteString(out)
}

// toTree converts a value marshalled by encoding/json into an ordered tree
// (object members in the order encoding/json wrote them, numbers kept exact).
func toTree(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	t, err := readTree(dec)
	if err != nil {
		panic(err)
	}
	return t
}

func readTree(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := jobj{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := readTree(dec)
				if err != nil {
					return nil, err
				}
				o = append(o, jkv{kt.(string), v})
			}
			_, err := dec.Token()
			return o, err
		case '[':
			a := []any{}
			for dec.More() {
				v, err := readTree(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
	}
	return tok, nil
}
