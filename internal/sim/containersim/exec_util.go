package containersim

import "os/exec"

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
