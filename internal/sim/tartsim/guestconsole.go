package tartsim

import (
	"fmt"
	"io"
	"time"
)

// guestConsole is the guest's side of the virtio console (--serial,
// --serial-path). A simulated Linux guest prints a short kernel/systemd boot
// log there and a power-off line when it shuts down, so tools that capture
// the console have something real-looking to show. macOS guests do not use
// the virtio console: newGuestConsole returns nil for them, and every method
// of a nil *guestConsole does nothing.
//
// Writes go through one goroutine with a bounded queue: a console nobody
// reads (the PTY of --serial fills up) must never block the VM.
type guestConsole struct {
	name     string
	start    time.Time
	queue    chan string
	done     chan struct{}
	atPrompt bool // the login prompt has no newline; the next output starts a line
}

func newGuestConsole(w io.Writer, guestOS, vmName string) *guestConsole {
	if w == nil || guestOS != "linux" {
		return nil
	}
	c := &guestConsole{name: vmName, start: time.Now(), queue: make(chan string, 64), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for s := range c.queue {
			_, _ = io.WriteString(w, s)
		}
	}()
	return c
}

func (c *guestConsole) write(s string) {
	if c.atPrompt {
		s = "\n" + s
		c.atPrompt = false
	}
	select {
	case c.queue <- s:
	default: // nobody reads the console: drop, like a full UART FIFO
	}
}

// kernel prints one line with the kernel's "[seconds.micros]" stamp.
func (c *guestConsole) kernel(format string, args ...any) {
	since := time.Since(c.start)
	c.write(fmt.Sprintf("[%5d.%06d] %s\n", int64(since/time.Second), int64(since%time.Second/time.Microsecond), fmt.Sprintf(format, args...)))
}

// boot is the kernel and early systemd output, printed as the VM starts.
func (c *guestConsole) boot() {
	if c == nil {
		return
	}
	c.kernel("Booting Linux on physical CPU 0x0000000000 [0x610f0000]")
	c.kernel("Linux version 6.8.0-tart-sim (buildd@tart-sim) (aarch64-linux-gnu-gcc (Ubuntu 13.2.0-23ubuntu4) 13.2.0, GNU ld (GNU Binutils for Ubuntu) 2.42) #1 SMP PREEMPT_DYNAMIC")
	c.kernel("Kernel command line: console=hvc0 root=LABEL=cloudimg-rootfs ro")
	c.kernel("printk: legacy console [hvc0] enabled")
	c.kernel("Run /sbin/init as init process")
	c.kernel("systemd[1]: systemd 255.4-1ubuntu8 running in system mode (+PAM +AUDIT +SELINUX +APPARMOR +SECCOMP)")
	c.kernel("systemd[1]: Hostname set to <%s>.", c.name)
}

// networkUp is printed when the guest got its address.
func (c *guestConsole) networkUp() {
	if c == nil {
		return
	}
	c.kernel("systemd[1]: Reached target Network is Online.")
}

// loginReady is printed once SSH answers: systemd is done and getty shows
// its prompt (without a newline, as on a real console).
func (c *guestConsole) loginReady() {
	if c == nil {
		return
	}
	c.kernel("systemd[1]: Reached target Multi-User System.")
	c.write(fmt.Sprintf("\nUbuntu 24.04.1 LTS %s hvc0\n\n%s login: ", c.name, c.name))
	c.atPrompt = true
}

// powerOff is the end of an orderly shutdown (the guest powered itself off
// or was asked to). A hard stop prints nothing: the guest never knows.
func (c *guestConsole) powerOff() {
	if c == nil {
		return
	}
	c.kernel("systemd-shutdown[1]: Syncing filesystems and block devices.")
	c.kernel("systemd-shutdown[1]: Powering off.")
	c.kernel("reboot: Power down")
}

// close flushes what is queued (bounded: a stuck reader cannot keep the VM
// process alive) and stops the writer.
func (c *guestConsole) close() {
	if c == nil {
		return
	}
	close(c.queue)
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
}
