package containersim

import (
	"fmt"
	"strconv"
	"strings"
)

// option is one named option or flag, declared the way swift-argument-parser
// does. A flag has no Value placeholder.
type option struct {
	Long    string   // "name" for --name; the key under which values are stored
	Aliases []string // further long names: "cwd" for --workdir
	Short   byte     // 'e' for -e, 0 if none
	Value   string   // placeholder ("name"); "" means a boolean flag
	Enum    []string // allowed values
	Int     bool     // value must parse as an integer
	Help    string
	Since   string // first release with the option ("" = all simulated ones)
}

func (o option) isFlag() bool { return o.Value == "" }

func (o option) spelling() string {
	if o.isFlag() {
		return "--" + o.Long
	}
	return "--" + o.Long + " <" + o.Value + ">"
}

// positional is one positional argument.
type positional struct {
	Name     string
	Optional bool
	Variadic bool
}

func (p positional) spelling() string {
	s := "<" + p.Name + ">"
	if p.Variadic {
		s += " ..."
	}
	if p.Optional {
		s = "[" + s + "]"
	}
	return s
}

// apiMode says how a command reaches the apiserver first, which decides the
// wording of its error when the apiserver is down (§2.1, §13).
type apiMode int

const (
	apiNone apiMode = iota // works without the apiserver (--version, system start/status)
	apiPing                // pings first: short XPC error
	apiList                // lists containers first: wrapped "failed to list containers"
)

// command is one node of the command tree.
type command struct {
	Name        string
	Aliases     []string
	Hidden      bool
	Abstract    string
	Options     []option
	Args        []positional
	Passthrough bool // option parsing stops at the first positional (run, create, exec)
	API         apiMode
	Subs        []*command
	Run         func(e *env, p *parsed) error
	parent      *command
}

func (c *command) path() string {
	if c.parent == nil || c.parent.Name == "" {
		return c.Name
	}
	return c.parent.path() + " " + c.Name
}

func (c *command) usage() string {
	if len(c.Subs) > 0 && c.Run == nil {
		return "<subcommand>"
	}
	parts := []string{}
	if len(c.Options) > 0 {
		parts = append(parts, "[<options>]")
	}
	for _, a := range c.Args {
		parts = append(parts, a.spelling())
	}
	return strings.Join(parts, " ")
}

// forVersion drops the options a release does not have yet, so that they
// are unknown options there.
func (c *command) forVersion(v version) *command {
	cp := *c
	cp.Options = nil
	for _, o := range c.Options {
		if o.Since != "" {
			sv, ok := parseVersion(o.Since)
			if ok && !v.atLeastV(sv) {
				continue
			}
		}
		cp.Options = append(cp.Options, o)
	}
	return &cp
}

func (c *command) sub(word string) *command {
	for _, s := range c.Subs {
		if s.Name == word {
			return s
		}
		for _, a := range s.Aliases {
			if a == word {
				return s
			}
		}
	}
	return nil
}

// parsed is the result of parsing one command line.
type parsed struct {
	cmd   *command
	opts  map[string][]string
	flags map[string]bool
	args  []string
	help  bool
}

func (p *parsed) flag(name string) bool { return p.flags[name] }
func (p *parsed) has(name string) bool  { return len(p.opts[name]) > 0 }
func (p *parsed) all(name string) []string {
	return p.opts[name]
}

// str returns the last value of an option (later ones win).
func (p *parsed) str(name, def string) string {
	if v := p.opts[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return def
}

func (p *parsed) int(name string, def int64) int64 {
	if v := p.opts[name]; len(v) > 0 {
		n, _ := strconv.ParseInt(v[len(v)-1], 10, 64) // validated by parse
		return n
	}
	return def
}

func (c *command) lookupLong(name string) (option, bool) {
	for _, o := range c.Options {
		if o.Long == name {
			return o, true
		}
		for _, a := range o.Aliases {
			if a == name {
				return o, true
			}
		}
	}
	if name == "debug" {
		return option{Long: "debug"}, true
	}
	return option{}, false
}

func (c *command) lookupShort(ch byte) (option, bool) {
	for _, o := range c.Options {
		if o.Short == ch {
			return o, true
		}
	}
	return option{}, false
}

// parse parses the words after the command's name. Errors carry
// ArgumentParser's wording and exit 64.
func (c *command) parse(argv []string) (*parsed, error) {
	p := &parsed{cmd: c, opts: map[string][]string{}, flags: map[string]bool{}}
	var pos []string
	set := func(o option, spelled, val string) error {
		if len(o.Enum) > 0 && !contains(o.Enum, val) {
			return c.usageErr(fmt.Sprintf("The value '%s' is invalid for '%s'. Please provide one of %s.",
				val, spelled, enumList(o.Enum)))
		}
		if o.Int {
			if _, err := strconv.ParseInt(val, 10, 64); err != nil {
				return c.usageErr(fmt.Sprintf("The value '%s' is invalid for '%s'", val, spelled))
			}
		}
		p.opts[o.Long] = append(p.opts[o.Long], val)
		return nil
	}
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if c.Passthrough && len(pos) > 0 {
			pos = append(pos, argv[i:]...)
			break
		}
		switch {
		case a == "--":
			pos = append(pos, argv[i+1:]...)
			i = len(argv)
		case a == "--help" || a == "-h":
			p.help = true
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			o, ok := c.lookupLong(name)
			if !ok {
				return nil, c.usageErr(fmt.Sprintf("Unknown option '--%s'", name))
			}
			if o.isFlag() {
				if hasVal {
					return nil, c.usageErr(fmt.Sprintf("Unknown option '%s'", a))
				}
				p.flags[o.Long] = true
				continue
			}
			if !hasVal {
				if i+1 >= len(argv) || looksLikeOption(argv[i+1]) {
					return nil, c.usageErr(fmt.Sprintf("Missing value for '%s'", o.spelling()))
				}
				i++
				val = argv[i]
			}
			if err := set(o, o.spelling(), val); err != nil {
				return nil, err
			}
		case len(a) > 1 && a[0] == '-' && !isNumber(a):
			// Short options, possibly combined: -it, -e K=V.
			for j := 1; j < len(a); j++ {
				o, ok := c.lookupShort(a[j])
				if !ok {
					return nil, c.usageErr(fmt.Sprintf("Unknown option '-%c'", a[j]))
				}
				if o.isFlag() {
					p.flags[o.Long] = true
					continue
				}
				if j != len(a)-1 {
					return nil, c.usageErr(fmt.Sprintf("Unknown option '-%s'", a[j+1:]))
				}
				if i+1 >= len(argv) || looksLikeOption(argv[i+1]) {
					return nil, c.usageErr(fmt.Sprintf("Missing value for '-%c <%s>'", o.Short, o.Value))
				}
				i++
				if err := set(o, fmt.Sprintf("-%c <%s>", o.Short, o.Value), argv[i]); err != nil {
					return nil, err
				}
			}
		default:
			pos = append(pos, a)
		}
	}
	if p.help {
		return p, nil
	}
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
		for i, x := range extra {
			q[i] = "'" + x + "'"
		}
		return nil, c.usageErr(fmt.Sprintf("%d unexpected arguments: %s", len(extra), strings.Join(q, ", ")))
	}
	return p, nil
}

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

// looksLikeOption: ArgumentParser does not take "-x"/"--x" as an option's
// value (negative numbers excepted).
func looksLikeOption(s string) bool {
	return len(s) > 1 && s[0] == '-' && !isNumber(s)
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// helpText renders a short ArgumentParser-like help page.
func (c *command) helpText() string {
	var b strings.Builder
	if c.Abstract != "" {
		fmt.Fprintf(&b, "OVERVIEW: %s\n\n", c.Abstract)
	}
	fmt.Fprintf(&b, "USAGE: container %s %s\n", c.path(), c.usage())
	if len(c.Args) > 0 {
		b.WriteString("\nARGUMENTS:\n")
		for _, a := range c.Args {
			fmt.Fprintf(&b, "  <%s>\n", a.Name)
		}
	}
	b.WriteString("\nOPTIONS:\n")
	for _, o := range c.Options {
		s := ""
		if o.Short != 0 {
			s = fmt.Sprintf("-%c, ", o.Short)
		}
		s += "--" + o.Long
		for _, a := range o.Aliases {
			s += ", --" + a
		}
		if !o.isFlag() {
			s += " <" + o.Value + ">"
		}
		fmt.Fprintf(&b, "  %-32s%s\n", s, o.Help)
	}
	b.WriteString("  --debug                         Enable debug output [environment: CONTAINER_DEBUG]\n")
	b.WriteString("  -h, --help                      Show help information.\n")
	if len(c.Subs) > 0 {
		b.WriteString("\nSUBCOMMANDS:\n")
		for _, s := range c.Subs {
			if !s.Hidden {
				fmt.Fprintf(&b, "  %-24s%s\n", s.Name, s.Abstract)
			}
		}
	}
	return b.String()
}
