package applecontainer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
)

// appleReferenceDate is Foundation's reference date: pre-1.0 JSON encodes
// dates as Double seconds since it.
var appleReferenceDate = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

// appleTime decodes a date as ISO 8601 (1.0.0+) or as Double seconds since
// 2001-01-01 (pre-1.0); null or "" is the zero time.
type appleTime struct{ time.Time }

func (t *appleTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			return nil
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.999999999Z0700"} {
			if v, err := time.Parse(layout, s); err == nil {
				t.Time = v
				return nil
			}
		}
		return fmt.Errorf("date %q is not ISO 8601", s)
	default:
		var f float64
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("date %s is neither ISO 8601 nor seconds since 2001-01-01", b)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
			return fmt.Errorf("date %s is out of range", b)
		}
		sec, frac := math.Modf(f)
		t.Time = appleReferenceDate.Add(time.Duration(sec)*time.Second + time.Duration(frac*1e9)).UTC()
		return nil
	}
}

// enumString decodes a string, or a Swift enum encoded as a single-key
// object ({"virtiofs":{}} -> "virtiofs").
type enumString string

func (e *enumString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		*e = enumString(s)
		return err
	case b[0] == '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		for k := range m {
			*e = enumString(k)
			return nil
		}
		return nil
	}
	return fmt.Errorf("expected a string or an enum object, got %s", b)
}

// parsePrefix reads "192.168.64.3/24"; a bare address becomes a host prefix.
// "" is the zero prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, nil
	}
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseAddr reads an address, tolerating a CIDR suffix. "" is the zero addr.
func parseAddr(s string) (netip.Addr, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, nil
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Addr(), nil
	}
	return netip.ParseAddr(s)
}

// decodeList decodes a JSON array of T, tolerating a single object and
// empty output (which the CLI prints for nothing to list).
func decodeList[T any](data []byte) ([]T, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return nil, nil
	}
	if data[0] == '{' {
		var one T
		if err := json.Unmarshal(data, &one); err != nil {
			return nil, err
		}
		return []T{one}, nil
	}
	var out []T
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	return out, nil
}
