package tart

import (
	"errors"
	"strings"
	"testing"
)

// Messages are tart's exact texts (tart-cli.md §1.4, §4.1, §7, §9, §11).
func TestClassify(t *testing.T) {
	usage := "\nUsage: tart ip <name> [--wait <wait>] [--resolver <resolver>]\n  See 'tart ip --help' for more information.\n"
	tests := []struct {
		name     string
		exit     int
		stderr   string
		want     error
		wantLine string
	}{
		{"get missing", 2, "the specified VM \"x\" does not exist\n", ErrVMNotFound, `the specified VM "x" does not exist`},
		{"run missing (validate)", 1, "Error: the specified VM \"x\" does not exist\n", ErrVMNotFound, `Error: the specified VM "x" does not exist`},
		{"old delete missing", 1, "failed to open lock file /Users/a/.tart/vms/x/config.json: No such file or directory\n", ErrVMNotFound, ""},
		{"stop not running", 2, "VM \"x\" is not running\n", ErrNotRunning, `VM "x" is not running`},
		{"suspend double wrapped", 2, "VM \"VM \"x\" is not running\" is not running\n", ErrNotRunning, ""},
		{"run twice", 2, "VM \"x\" is already running!\n", ErrAlreadyRunning, `VM "x" is already running!`},
		{"delete running", 1, "VM \"x\" is running\n", ErrVMRunning, `VM "x" is running`},
		{"vm limit", 1, "The number of VMs exceeds the system limit (other running VMs: a, b)\n", ErrVMLimit, ""},
		{"vm limit old", 1, "Error Domain=VZErrorDomain Code=6 \"The maximum supported number of active virtual machines has been reached.\"\n", ErrVMLimit, ""},
		{"no ip", 1, "no IP address found, is your VM running?\n", ErrNoIP, "no IP address found, is your VM running?"},
		{"no ip agent", 1, "no IP address found (also make sure that Guest agent for Tart is running inside of a VM)\n", ErrNoIP, ""},
		{"registry 401", 1, "Error: UnexpectedHTTPStatusCode(when: \"pulling manifest\", code: 401, details: \"\")\n", ErrAuth, ""},
		{"registry 403", 1, "Error: UnexpectedHTTPStatusCode(when: \"pulling manifest\", code: 403, details: \"denied\")\n", ErrAuth, ""},
		{"registry 404 is not auth", 1, "Error: UnexpectedHTTPStatusCode(when: \"pulling manifest\", code: 404, details: \"\")\n", ErrFailed, ""},
		{"invalid credentials", 1, "invalid credentials: bad password\n", ErrAuth, ""},
		{"auth failed", 1, "Error: AuthFailed(why: \"received unexpected HTTP status code 401\", details: \"\")\n", ErrAuth, ""},
		{"keychain over ssh (pre 2.28.6)", 1, "Error: Failed(message: \"Keychain returned unsuccessful status -25308\")\n", ErrAuth, ""},
		{"vm start keychain is not auth", 1, "Error: SecKeyCreateRandomKey_ios failed\n", ErrFailed, ""},
		{"disk full", 1, "Error: Error Domain=NSPOSIXErrorDomain Code=28 \"No space left on device\"\n", ErrDiskFull, ""},
		{"disk full sim", 1, "Error: not enough disk space to clone\n", ErrDiskFull, ""},
		{"exec old macos", 1, "\"tart exec\" is only available on macOS 14 (Sonoma) or newer\n", ErrUnsupported, ""},
		{"nested host", 64, "Error: Nested virtualization is supported on hosts starting with macOS 15 (Sequoia), and later.\n" + usage, ErrUnsupported, ""},
		{"nested on a macOS guest", 1, "Error: macOS virtual machines do not support nested virtualization\n", ErrUsage, ""},
		{"suspendable linux guest", 64, "Error: You can only suspend macOS VMs\nUsage: tart run <name>\n", ErrUsage, "Error: You can only suspend macOS VMs"},
		{"agent down", 1, "Failed to connect to the VM using its control socket: connection refused, is the Tart Guest Agent running?\n", ErrAgentUnavailable, ""},
		{"bad flag", 64, "Error: Unknown option '--foo'\n" + usage, ErrUsage, "Error: Unknown option '--foo'"},
		{"bad enum", 64, "Error: The value 'x' is invalid for '--resolver <resolver>'. Please provide one of 'dhcp', 'arp' or 'agent'.\nHelp:  --resolver <resolver>  Strategy\n" + usage, ErrUsage, ""},
		{"gc noise skipped", 1, "\nFailed to perform garbage collection: EPERM\n\nError: something broke\n", ErrFailed, "Error: something broke"},
		{"empty", 1, "", ErrFailed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.exit, tt.stderr)
			if got.kind != tt.want {
				t.Fatalf("kind %v, want %v (line %q)", got.kind, tt.want, got.line)
			}
			if tt.wantLine != "" && got.line != tt.wantLine {
				t.Fatalf("line %q, want %q", got.line, tt.wantLine)
			}
			if got.line != "" && noiseRe.MatchString(got.line) {
				t.Fatalf("noise line chosen: %q", got.line)
			}
		})
	}
}

func TestExecTartFailure(t *testing.T) {
	tests := []struct {
		name   string
		exit   int
		stderr string
		want   error // nil: the guest's own exit code
	}{
		{"guest exit 2 with words", 2, "grep: VM \"x\" is not running here\n", nil},
		{"guest prints Error", 1, "Error: build failed\n", nil},
		{"guest exit 64", 64, "Error: usage of my tool\n", nil},
		{"not running", 2, "VM \"vm\" is not running\n", ErrNotRunning},
		{"missing", 2, "the specified VM \"vm\" does not exist\n", ErrVMNotFound},
		{"agent", 1, "Failed to connect to the VM using its control socket: x, is the Tart Guest Agent running?\n", ErrAgentUnavailable},
		{"old macos", 1, "\"tart exec\" is only available on macOS 14 (Sonoma) or newer\n", ErrUnsupported},
		{"tart usage", 64, "Error: Missing expected argument '<command> ...'\n\nUsage: tart exec [-i] [-t] <name> <command> ...\n  See 'tart exec --help' for more information.\n", ErrUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, ok := execTartFailure(tt.exit, tt.stderr)
			if tt.want == nil {
				if ok {
					t.Fatalf("guest failure taken for tart's: %v", cl.kind)
				}
				return
			}
			if !ok || cl.kind != tt.want {
				t.Fatalf("got %v (ok %v), want %v", cl.kind, ok, tt.want)
			}
		})
	}
}

func TestErrorFormatting(t *testing.T) {
	e := &Error{Kind: ErrVMNotFound, Args: []string{"get", "my vm", "--format", "json"}, ExitCode: 2, Stderr: `the specified VM "my vm" does not exist`}
	if got, want := e.Error(), `tart get "my vm" --format json: the specified VM "my vm" does not exist (exit 2)`; got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if !errors.Is(e, ErrVMNotFound) || errors.Is(e, ErrFailed) {
		t.Fatal("errors.Is mismatch")
	}
	var te *Error
	if !errors.As(error(e), &te) || te.ExitCode != 2 {
		t.Fatal("errors.As failed")
	}
	bnf := &BinaryNotFoundError{Searched: []string{"$PATH", "/opt/homebrew/bin/tart"}}
	if !errors.Is(bnf, ErrBinaryNotFound) {
		t.Fatal("BinaryNotFoundError does not match ErrBinaryNotFound")
	}
}

func TestClassifyLogPrefersLastLineWhenUnknown(t *testing.T) {
	log := "There is already a running VM with the same MAC address!\nResetting VM to assign a new MAC address...\nError Domain=VZErrorDomain Code=1 \"Internal error\"\n"
	if c := classifyLog(1, log); c.kind != ErrFailed || !strings.HasPrefix(c.line, "Error Domain=VZErrorDomain Code=1") {
		t.Fatalf("got %v %q", c.kind, c.line)
	}
	log = "Resetting VM to assign a new MAC address...\nThe number of VMs exceeds the system limit (other running VMs: a, b)\n"
	if c := classifyLog(1, log); c.kind != ErrVMLimit {
		t.Fatalf("got %v %q", c.kind, c.line)
	}
}
