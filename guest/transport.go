package guest

import (
	"context"
	"io"
	"os"
)

// Transport runs commands in one guest. Implementations are safe for
// concurrent use by several goroutines.
type Transport interface {
	// Run runs cmd to completion. A non-zero exit or a death by signal is
	// not an error: it is reported in Result. Errors mean the command could
	// not be run or its outcome is unknown (ErrConnectionLost, ctx errors).
	Run(ctx context.Context, cmd Command) (Result, error)
	// CopyFile writes r to guestPath (created or truncated) with mode.
	CopyFile(ctx context.Context, r io.Reader, guestPath string, mode os.FileMode) error
	// Close releases the connection. Idempotent.
	Close() error
}

// Command describes one command run in the guest.
type Command struct {
	Argv   []string // run directly (no shell) when Script == ""
	Shell  string   // with Script: the interpreter; "" = DefaultShell (never the login shell)
	Script string   // uploaded to a private guest file, then run by Shell: any size works
	// LoginShell, with Script, starts Shell from this shell's login
	// environment (`LoginShell -l -c 'exec "$@"'`: its profile's PATH and
	// variables apply) without letting it interpret the script. "" = none.
	LoginShell string
	Env        map[string]string // for this command only; delivered in an uploaded wrapper, never in argv
	Dir        string            // working directory; "" = the guest user's home
	Stdin      io.Reader         // nil = empty stdin (immediate EOF)
	Stdout     io.Writer         // nil = discarded
	Stderr     io.Writer         // nil = discarded; kept apart from Stdout (with a PTY both arrive on Stdout)
	PTY        *PTY              // nil = no terminal
	// Signals are forwarded to the remote command while it runs, each
	// exactly once: a `kill` of its process group through a second command,
	// or, only when that fails, the SSH "signal" request or the agent's own
	// forwarding. Escalation (e.g. to KILL) is the caller's business.
	Signals <-chan os.Signal
}

// DefaultShell interprets Command.Script when Command.Shell is empty.
const DefaultShell = "/bin/sh"

// PTY asks for a pseudo-terminal of the given size.
type PTY struct {
	Term   string            // "" = "xterm-256color"
	Cols   int               // > 0
	Rows   int               // > 0
	Resize <-chan WindowSize // new sizes while the command runs; may be nil
}

// WindowSize is a terminal size in character cells.
type WindowSize struct{ Cols, Rows int }

// Result is how a command ended.
type Result struct {
	// ExitCode is the command's exit status. When it was killed by a signal
	// it is 128+n for the portable signal numbers (TERM 143, KILL 137...),
	// 255 otherwise.
	ExitCode int
	// Signal is the signal name without "SIG" ("TERM", "KILL") when the
	// command was killed by one, else "".
	Signal string
}
