package gitlab

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Override is one job variable that tried to change a setting.
type Override struct {
	Variable string // as the job named it, e.g. TART_EXECUTOR_SOFTNET_ENABLED
	Key      string // the setting it maps to
	Applied  bool
	Reason   string // why it was refused ("" when applied)
	Value    string // masked when the setting is secret
}

// ApplyJobOverrides applies job variables (CUSTOM_ENV_ stripped, looked up
// with env) to s for the keys the admin made overridable. Every variable
// that names a setting is reported, applied or refused, so the job log can
// say what happened. An invalid value for an allowed key is an error the
// job author must fix.
func (s *Settings) ApplyJobOverrides(env func(string) (string, bool)) ([]Override, error) {
	var report []Override
	for _, f := range s.fields() {
		names := append([]legacyName{{Name: JobVariable(f.Key)}}, f.Legacy...)
		for _, n := range names {
			raw, ok := env(n.Name)
			if !ok {
				continue
			}
			o := Override{Variable: n.Name, Key: f.Key, Value: raw}
			if f.Secret {
				o.Value = "[MASKED]"
			}
			flag := "--" + strings.ReplaceAll(f.Key, "_", "-")
			switch {
			case f.Locked:
				// No switch makes a locked key job-settable: say where the
				// admin sets the value instead.
				o.Reason = fmt.Sprintf("locked by the runner admin (it guards the host or other jobs; jobs can never set it): the admin sets %s in the executor settings (%s)", f.Key, flag)
			case !slices.Contains(s.JobOverridable, f.Key):
				o.Reason = fmt.Sprintf("not job-overridable: the runner admin allows it by adding %q to job_overridable (--job-overridable %s)", f.Key, f.Key)
			}
			if o.Reason != "" {
				report = append(report, o)
				continue
			}
			val := raw
			if n.Convert != nil {
				v, err := n.Convert(raw)
				if err != nil {
					return report, fmt.Errorf("job variable %s: %v", n.Name, err)
				}
				val = v
			}
			vals := []string{val}
			if _, isList := f.Ptr.(*[]string); isList {
				vals = splitList(val)
			}
			if err := setValue(f, vals); err != nil {
				return report, fmt.Errorf("job variable %s: %v", n.Name, err)
			}
			o.Applied = true
			report = append(report, o)
		}
	}
	if err := s.validate(); err != nil {
		var applied []string
		for _, o := range report {
			if o.Applied {
				applied = append(applied, o.Variable)
			}
		}
		return report, fmt.Errorf("job variables %s make the settings invalid: %v", strings.Join(applied, ", "), err)
	}
	return report, nil
}

// Secrets returns the secret values of s, for masking.
func (s *Settings) Secrets() []string {
	var out []string
	for _, f := range s.fields() {
		if f.Secret {
			if v := valueString(f); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// String lists every non-secret setting (secrets masked), for debugging.
func (s *Settings) String() string {
	out := ""
	for _, f := range s.fields() {
		v := valueString(f)
		if f.Secret && v != "" {
			v = "[MASKED]"
		}
		out += f.Key + "=" + strconv.Quote(v) + "\n"
	}
	return out
}
