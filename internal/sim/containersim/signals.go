package containersim

import (
	"strconv"
	"strings"
)

// linuxSignals is the Linux signal table the containerization parser uses
// (numbers are Linux's on every host: the signal is delivered in the VM).
var linuxSignals = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7, "FPE": 8,
	"KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
	"STKFLT": 16, "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22,
	"URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29,
	"POLL": 29, "PWR": 30, "SYS": 31,
}

const sigRTMIN, sigRTMAX = 34, 64

// parseSignal accepts TERM, SIGTERM, sigterm, RTMIN+n, RTMAX-n or a number.
func parseSignal(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, n > 0 && n <= sigRTMAX
	}
	u := strings.ToUpper(s)
	u = strings.TrimPrefix(u, "SIG")
	if n, ok := linuxSignals[u]; ok {
		return n, true
	}
	for _, base := range []struct {
		name string
		n    int
		sign int
	}{{"RTMIN", sigRTMIN, 1}, {"RTMAX", sigRTMAX, -1}} {
		if u == base.name {
			return base.n, true
		}
		if rest, ok := strings.CutPrefix(u, base.name); ok && len(rest) > 1 {
			off, err := strconv.Atoi(rest[1:])
			if err != nil || off < 0 || (rest[0] != '+' && rest[0] != '-') {
				return 0, false
			}
			n := base.n + base.sign*off
			if (rest[0] == '+') != (base.sign == 1) {
				return 0, false
			}
			return n, n >= sigRTMIN && n <= sigRTMAX
		}
	}
	return 0, false
}

func invalidSignal(s string) error { return failf("invalid signal: %s", s) }

// macOSSignals is the table the CLI used before 1.0.0: it parsed names on
// the Mac and sent the macOS number, which the VM delivered as the Linux
// signal of that number (USR1 = 30 arrives as SIGPWR) [inferred, §4.5].
var macOSSignals = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "EMT": 7, "FPE": 8,
	"KILL": 9, "BUS": 10, "SEGV": 11, "SYS": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "URG": 16,
	"STOP": 17, "TSTP": 18, "CONT": 19, "CHLD": 20, "TTIN": 21, "TTOU": 22, "IO": 23, "XCPU": 24,
	"XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "INFO": 29, "USR1": 30, "USR2": 31,
}

// parseSignalFor parses a signal the way the simulated release does.
func (e *env) parseSignalFor(s string) (int, bool) {
	if !e.ver.pre1() {
		return parseSignal(s)
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, n > 0 && n <= 31
	}
	n, ok := macOSSignals[strings.TrimPrefix(strings.ToUpper(s), "SIG")]
	return n, ok
}
