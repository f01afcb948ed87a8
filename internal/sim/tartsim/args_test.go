package tartsim

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseTable(t *testing.T) {
	cases := []struct {
		cmd     string
		argv    []string
		args    []string
		opts    map[string][]string
		flags   map[string]bool
		wantErr string
	}{
		{cmd: "ip", argv: []string{"vm", "--wait", "60"}, args: []string{"vm"}, opts: map[string][]string{"wait": {"60"}}},
		{cmd: "ip", argv: []string{"--wait=60", "vm"}, args: []string{"vm"}, opts: map[string][]string{"wait": {"60"}}},
		{cmd: "ip", argv: []string{"vm", "--resolver", "agent"}, args: []string{"vm"}, opts: map[string][]string{"resolver": {"agent"}}},
		{cmd: "ip", argv: []string{"vm", "--resolver", "foo"}, wantErr: "The value 'foo' is invalid for '--resolver <resolver>'. Please provide one of 'dhcp', 'arp' or 'agent'."},
		{cmd: "ip", argv: []string{"vm", "--wait", "soon"}, wantErr: "The value 'soon' is invalid for '--wait <wait>'"},
		{cmd: "ip", argv: []string{"vm", "--wait"}, wantErr: "Missing value for '--wait <wait>'"},
		{cmd: "get", argv: []string{"vm", "--format", "yaml"}, wantErr: "The value 'yaml' is invalid for '--format <format>'. Please provide one of 'text' and 'json'."},
		{cmd: "get", argv: []string{}, wantErr: "Missing expected argument '<name>'"},
		{cmd: "get", argv: []string{"a", "b"}, wantErr: "Unexpected argument 'b'"},
		{cmd: "get", argv: []string{"a", "b", "c"}, wantErr: "2 unexpected arguments: 'b', 'c'"},
		{cmd: "get", argv: []string{"vm", "--foo"}, wantErr: "Unknown option '--foo'"},
		{cmd: "list", argv: []string{"-q"}, flags: map[string]bool{"quiet": true}},
		{cmd: "list", argv: []string{"-x"}, wantErr: "Unknown option '-x'"},
		{cmd: "stop", argv: []string{"vm", "-t", "5"}, args: []string{"vm"}, opts: map[string][]string{"timeout": {"5"}}},
		{cmd: "stop", argv: []string{"-t5", "vm"}, args: []string{"vm"}, opts: map[string][]string{"timeout": {"5"}}},
		{cmd: "set", argv: []string{"vm", "--no-display-refit"}, args: []string{"vm"}, flags: map[string]bool{"display-refit": false}},
		{cmd: "set", argv: []string{"vm", "--display-refit"}, args: []string{"vm"}, flags: map[string]bool{"display-refit": true}},
		{cmd: "run", argv: []string{"vm", "--dir", "a:/x", "--dir=b:/y:ro", "--net-bridged", "en0"}, args: []string{"vm"},
			opts: map[string][]string{"dir": {"a:/x", "b:/y:ro"}, "net-bridged": {"en0"}}},
		{cmd: "run", argv: []string{"--no-graphics", "vm"}, args: []string{"vm"}, flags: map[string]bool{"no-graphics": true}},
		{cmd: "run", argv: []string{"--no-graphics=yes", "vm"}, wantErr: "Unknown option '--no-graphics=yes'"},
		{cmd: "exec", argv: []string{"-it", "vm", "ls", "-la", "--", "--x"}, args: []string{"vm", "ls", "-la", "--", "--x"},
			flags: map[string]bool{"interactive": true, "tty": true}},
		{cmd: "exec", argv: []string{"vm", "-i", "cat"}, args: []string{"vm", "-i", "cat"}},
		{cmd: "exec", argv: []string{"vm"}, wantErr: "Missing expected argument '<command> ...'"},
		{cmd: "delete", argv: []string{"a", "b"}, args: []string{"a", "b"}},
		{cmd: "delete", argv: []string{}, wantErr: "Missing expected argument '<name> ...'"},
		{cmd: "get", argv: []string{"--", "-weird"}, args: []string{"-weird"}},
	}
	for _, tc := range cases {
		t.Run(tc.cmd+" "+strings.Join(tc.argv, " "), func(t *testing.T) {
			c := lookupCommand(tc.cmd)
			p, err := c.parse(tc.argv)
			if tc.wantErr != "" {
				var ue *usageError
				if !errors.As(err, &ue) {
					t.Fatalf("want usage error %q, got %v", tc.wantErr, err)
				}
				if ue.msg != tc.wantErr {
					t.Fatalf("message:\n got %q\nwant %q", ue.msg, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.args) > 0 && !reflect.DeepEqual(p.args, tc.args) {
				t.Errorf("args = %q, want %q", p.args, tc.args)
			}
			for k, v := range tc.opts {
				if !reflect.DeepEqual(p.opts[k], v) {
					t.Errorf("opt %s = %q, want %q", k, p.opts[k], v)
				}
			}
			for k, v := range tc.flags {
				if got, ok := p.flagSet(k); !ok || got != v {
					t.Errorf("flag %s = %v (set %v), want %v", k, got, ok, v)
				}
			}
		})
	}
}

// Every command in the table is reachable, documented and has consistent rows.
func TestCommandTableWellFormed(t *testing.T) {
	want := []string{"create", "clone", "run", "set", "get", "list", "login", "logout", "ip", "exec",
		"pull", "push", "import", "export", "prune", "rename", "stop", "delete", "fqn", "suspend"}
	for _, n := range want {
		c := lookupCommand(n)
		if c == nil {
			t.Fatalf("command %s missing", n)
		}
		if c.Run == nil || c.Usage == "" {
			t.Errorf("%s: no Run or Usage", n)
		}
		seen := map[string]bool{}
		for _, o := range c.Options {
			if seen[o.Long] {
				t.Errorf("%s: duplicate option --%s", n, o.Long)
			}
			seen[o.Long] = true
		}
	}
	if !lookupCommand("fqn").Hidden || !lookupCommand("sim").Hidden {
		t.Error("fqn and sim must be hidden")
	}
	if strings.Contains(rootHelp(), "fqn") {
		t.Error("root help lists the hidden fqn")
	}
}

func TestEnumList(t *testing.T) {
	for in, want := range map[string]string{
		"a":     "'a'",
		"a,b":   "'a' and 'b'",
		"a,b,c": "'a', 'b' or 'c'",
	} {
		if got := enumList(strings.Split(in, ",")); got != want {
			t.Errorf("enumList(%s) = %s, want %s", in, got, want)
		}
	}
}
