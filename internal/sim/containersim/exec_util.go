package containersim

import (
	"os"
	"os/exec"
	"strings"
)

// runcEnv is the environment for runc: ours minus NOTIFY_SOCKET (under a
// systemd unit runc would otherwise proxy sd_notify for the container).
func runcEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			out = append(out, kv)
		}
	}
	return out
}

func runQuiet(name string, args ...string) error {
	return exec.Command(name, args...).Run()
}

// runcBinary is CONTAINER_SIM_RUNC, else runc on PATH, else /usr/sbin/runc.
func runcBinary(e *env) string {
	if p := e.getenv("CONTAINER_SIM_RUNC"); p != "" {
		return p
	}
	if p, err := exec.LookPath("runc"); err == nil {
		return p
	}
	return "/usr/sbin/runc"
}
