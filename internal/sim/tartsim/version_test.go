package tartsim

import (
	"bytes"
	"strings"
	"testing"
)

func TestVersionCompare(t *testing.T) {
	v := parseVersion("2.28.0")
	for s, want := range map[string]bool{"2.27.9": true, "2.28.0": true, "2.28.1": false, "10.0.0": false, "": true} {
		if got := v.atLeast(s); got != want {
			t.Errorf("2.28.0 atLeast %q = %v", s, got)
		}
	}
	if parseVersion("SNAPSHOT") != newest {
		t.Error("SNAPSHOT must enable everything")
	}
}

// runIn runs the CLI in-process with a private TART_HOME.
func runIn(t *testing.T, vars map[string]string, args ...string) (string, string, int) {
	t.Helper()
	home := t.TempDir()
	var out, errb bytes.Buffer
	get := func(k string) string {
		if k == "TART_HOME" {
			return home
		}
		return vars[k]
	}
	ev := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: get,
		lookup: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }}
	code := ev.main(args)
	return out.String(), errb.String(), code
}

func TestFeatureGates(t *testing.T) {
	old := map[string]string{"TART_SIM_VERSION": "2.26.0"}
	_, stderr, code := runIn(t, old, "exec", "vm", "true")
	if code != 64 || !strings.HasPrefix(stderr, "Error: Unexpected argument 'exec'\n") {
		t.Fatalf("exec on 2.26: %d %q", code, stderr)
	}
	_, stderr, code = runIn(t, old, "ip", "vm", "--resolver", "agent")
	if code != 64 || !strings.HasPrefix(stderr, "Error: The value 'agent' is invalid for '--resolver <resolver>'. Please provide one of 'dhcp' and 'arp'.\n") {
		t.Fatalf("agent resolver on 2.26: %d %q", code, stderr)
	}
	_, stderr, code = runIn(t, old, "run", "vm", "--net-softnet-block", "10.0.0.0/8")
	if code != 64 || !strings.HasPrefix(stderr, "Error: Unknown option '--net-softnet-block'\n") {
		t.Fatalf("softnet-block on 2.26: %d %q", code, stderr)
	}
	if _, stderr, code = runIn(t, nil, "ip", "vm", "--resolver", "agent"); code != 2 {
		t.Fatalf("agent resolver on default version: %d %q", code, stderr)
	}
}

func TestListSchemaByVersion(t *testing.T) {
	row := object{{"Source", "local"}, {"Name", "a"}, {"Disk", 1}, {"Size", 1}, {"SizeOnDisk", 1},
		{"Accessed", "x"}, {"Running", false}, {"State", "stopped"}}
	keys := func(o object) string {
		var k []string
		for _, f := range o {
			k = append(k, f.k)
		}
		return strings.Join(k, ",")
	}
	for v, want := range map[string]string{
		"2.32.1": "Source,Name,Disk,Size,Accessed,Running,State",
		"2.30.0": "Source,Name,Disk,Size,SizeOnDisk,Running,State",
		"1.8.0":  "Source,Name,Size,Running,State",
	} {
		if got := keys(fieldsFor(parseVersion(v), listFields, row)); got != want {
			t.Errorf("%s: %s, want %s", v, got, want)
		}
	}
}
