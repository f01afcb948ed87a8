package gitlab

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// setValue stores vals (one value for scalars, any number for lists) into
// the field. Errors say which key and what is accepted.
func setValue(f field, vals []string) error {
	switch p := f.Ptr.(type) {
	case *[]string:
		var out []string
		for _, v := range vals {
			v = strings.TrimSpace(v)
			if v != "" {
				out = append(out, v)
			}
		}
		*p = out
		return nil
	}
	if len(vals) != 1 {
		return fmt.Errorf("setting %s takes one value, got %d", f.Key, len(vals))
	}
	v := strings.TrimSpace(vals[0])
	switch p := f.Ptr.(type) {
	case *string:
		*p = v
	case *bool:
		b, err := parseBool(v)
		if err != nil {
			return fmt.Errorf("setting %s: %w", f.Key, err)
		}
		*p = b
	case *int:
		if v == "" {
			*p = 0
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("setting %s: %q is not a whole number >= 0", f.Key, v)
		}
		*p = n
	case *time.Duration:
		d, err := parseDuration(v)
		if err != nil {
			return fmt.Errorf("setting %s: %w", f.Key, err)
		}
		*p = d
	default:
		return fmt.Errorf("setting %s: unsupported type %T", f.Key, f.Ptr)
	}
	return nil
}

// valueString renders the current value for logs and docs.
func valueString(f field) string {
	switch p := f.Ptr.(type) {
	case *string:
		return *p
	case *bool:
		return strconv.FormatBool(*p)
	case *int:
		return strconv.Itoa(*p)
	case *time.Duration:
		return p.String()
	case *[]string:
		return strings.Join(*p, ",")
	}
	return ""
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off", "":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (use true or false)", v)
}

// parseDuration accepts Go durations ("90s", "2m") and bare seconds ("90").
func parseDuration(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (use e.g. 90s, 2m or a number of seconds)", v)
	}
	return d, nil
}

// splitList splits a variable's value into list items (commas or spaces).
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })
}

// Converters for legacy variable names of the other executors.

func alwaysPullToPolicy(v string) (string, error) {
	b, err := parseBool(v)
	if err != nil {
		return "", err
	}
	if b {
		return "always", nil
	}
	return "if-not-present", nil
}

func softnetToNetwork(v string) (string, error) {
	b, err := parseBool(v)
	if err != nil {
		return "", err
	}
	if b {
		return "softnet", nil
	}
	return "nat", nil
}

func installRunnerToMode(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "false", "0", "no", "off":
		return "off", nil
	}
	// true, brew, curl, or a version: all mean "make sure it is there";
	// this executor installs from the host cache only.
	return "install", nil
}

func secondsToDuration(v string) (string, error) {
	d, err := parseDuration(v)
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

func boolLegacy(name string) []legacyName {
	return []legacyName{{Name: name, Convert: func(v string) (string, error) {
		b, err := parseBool(v)
		if err != nil {
			return "", err
		}
		return strconv.FormatBool(b), nil
	}}}
}
