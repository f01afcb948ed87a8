package gitlab

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// ErrSettings marks an invalid admin configuration (flags or TOML file).
var ErrSettings = errors.New("invalid executor settings")

func settingsErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrSettings, fmt.Sprintf(format, a...))
}

// flagValue collects the values given for one flag (repeatable for lists).
type flagValue struct {
	key  string
	vals *[]string
}

func (v flagValue) String() string { return "" }
func (v flagValue) Set(s string) error {
	*v.vals = append(*v.vals, s)
	return nil
}

// boolFlagValue lets `--headless` mean `--headless=true`.
type boolFlagValue struct{ flagValue }

func (boolFlagValue) IsBoolFlag() bool { return true }

// LoadSettings builds the admin settings from args (the stage's own flags,
// before any positional arguments): defaults, then the TOML file given with
// --config, then the flags. It returns the positional arguments left.
func LoadSettings(args []string) (*Settings, []string, error) {
	s := DefaultSettings()
	fs := flag.NewFlagSet("gitlab-tart-executor", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configFile := fs.String("config", "", "TOML settings file")
	given := map[string]*[]string{}
	for _, f := range s.fields() {
		vals := &[]string{}
		given[f.Key] = vals
		name := strings.ReplaceAll(f.Key, "_", "-")
		if _, ok := f.Ptr.(*bool); ok {
			fs.Var(boolFlagValue{flagValue{f.Key, vals}}, name, f.Help)
		} else {
			fs.Var(flagValue{f.Key, vals}, name, f.Help)
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, settingsErr("%v (flags are the setting keys with '-', e.g. --pull-policy always; see docs/gitlab.md)", err)
	}
	if *configFile != "" {
		if err := s.loadTOML(*configFile); err != nil {
			return nil, nil, err
		}
	}
	for _, f := range s.fields() {
		vals := *given[f.Key]
		if len(vals) == 0 {
			continue
		}
		if _, isList := f.Ptr.(*[]string); !isList && len(vals) > 1 {
			vals = vals[len(vals)-1:]
		}
		if err := setValue(f, vals); err != nil {
			return nil, nil, settingsErr("flag --%s: %v", strings.ReplaceAll(f.Key, "_", "-"), err)
		}
	}
	if err := s.validateAdmin(); err != nil {
		return nil, nil, err
	}
	return s, fs.Args(), nil
}

// loadTOML applies a settings file. Unknown keys are errors: a typo must
// not silently fall back to a default.
func (s *Settings) loadTOML(path string) error {
	raw := map[string]any{}
	data, err := os.ReadFile(path)
	if err != nil {
		return settingsErr("reading settings file: %v", err)
	}
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return settingsErr("settings file %s: %v", path, err)
	}
	byKey := map[string]field{}
	for _, f := range s.fields() {
		byKey[f.Key] = f
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := byKey[k]
		if !ok {
			return settingsErr("settings file %s: unknown key %q (valid keys are listed in docs/gitlab.md)", path, k)
		}
		vals, err := tomlStrings(raw[k])
		if err != nil {
			return settingsErr("settings file %s: key %s: %v", path, k, err)
		}
		if err := setValue(f, vals); err != nil {
			return settingsErr("settings file %s: %v", path, err)
		}
	}
	return nil
}

func tomlStrings(v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case bool:
		return []string{strconv.FormatBool(t)}, nil
	case int64:
		return []string{strconv.FormatInt(t, 10)}, nil
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("list items must be strings, got %T", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}

// validateAdmin checks the admin's own choices.
func (s *Settings) validateAdmin() error {
	byKey := map[string]field{}
	for _, f := range s.fields() {
		byKey[f.Key] = f
	}
	for _, k := range s.JobOverridable {
		f, ok := byKey[k]
		if !ok {
			return settingsErr("job_overridable: unknown key %q", k)
		}
		if f.Locked {
			return settingsErr("job_overridable: %q is locked (it guards the host or other jobs) and can never be set by a job", k)
		}
	}
	return s.validate()
}

// validate checks values that a job override could also break.
func (s *Settings) validate() error {
	oneOf := func(key, v string, allowed ...string) error {
		if slices.Contains(allowed, v) {
			return nil
		}
		return settingsErr("%s = %q: use one of %s", key, v, strings.Join(allowed, ", "))
	}
	checks := []error{
		oneOf("pull_policy", s.PullPolicy, "always", "if-not-present", "never"),
		oneOf("network", s.Network, "nat", "softnet", "bridged", "host"),
		oneOf("ip_resolver", s.IPResolver, "", "dhcp", "arp", "agent"),
		oneOf("transport", s.Transport, "auto", "agent", "ssh"),
		oneOf("guest_runner", s.GuestRunner, "off", "check", "install"),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	if s.Network == "bridged" && len(s.BridgedInterfaces) == 0 {
		return settingsErr("network = bridged needs bridged_interfaces (e.g. en0)")
	}
	if s.Network != "softnet" && (len(s.SoftnetAllow)+len(s.SoftnetBlock)+len(s.SoftnetExpose)) > 0 {
		return settingsErr("softnet_allow/block/expose need network = softnet")
	}
	for _, r := range []struct{ key, v string }{{"cpu", s.CPU}, {"memory", s.Memory}} {
		if r.v == "" || r.v == "auto" {
			continue
		}
		if n, err := strconv.Atoi(r.v); err != nil || n <= 0 {
			return settingsErr("%s = %q: use a positive number, auto, or leave it empty", r.key, r.v)
		}
	}
	if s.Concurrency < 1 {
		return settingsErr("concurrency must be at least 1")
	}
	if s.MacOSLimit < 1 {
		return settingsErr("macos_limit must be at least 1 (Apple allows 2 macOS guests per host)")
	}
	if s.PullConcurrency < 1 {
		return settingsErr("pull_concurrency must be at least 1")
	}
	if _, err := shellFor(s.Shell); err != nil {
		return settingsErr("shell: %v", err)
	}
	if _, err := parseVolumes(s.Volumes); err != nil {
		return settingsErr("volumes: %v", err)
	}
	if _, err := parseDisks(s.Disks); err != nil {
		return settingsErr("disks: %v", err)
	}
	if _, err := compileDenied(s.DeniedImages); err != nil {
		return settingsErr("denied_images: %v", err)
	}
	if s.Display != "" && !displayRE.MatchString(s.Display) {
		return settingsErr("display = %q: use WIDTHxHEIGHT, e.g. 1920x1200", s.Display)
	}
	for _, d := range []struct {
		key string
		v   string
	}{{"guest_builds_dir", s.GuestBuildsDir}, {"guest_cache_dir", s.GuestCacheDir}} {
		if !strings.HasPrefix(d.v, "/") {
			return settingsErr("%s = %q must be an absolute guest path", d.key, d.v)
		}
		if d.v == "/tmp" || strings.HasPrefix(d.v, "/tmp/") {
			return settingsErr("%s = %q: /tmp is a symlink on macOS and breaks gitlab-runner's paths; use /var/tmp", d.key, d.v)
		}
	}
	return nil
}
