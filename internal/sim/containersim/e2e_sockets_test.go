package containersim_test

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

var (
	echoOnce sync.Once
	echoDir  string
	echoErr  error
)

// echoServerDir builds testdata/echoserver statically (it runs inside
// busybox containers) into a directory to bind-mount.
func echoServerDir(t *testing.T) string {
	t.Helper()
	echoOnce.Do(func() {
		echoDir, echoErr = os.MkdirTemp("", "container-sim-echo-")
		if echoErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(echoDir, "echoserver"), "./testdata/echoserver")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			echoErr = err
			t.Logf("%s", out)
		}
	})
	must.NoError(t, echoErr)
	return echoDir
}

func TestPublishedUDPPortAndSocket(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	bin := echoServerDir(t)
	port := freeUDPPort(t)
	s.must("run", "-d", "--name", "udp", "-p", "127.0.0.1:"+strconv.Itoa(port)+":5353/udp", "-v", bin+":/helper:ro",
		"busybox", "/helper/echoserver", "udp", "5353")
	c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(port))
	must.NoError(t, err)
	defer c.Close()
	buf := make([]byte, 100)
	got := ""
	waitFor(t, "udp echo", 5*time.Second, func() bool {
		_, _ = c.Write([]byte("ping"))
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := c.Read(buf)
		got = string(buf[:n])
		return err == nil
	})
	must.Eq(t, "echo:ping", got)
	s.must("kill", "udp")

	hostSock := filepath.Join(t.TempDir(), "app.sock")
	s.must("run", "-d", "--name", "sock", "--publish-socket", hostSock+":/run/app.sock", "-v", bin+":/helper:ro",
		"--tmpfs", "/run", "busybox", "/helper/echoserver", "unix", "/run/app.sock")
	var conn net.Conn
	waitFor(t, "socket echo", 5*time.Second, func() bool {
		var err error
		conn, err = net.Dial("unix", hostSock)
		if err != nil {
			return false
		}
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		b := make([]byte, 5)
		if _, err := conn.Read(b); err != nil || string(b) != "echo:" {
			conn.Close()
			return false
		}
		return true
	})
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = conn.Write([]byte("hello\n"))
	must.NoError(t, err)
	line, err := bufio.NewReader(conn).ReadString('\n')
	must.NoError(t, err)
	must.Eq(t, "hello\n", line)
	s.must("kill", "sock")
	_, err = os.Stat(hostSock)
	must.True(t, os.IsNotExist(err)) // removed with the container's stop
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	must.NoError(t, err)
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}
