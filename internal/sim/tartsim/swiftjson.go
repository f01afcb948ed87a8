package tartsim

import (
	"fmt"
	"strconv"
	"strings"
)

// Foundation's JSONEncoder with .prettyPrinted writes `"key" : value`,
// two-space indents, escapes "/" as "\/" and renders an empty array as
// "[\n\n]". Go's encoding/json does none of that, so this tiny encoder
// reproduces it for the values tart emits (objects, arrays, strings,
// integers, booleans).

// kv is one key of a JSON object; objects are ordered slices of kv so the
// output is stable (tart's order is unspecified, clients parse by key).
type kv struct {
	k string
	v any
}

type object []kv

func swiftJSON(v any) string {
	var b strings.Builder
	writeSwiftJSON(&b, v, 0)
	return b.String()
}

func writeSwiftJSON(b *strings.Builder, v any, depth int) {
	indent := strings.Repeat("  ", depth)
	inner := indent + "  "
	switch x := v.(type) {
	case object:
		if len(x) == 0 {
			b.WriteString("{\n\n" + indent + "}")
			return
		}
		b.WriteString("{\n")
		for i, e := range x {
			b.WriteString(inner)
			b.WriteString(swiftString(e.k))
			b.WriteString(" : ")
			writeSwiftJSON(b, e.v, depth+1)
			if i < len(x)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "}")
	case []any:
		if len(x) == 0 {
			b.WriteString("[\n\n" + indent + "]")
			return
		}
		b.WriteString("[\n")
		for i, e := range x {
			b.WriteString(inner)
			writeSwiftJSON(b, e, depth+1)
			if i < len(x)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "]")
	case string:
		b.WriteString(swiftString(x))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	default:
		panic(fmt.Sprintf("swiftJSON: unsupported type %T", v))
	}
}

func swiftString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '/':
			b.WriteString(`\/`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
