package tartsim_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExec(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	s.expect(s.tart("exec", "vm", "true"), 2, "VM \"vm\" is not running\n")
	s.expect(s.tart("exec", "nope", "true"), 2, "the specified VM \"nope\" does not exist\n")
	r := s.tart("exec", "vm")
	if r.code != 64 || !strings.HasPrefix(r.stderr, "Error: Missing expected argument '<command> ...'") {
		t.Fatalf("%v", r)
	}
	run := s.startRunning("vm", nil)
	var res result
	eventually(t, 10*time.Second, "agent up", func() bool {
		res = s.tart("exec", "vm", "sh", "-c", "echo out; echo err >&2; exit 7")
		return res.code == 7
	})
	if res.stdout != "out\n" || res.stderr != "err\n" {
		t.Fatalf("streams %v", res)
	}
	// Flags after the name belong to the guest command.
	if out := s.must("exec", "vm", "echo", "-n", "--", "x"); out != "-- x" {
		t.Fatalf("passthrough %q", out)
	}
	s.must("sim", "fault", "vm", "kill-agent")
	r = s.tart("exec", "vm", "true")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Failed to connect to the VM using its control socket: ") ||
		!strings.HasSuffix(r.stderr, ", is the Tart Guest Agent running?\n") {
		t.Fatalf("agent killed: %v", r)
	}
	s.must("stop", "vm")
	run.wait(t, 5*time.Second)

	run = s.startRunning("vm", []string{"TART_SIM_NO_AGENT=1"})
	r = s.tart("exec", "vm", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "is the Tart Guest Agent running?") {
		t.Fatalf("no agent: %v", r)
	}
	s.must("stop", "vm")
	run.wait(t, 5*time.Second)
}

func TestRunRecordsOptions(t *testing.T) {
	s := newSim(t)
	s.must("clone", linuxImage, "vm")
	share := t.TempDir()
	run := s.startRunning("vm", nil, "--dir", "src:"+share+":ro", "--net-softnet-allow=10.0.0.0/8", "--net-softnet-expose", "2222:22")
	b, err := os.ReadFile(filepath.Join(s.home, "vms", "vm", "sim-run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ri struct {
		PID     int
		IP      string
		Options struct {
			NoGraphics bool
			Dirs       []struct {
				Name, Path string
				ReadOnly   bool
			}
			Net struct{ Mode, SoftnetAllow, SoftnetExpose string }
		}
	}
	if err := json.Unmarshal(b, &ri); err != nil {
		t.Fatal(err)
	}
	o := ri.Options
	if !o.NoGraphics || len(o.Dirs) != 1 || o.Dirs[0].Name != "src" || o.Dirs[0].Path != share || !o.Dirs[0].ReadOnly ||
		o.Net.Mode != "softnet" || o.Net.SoftnetAllow != "10.0.0.0/8" || o.Net.SoftnetExpose != "2222:22" || ri.PID != run.cmd.Process.Pid {
		t.Fatalf("sim-run.json: %s", b)
	}
	s.must("stop", "vm")
	run.wait(t, 5*time.Second)
	r := s.tart("run", "vm", "--net-softnet", "--net-host")
	if r.code != 64 || !strings.HasPrefix(r.stderr, "Error: --net-bridged, --net-softnet and --net-host are mutually exclusive\nUsage: tart run") {
		t.Fatalf("%v", r)
	}
	s.expect(s.tart("run", "vm", "--root-disk-opts", "sync=maybe"), 1, "unsupported disk image synchronization mode: \"maybe\"\n")
}
