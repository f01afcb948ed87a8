package tartsim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/tartanhq/tartan/internal/sim/guestsim"
)

// cmdStop: SIGINT, poll the lock every 100ms up to --timeout, then SIGKILL (§5.7).
func cmdStop(e *env, p *parsed) error {
	name := p.args[0]
	d := e.home.vm(name)
	if err := d.open(); err != nil {
		return err
	}
	pid := d.lockPID()
	if pid == 0 {
		if _, err := os.Stat(d.statePath()); err == nil {
			return os.Remove(d.statePath())
		}
		return vmNotRunning(name)
	}
	timeout := time.Duration(p.uint("timeout", 30)) * time.Second
	_ = syscall.Kill(pid, syscall.SIGINT)
	if waitUnlocked(d, timeout) {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
		return runtimeFailf("failed to forcefully terminate the VM \"%s\": %v", name, err)
	}
	// tart returns right after SIGKILL; the simulator also waits (bounded)
	// for the kernel to drop the lock so a following `delete` is not refused.
	waitUnlocked(d, 2*time.Second)
	return nil
}

func waitUnlocked(d *vmDir, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if d.lockPID() == 0 {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cmdSuspend: fire-and-forget SIGUSR1 (§5.8).
func cmdSuspend(e *env, p *parsed) error {
	name := p.args[0]
	d := e.home.vm(name)
	if err := d.open(); err != nil {
		return err
	}
	pid := d.lockPID()
	if pid == 0 {
		// tart wraps the message twice (a bug kept for fidelity).
		return &runtimeError{exitRuntime, fmt.Sprintf("VM \"%s\" is not running", fmt.Sprintf("VM \"%s\" is not running", name))}
	}
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		return runtimeFailf("Failed to suspend the VM: failed to send SIGUSR1 signal to the \"tart run\" process running VM \"%s\"", name)
	}
	return nil
}

// cmdIP: one resolver attempt, then 1 s sleeps until --wait expires (§7).
func cmdIP(e *env, p *parsed) error {
	name := p.args[0]
	d := e.home.vm(name)
	if err := d.open(); err != nil {
		return err
	}
	cfg, err := d.readConfig()
	if err != nil {
		return err
	}
	resolver := p.str("resolver", "dhcp")
	deadline := time.Now().Add(time.Duration(p.uint("wait", 0)) * time.Second)
	for {
		ip, err := e.resolveIP(d, cfg, resolver)
		if err != nil {
			return err
		}
		if ip != "" {
			fmt.Fprintln(e.stdout, ip)
			return nil
		}
		time.Sleep(time.Second)
		if !time.Now().Before(deadline) {
			break
		}
	}
	msg := "no IP address found"
	if d.lockPID() == 0 {
		msg += ", is your VM running?"
	}
	switch {
	case resolver == "agent":
		msg += " (also make sure that Guest agent for Tart is running inside of a VM)"
	case resolver == "arp" && cfg.OS == "linux":
		msg += " (not all Linux distributions are compatible with the ARP resolver)"
	}
	return runtimeFailf("%s", msg)
}

// resolveIP makes one attempt; "" means not found yet.
func (e *env) resolveIP(d *vmDir, cfg *vmConfig, resolver string) (string, error) {
	switch resolver {
	case "dhcp":
		// Leases only: a stopped VM's unexpired lease is returned too.
		l, ok, err := e.home.leaseFor(cfg.MACAddress)
		if err != nil {
			return "", failf(`UnexpectedFormat(name: "unexpected DHCPD leases file format", message: %q, line: 0)`, err.Error())
		}
		if ok {
			return l.ip, nil
		}
		return "", nil
	case "arp":
		// The ARP table only knows guests that are up and talking.
		if d.lockPID() == 0 {
			return "", nil
		}
		if l, ok, _ := e.home.leaseFor(cfg.MACAddress); ok {
			return l.ip, nil
		}
		return "", nil
	default: // agent: ask the guest agent over control.sock (1 s timeout)
		if d.lockPID() == 0 {
			return "", nil
		}
		ri, err := d.readRunInfo()
		if err != nil || ri.NoIP || !ri.Agent {
			return "", nil
		}
		c, err := net.DialTimeout("unix", d.controlSock(), time.Second)
		if err != nil {
			return "", nil
		}
		c.Close()
		return ri.IP, nil
	}
}

// cmdExec: tart exec [-i] [-t] <name> <command>... (§9).
func cmdExec(e *env, p *parsed) error {
	name, argv := p.args[0], p.args[1:]
	d := e.home.vm(name)
	if err := d.open(); err != nil {
		return err
	}
	if d.lockPID() == 0 {
		return vmNotRunning(name)
	}
	agentDown := func(desc string) error {
		return runtimeFailf("Failed to connect to the VM using its control socket: %s, is the Tart Guest Agent running?", desc)
	}
	if ri, err := d.readRunInfo(); err == nil && !ri.Agent || e.knobSet("TART_SIM_NO_AGENT") {
		return agentDown("connect(2) failed: No such file or directory")
	}
	code, err := guestsim.Exec(context.Background(), d.controlSock(), argv, p.flag("interactive"), p.flag("tty"),
		e.stdin, e.stdout, e.stderr)
	if errors.Is(err, guestsim.ErrAgentUnreachable) {
		return agentDown(err.Error())
	}
	if err != nil {
		return failf("%v", err)
	}
	return &exitCode{code}
}

// cmdSim: hidden test hooks. `tart sim fault <vm> drop-ssh|die|kill-agent|crash`.
func cmdSim(e *env, p *parsed) error {
	action, name, kind := p.args[0], p.args[1], p.args[2]
	if action != "fault" {
		return p.cmd.usageErr(fmt.Sprintf("unknown sim action %q: use 'tart sim fault <vm> drop-ssh|die|kill-agent|crash'", action))
	}
	d := e.home.vm(name)
	if !d.initialized() {
		return vmDoesNotExist(name)
	}
	pid := d.lockPID()
	if pid == 0 {
		return vmNotRunning(name)
	}
	if kind == "crash" { // tart run itself dies; the kernel drops its locks
		return syscall.Kill(pid, syscall.SIGKILL)
	}
	sock := simSocketPath(d.path)
	if ri, err := d.readRunInfo(); err == nil && ri.SimSocket != "" {
		sock = ri.SimSocket // where that tart run really listens (its TMPDIR may differ)
	}
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return failf("tart-sim: cannot reach the tart run process of %q: %v", name, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	fmt.Fprintf(c, "fault %s\n", kind)
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return failf("tart-sim: no answer from the tart run process of %q: %v", name, err)
	}
	if reply = strings.TrimSpace(reply); reply != "ok" {
		return failf("tart-sim: %s", strings.TrimPrefix(reply, "error: "))
	}
	return nil
}
