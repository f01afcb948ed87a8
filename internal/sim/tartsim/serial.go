package tartsim

import (
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"os"

	"github.com/creack/pty"
)

// openConsole handles --serial (a fresh PTY whose name tart prints) and
// --serial-path (an existing file or PTY). The returned files stay open
// for the VM's lifetime; close them when it ends.
func openConsole(e *env, rc *runConfig) ([]*os.File, error) {
	switch {
	case rc.Serial:
		ptmx, tty, err := pty.Open()
		if err != nil {
			return nil, runtimeFailf("Failed to create PTY: %v", err)
		}
		fmt.Fprintf(e.stdout, "Successfully open pty %s\n", tty.Name())
		return []*os.File{ptmx, tty}, nil
	case rc.SerialPath != "":
		f, err := os.OpenFile(rc.SerialPath, os.O_RDWR, 0)
		if err != nil {
			return nil, runtimeFailf("Failed to open PTY")
		}
		return []*os.File{f}, nil
	}
	return nil, nil
}

// consoleWriter is where the guest writes its console output: the PTY's
// master side (the user reads the tty tart printed) or the --serial-path
// file. nil without a console.
func consoleWriter(files []*os.File) io.Writer {
	if len(files) == 0 {
		return nil
	}
	return files[0]
}

// experimentalVNCURL is what --vnc-experimental announces: the framework's
// VNC server on 127.0.0.1, a random port and a four-word password.
func experimentalVNCURL() string {
	words := []string{"amber", "brook", "cedar", "delta", "ember", "fjord", "grove", "haven", "islet", "juniper", "knoll", "lumen"}
	pick := func(n int64) int64 { v, _ := rand.Int(rand.Reader, big.NewInt(n)); return v.Int64() }
	pw := words[pick(12)]
	for i := 0; i < 3; i++ {
		pw += "-" + words[pick(12)]
	}
	return fmt.Sprintf("vnc://:%s@127.0.0.1:%d", pw, 49152+pick(16000))
}
