package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tartanhq/tartan/guest"
)

// Connector opens a transport to the guest described by a Spec. The driver
// supplies the real one; it is a parameter so the protocol can be tested.
type Connector func(ctx context.Context, s *Spec) (guest.Transport, error)

// fifoWait bounds the wait for Nomad's logmon to open the FIFOs.
const fifoWait = time.Minute

// Config is what a plugin binary gives its supervisor.
type Config struct {
	// Arg is the first argument that selects the supervisor ("" = Arg).
	Arg string
	// Connect opens the guest for guest commands (the Tart driver).
	Connect Connector
	// Signal delivers signals to a local command's workload; nil signals
	// the local process itself (see Local).
	Signal Signaler
}

// Main is the supervisor's entry point: call it first thing in main (and in
// TestMain of packages whose tests start tasks). When os.Args names the
// supervisor it runs it and exits; otherwise it returns at once.
func Main(cfg Config) {
	if cfg.Arg == "" {
		cfg.Arg = Arg
	}
	if len(os.Args) < 2 || os.Args[1] != cfg.Arg {
		return
	}
	os.Exit(runWith(os.Stdin, os.Stdout, cfg))
}

// run is runWith for a guest-command supervisor (the tests' shorthand).
func run(stdin io.Reader, stdout *os.File, connect Connector) int {
	return runWith(stdin, stdout, Config{Connect: connect})
}

func runWith(stdin io.Reader, stdout *os.File, cfg Config) int {
	name := cfg.Arg
	if name == "" {
		name = Arg
	}
	logger := log.New(os.Stderr, name+": ", log.LstdFlags|log.Lmicroseconds)
	var spec Spec
	if err := json.NewDecoder(stdin).Decode(&spec); err != nil {
		logger.Printf("reading spec: %v", err)
		return 2
	}
	lock, err := lockState(spec.StateDir)
	if err != nil {
		logger.Print(err)
		return 2
	}
	defer lock.Close()
	_ = os.WriteFile(filepath.Join(spec.StateDir, pidFile), []byte(strconv.Itoa(os.Getpid())), 0o600)
	sigs, err := makeSignalsFIFO(spec.StateDir)
	if err != nil {
		logger.Printf("signals FIFO: %v", err)
		return 2
	}
	defer func() {
		_ = os.Remove(sigs.Name())
		_ = sigs.Close()
	}()
	// Handshake: the plugin may now probe the lock and send signals.
	fmt.Fprintln(stdout, "ok")
	stdout.Close()
	// The session leader must not die of a hangup or a stray TERM while the
	// guest command runs; TERM/INT/HUP sent to us are forwarded instead.
	osSigs := make(chan os.Signal, 4)
	signalNotify(osSigs)
	defer signal.Stop(osSigs)

	var exit Exit
	what := "command"
	switch {
	case spec.Follow != nil:
		// Nothing to forward signals to: the VM takes them from the plugin.
		exit, what = follow(&spec, logger), "log follower (VM ended)"
	case spec.Local != nil:
		exit, what = superviseLocal(&spec, cfg.Signal, sigs, osSigs, logger), "local command"
	default:
		exit = supervise(&spec, cfg.Connect, sigs, osSigs, logger)
	}
	exit.Finished = time.Now().UTC()
	if err := writeExit(spec.StateDir, exit); err != nil {
		logger.Printf("writing exit status: %v", err)
		return 1
	}
	logger.Printf("%s ended: exit=%d signal=%q err=%q", what, exit.ExitCode, exit.Signal, exit.Err)
	return 0
}

func supervise(spec *Spec, connect Connector, sigFIFO *os.File, osSigs <-chan os.Signal, logger *log.Logger) Exit {
	ctx := context.Background()
	stdout, err := newFIFOWriter(ctx, spec.StdoutPath, fifoWait)
	if err != nil {
		return Exit{ExitCode: -1, Err: err.Error()}
	}
	defer stdout.Close()
	stderr, err := newFIFOWriter(ctx, spec.StderrPath, fifoWait)
	if err != nil {
		return Exit{ExitCode: -1, Err: err.Error()}
	}
	defer stderr.Close()

	cctx, cancel := context.WithTimeout(ctx, max(spec.ConnectWait, time.Second))
	tr, err := connect(cctx, spec)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "tart driver: cannot reach the guest: %v\n", err)
		return Exit{ExitCode: -1, Err: "connecting to the guest: " + err.Error()}
	}
	defer tr.Close()

	forward := make(chan os.Signal, 8)
	names := make(chan string, 8)
	go readSignals(sigFIFO, names)
	go func() {
		for name := range names {
			sig, ok := signalByName[name]
			if !ok {
				logger.Printf("ignoring unknown signal %q", name)
				continue
			}
			forward <- sig
		}
	}()
	go func() {
		for s := range osSigs {
			forward <- s
		}
	}()
	res, err := tr.Run(ctx, guest.Command{
		Argv:    spec.Argv,
		Env:     spec.Env,
		Dir:     spec.Dir,
		Stdout:  stdout,
		Stderr:  stderr,
		Signals: forward,
	})
	if err != nil {
		return Exit{ExitCode: -1, Err: err.Error()}
	}
	return Exit{ExitCode: res.ExitCode, Signal: res.Signal}
}

// readSignals passes on the lines of the signals FIFO ("TERM").
func readSignals(f *os.File, out chan<- string) {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name := strings.TrimSpace(sc.Text()); name != "" {
			out <- name
		}
	}
}

// signalByName lists the signals the guest transports can forward.
var signalByName = map[string]os.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "HUP": syscall.SIGHUP, "INT": syscall.SIGINT,
	"KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE, "QUIT": syscall.SIGQUIT, "TERM": syscall.SIGTERM,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
}

// KnownSignal reports whether name ("SIGTERM" or "TERM") can be forwarded.
func KnownSignal(name string) bool {
	_, ok := signalByName[strings.TrimPrefix(strings.ToUpper(name), "SIG")]
	return ok
}
