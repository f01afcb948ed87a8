package containersim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The runtime process talks to CLI processes over a unix socket: the first
// attached client gets one end of a socketpair at spawn time (so it sees
// every byte from the start); control requests (stop, kill) connect to the
// runtime's abstract socket. Each frame is a type byte, a big-endian uint32
// length and the payload.
const (
	frameStdout  = 'o' // runtime -> client: container stdout bytes
	frameStderr  = 'e' // runtime -> client: container stderr bytes
	frameExit    = 'x' // runtime -> client: 4-byte exit status of the init process
	frameStarted = 's' // runtime -> client: the init process runs
	frameFailed  = 'f' // runtime -> client: start failed; payload is the error text
	frameDone    = 'd' // runtime -> client: request done; payload is an error text or empty
	frameStdin   = 'i' // client -> runtime: stdin bytes (-i)
	frameEOF     = 'I' // client -> runtime: stdin closed
	frameRequest = 'r' // client -> runtime: JSON controlRequest
)

const maxFrame = 1 << 20

type frameConn struct {
	rw  io.ReadWriteCloser
	wmu sync.Mutex
}

func (c *frameConn) write(t byte, payload []byte) error {
	var h [5]byte
	h[0] = t
	binary.BigEndian.PutUint32(h[1:], uint32(len(payload)))
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.rw.Write(h[:]); err != nil {
		return err
	}
	_, err := c.rw.Write(payload)
	return err
}

func (c *frameConn) read() (byte, []byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(c.rw, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("frame of %d bytes exceeds the limit", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.rw, b); err != nil {
		return 0, nil, err
	}
	return h[0], b, nil
}

func exitPayload(code int) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(int32(code)))
	return b[:]
}

func exitFromPayload(b []byte) int {
	if len(b) != 4 {
		return 255
	}
	return int(int32(binary.BigEndian.Uint32(b)))
}

// controlRequest asks a runtime to stop or signal its container.
type controlRequest struct {
	Op      string `json:"op"`                // "stop" or "kill"
	Signal  int    `json:"signal"`            // Linux signal number
	Timeout int    `json:"timeout,omitempty"` // stop: seconds before SIGKILL
}

// controlAddr is the runtime's abstract socket name, derived from the bundle
// path so that app roots never collide and no socket file can leak.
func controlAddr(bundle string) string {
	abs, err := filepath.Abs(bundle)
	if err != nil {
		abs = bundle
	}
	sum := sha256.Sum256([]byte(abs))
	return "@container-sim-" + hex.EncodeToString(sum[:12])
}

var errRuntimeGone = errors.New("container runtime is not running")

// dialRuntime connects to a runtime's control socket. A runtime that holds
// its lock but does not listen yet (it has just started) is retried briefly.
func dialRuntime(bundle string) (net.Conn, error) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		conn, err := net.Dial("unix", controlAddr(bundle))
		if err == nil {
			return conn, nil
		}
		if !runtimeAlive(bundle) || time.Now().After(deadline) {
			return nil, errRuntimeGone
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sendControl delivers req to the runtime of bundle and waits for its answer.
func sendControl(bundle string, req controlRequest) error {
	conn, err := dialRuntime(bundle)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Bounded: a stop escalates to SIGKILL after its timeout; anything
	// beyond that plus a margin is a stuck runtime, reported as such.
	limit := 30*time.Second + time.Duration(req.Timeout)*time.Second
	_ = conn.SetDeadline(time.Now().Add(limit))
	fc := &frameConn{rw: conn}
	b, _ := json.Marshal(req)
	if err := fc.write(frameRequest, b); err != nil {
		return errRuntimeGone
	}
	for {
		t, p, err := fc.read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("container runtime did not finish the %s request within %v", req.Op, limit)
		}
		if err != nil {
			// The runtime exited while handling the request: its work is done.
			return nil
		}
		if t == frameDone {
			if len(p) > 0 {
				return errors.New(string(p))
			}
			return nil
		}
	}
}
