package tartsim

import (
	"fmt"
	"strconv"
	"strings"
)

// option describes one named option or flag of a command, the way
// swift-argument-parser declares it. A flag has no Value name.
type option struct {
	Long      string   // "format" for --format
	Short     byte     // 't' for -t, 0 if none
	Value     string   // value placeholder ("format"); "" means a boolean flag
	Enum      []string // allowed values, validated by the parser
	Inverse   string   // "no-display-refit": a flag that sets Long to false
	Unsigned  bool     // value must parse as an unsigned integer
	Hidden    bool
	Help      string
	Since     string            // first tart release with this option ("" = always)
	EnumSince map[string]string // first release accepting an enum value
}

func (o option) isFlag() bool { return o.Value == "" }

// spelling is the option as ArgumentParser names it in messages: "--format <format>".
func (o option) spelling() string {
	if o.isFlag() {
		return "--" + o.Long
	}
	return "--" + o.Long + " <" + o.Value + ">"
}

// positional describes a positional argument.
type positional struct {
	Name     string // placeholder: "name"
	Optional bool
	Variadic bool // takes every remaining argument (at least one unless Optional)
}

func (p positional) spelling() string {
	if p.Variadic {
		return "<" + p.Name + "> ..."
	}
	return "<" + p.Name + ">"
}

// command is one row of the declarative command table.
type command struct {
	Name        string
	Hidden      bool
	Abstract    string
	Usage       string // after "tart <name> "
	Options     []option
	Args        []positional
	Passthrough bool   // option parsing stops at the first positional (tart exec)
	Since       string // first tart release with this command
	Run         func(e *env, a *parsed) error
}

// parsed holds the result of parsing one command line.
type parsed struct {
	cmd   *command
	opts  map[string][]string // option long name -> values in order
	flags map[string]bool     // flag long name -> value (inverse flags store false)
	args  []string            // positionals in order
	help  bool
}

func (p *parsed) has(name string) bool  { _, ok := p.opts[name]; return ok }
func (p *parsed) flag(name string) bool { return p.flags[name] }
func (p *parsed) flagSet(name string) (val, set bool) {
	v, ok := p.flags[name]
	return v, ok
}

// str returns the last value given for an option (later ones win, like ArgumentParser).
func (p *parsed) str(name, def string) string {
	v := p.opts[name]
	if len(v) == 0 {
		return def
	}
	return v[len(v)-1]
}

func (p *parsed) all(name string) []string { return p.opts[name] }

func (p *parsed) uint(name string, def uint64) uint64 {
	v := p.opts[name]
	if len(v) == 0 {
		return def
	}
	n, _ := strconv.ParseUint(v[len(v)-1], 10, 64) // validated by parse
	return n
}

func (c *command) lookupLong(name string) (option, bool, bool) {
	for _, o := range c.Options {
		if o.Long == name {
			return o, true, true
		}
		if o.Inverse != "" && o.Inverse == name {
			return o, false, true
		}
	}
	return option{}, false, false
}

func (c *command) lookupShort(ch byte) (option, bool) {
	for _, o := range c.Options {
		if o.Short != 0 && o.Short == ch {
			return o, true
		}
	}
	return option{}, false
}

// parse parses argv (the words after the subcommand name) against the table row.
// Errors are *usageError values carrying ArgumentParser's exact wording.
func (c *command) parse(argv []string) (*parsed, error) {
	p := &parsed{cmd: c, opts: map[string][]string{}, flags: map[string]bool{}}
	var pos []string
	setValue := func(o option, val string) error {
		if len(o.Enum) > 0 && !contains(o.Enum, val) {
			return c.usageErr(fmt.Sprintf("The value '%s' is invalid for '%s'. Please provide one of %s.",
				val, o.spelling(), enumList(o.Enum)))
		}
		if o.Unsigned {
			if _, err := strconv.ParseUint(val, 10, 64); err != nil {
				return c.usageErr(fmt.Sprintf("The value '%s' is invalid for '%s'", val, o.spelling()))
			}
		}
		p.opts[o.Long] = append(p.opts[o.Long], val)
		return nil
	}
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if c.Passthrough && len(pos) > 0 {
			pos = append(pos, a)
			continue
		}
		switch {
		case a == "--":
			pos = append(pos, argv[i+1:]...)
			i = len(argv)
		case a == "--help" || a == "-h":
			p.help = true
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			o, positive, ok := c.lookupLong(name)
			if !ok {
				return nil, c.usageErr(fmt.Sprintf("Unknown option '--%s'", name))
			}
			if o.isFlag() {
				if hasVal {
					return nil, c.usageErr(fmt.Sprintf("Unknown option '%s'", a))
				}
				p.flags[o.Long] = positive
				continue
			}
			if !hasVal {
				if i+1 >= len(argv) {
					return nil, c.usageErr(fmt.Sprintf("Missing value for '%s'", o.spelling()))
				}
				i++
				val = argv[i]
			}
			if err := setValue(o, val); err != nil {
				return nil, err
			}
		case len(a) > 1 && a[0] == '-' && !isNumber(a):
			// One or more short options: -q, -it, -t 10, -t10.
			for j := 1; j < len(a); j++ {
				o, ok := c.lookupShort(a[j])
				if !ok {
					return nil, c.usageErr(fmt.Sprintf("Unknown option '-%c'", a[j]))
				}
				if o.isFlag() {
					p.flags[o.Long] = true
					continue
				}
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(argv) {
						return nil, c.usageErr(fmt.Sprintf("Missing value for '-%c <%s>'", o.Short, o.Value))
					}
					i++
					val = argv[i]
				}
				if err := setValue(o, val); err != nil {
					return nil, err
				}
				break
			}
		default:
			pos = append(pos, a)
		}
	}
	if p.help {
		return p, nil
	}
	// Assign positionals.
	k := 0
	for _, ap := range c.Args {
		if ap.Variadic {
			if k >= len(pos) && !ap.Optional {
				return nil, c.usageErr(fmt.Sprintf("Missing expected argument '%s'", ap.spelling()))
			}
			p.args = append(p.args, pos[k:]...)
			k = len(pos)
			continue
		}
		if k >= len(pos) {
			if ap.Optional {
				continue
			}
			return nil, c.usageErr(fmt.Sprintf("Missing expected argument '%s'", ap.spelling()))
		}
		p.args = append(p.args, pos[k])
		k++
	}
	if extra := pos[k:]; len(extra) == 1 {
		return nil, c.usageErr(fmt.Sprintf("Unexpected argument '%s'", extra[0]))
	} else if len(extra) > 1 {
		q := make([]string, len(extra))
		for i, e := range extra {
			q[i] = "'" + e + "'"
		}
		return nil, c.usageErr(fmt.Sprintf("%d unexpected arguments: %s", len(extra), strings.Join(q, ", ")))
	}
	return p, nil
}

// enumList renders ArgumentParser's "one of 'a', 'b' or 'c'" / "'a' and 'b'" lists.
func enumList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "'" + v + "'"
	}
	switch len(q) {
	case 1:
		return q[0]
	case 2:
		return q[0] + " and " + q[1]
	default:
		return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
	}
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// helpText renders a short help page for --help (stdout, exit 0).
func (c *command) helpText() string {
	var b strings.Builder
	if c.Abstract != "" {
		fmt.Fprintf(&b, "OVERVIEW: %s\n\n", c.Abstract)
	}
	fmt.Fprintf(&b, "USAGE: tart %s %s\n\nOPTIONS:\n", c.Name, c.Usage)
	for _, o := range c.Options {
		if o.Hidden {
			continue
		}
		s := o.spelling()
		if o.Short != 0 {
			s = fmt.Sprintf("-%c, %s", o.Short, s)
		}
		if o.Inverse != "" {
			s += "/--" + o.Inverse
		}
		fmt.Fprintf(&b, "  %-36s %s\n", s, o.Help)
	}
	fmt.Fprintf(&b, "  %-36s %s\n", "-h, --help", "Show help information.")
	return b.String()
}
