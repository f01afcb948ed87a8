package guestsim

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// The guest agent speaks length-prefixed JSON frames over the control
// socket: a 4-byte big-endian length, then one JSON object. It mirrors the
// message flow of tart-guest-agent's Exec stream without needing gRPC.
//
//	client -> agent: exec (first), then stdin / stdin-eof / resize / signal
//	agent -> client: stdout / stderr, then exactly one exit or error
const (
	frameExec     = "exec"
	frameStdin    = "stdin"
	frameStdinEOF = "stdin-eof"
	frameResize   = "resize"
	frameSignal   = "signal"
	frameStdout   = "stdout"
	frameStderr   = "stderr"
	frameExit     = "exit"
	frameError    = "error"
)

// maxFrame bounds one frame so a corrupt peer cannot make us allocate
// gigabytes; output and stdin are sent in chunks far below it.
const maxFrame = 4 << 20

// frame is every message; unused fields are omitted.
type frame struct {
	Type        string   `json:"type"`
	Argv        []string `json:"argv,omitempty"`
	Interactive bool     `json:"interactive,omitempty"`
	TTY         bool     `json:"tty,omitempty"`
	Cols        uint16   `json:"cols,omitempty"`
	Rows        uint16   `json:"rows,omitempty"`
	Data        []byte   `json:"data,omitempty"`
	Signal      string   `json:"signal,omitempty"`
	Code        int      `json:"code,omitempty"`
	Message     string   `json:"message,omitempty"`
}

// frameWriter serialises frames from several goroutines (stdout and stderr
// copies, the exit report).
type frameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (fw *frameWriter) send(f frame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	copy(buf[4:], b)
	fw.mu.Lock()
	defer fw.mu.Unlock()
	_, err = fw.w.Write(buf)
	return err
}

func readFrame(r io.Reader) (frame, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return frame{}, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return frame{}, fmt.Errorf("guestsim: agent frame of %d bytes exceeds the %d limit", n, maxFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		return frame{}, fmt.Errorf("guestsim: bad agent frame: %w", err)
	}
	return f, nil
}

// streamWriter turns a byte stream into frames of one type.
type streamWriter struct {
	fw   *frameWriter
	kind string
}

func (s *streamWriter) Write(b []byte) (int, error) {
	for off := 0; off < len(b); off += chunkSize {
		end := min(off+chunkSize, len(b))
		if err := s.fw.send(frame{Type: s.kind, Data: b[off:end]}); err != nil {
			return off, err
		}
	}
	return len(b), nil
}

// chunkSize is how much stdin/output one frame carries (tart reads stdin
// in 64 KiB chunks too).
const chunkSize = 64 << 10
