package tartsim

import (
	"strconv"
	"strings"
)

// version is a tart release, for the feature gates of TART_SIM_VERSION:
// commands, options and enum values appear in the release that added them
// (tart-cli.md §12), so a client's version checks can be tested.
type version [3]int

// newest stands for versions that cannot be parsed (e.g. "SNAPSHOT"): everything exists.
var newest = version{1 << 30, 0, 0}

func parseVersion(s string) version {
	parts := strings.Split(strings.TrimPrefix(s, "v"), ".")
	if len(parts) != 3 {
		return newest
	}
	var v version
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return newest
		}
		v[i] = n
	}
	return v
}

func (v version) atLeast(s string) bool {
	if s == "" {
		return true
	}
	o := parseVersion(s)
	for i := range v {
		if v[i] != o[i] {
			return v[i] > o[i]
		}
	}
	return true
}

func (e *env) version() version {
	v := e.getenv("TART_SIM_VERSION")
	if v == "" {
		v = DefaultVersion
	}
	return parseVersion(v)
}

// forVersion returns the command as that release knew it (nil if it did not exist).
func (c *command) forVersion(v version) *command {
	if !v.atLeast(c.Since) {
		return nil
	}
	cp := *c
	cp.Options = nil
	for _, o := range c.Options {
		if !v.atLeast(o.Since) {
			continue
		}
		if len(o.EnumSince) > 0 {
			var vals []string
			for _, val := range o.Enum {
				if v.atLeast(o.EnumSince[val]) {
					vals = append(vals, val)
				}
			}
			o.Enum = vals
		}
		cp.Options = append(cp.Options, o)
	}
	return &cp
}

// fieldSpan says in which releases a list/get field exists (tart-cli.md §6.1 schema history).
type fieldSpan struct{ since, until string } // until: first release without it ("" = still there)

var listFields = map[string]fieldSpan{
	"Running": {since: "1.2.0"}, "State": {since: "1.8.0"}, "Disk": {since: "2.6.1"},
	"SizeOnDisk": {since: "2.15.0", until: "2.31.0"}, "Accessed": {since: "2.31.0"},
}

var getFields = map[string]fieldSpan{
	"State": {since: "1.8.0"}, "Size": {since: "2.6.1"}, "OS": {since: "2.8.0"}, "DiskFormat": {since: "2.28.0"},
}

// fieldsFor keeps the keys of o that exist in release v.
func fieldsFor(v version, spans map[string]fieldSpan, o object) object {
	var out object
	for _, f := range o {
		if sp, ok := spans[f.k]; ok && (!v.atLeast(sp.since) || sp.until != "" && v.atLeast(sp.until)) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// tableOf renders objects as tart's text table: every field but Running.
func tableOf(rows []object) string {
	if len(rows) == 0 {
		return ""
	}
	var header []string
	for _, f := range rows[0] {
		if f.k != "Running" {
			header = append(header, f.k)
		}
	}
	cells := make([][]string, len(rows))
	for i, r := range rows {
		for _, f := range r {
			if f.k != "Running" {
				cells[i] = append(cells[i], textOf(f.v))
			}
		}
	}
	return textTable(header, cells)
}

func textOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}
