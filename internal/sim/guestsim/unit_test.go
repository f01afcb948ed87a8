package guestsim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/shoenig/test/must"
)

func TestConfigDefaultsAndValidation(t *testing.T) {
	c, err := Config{IP: "127.77.0.1", HomeDir: "/home/x"}.withDefaults()
	must.NoError(t, err)
	must.Eq(t, "admin", c.User)
	must.Eq(t, "admin", c.Password)
	must.Eq(t, 22, c.SSHPort)
	must.Eq(t, "darwin", c.OS)

	bad := []struct {
		name string
		cfg  Config
		want string
	}{
		{"os", Config{IP: "127.0.0.1", HomeDir: "/h", OS: "windows"}, `OS "windows"`},
		{"ip", Config{IP: "nope", HomeDir: "/h"}, `IP "nope"`},
		{"port", Config{IP: "127.0.0.1", HomeDir: "/h", SSHPort: 70000}, "out of range"},
		{"home", Config{IP: "127.0.0.1"}, "HomeDir is empty"},
		{"delay", Config{IP: "127.0.0.1", HomeDir: "/h", SSHDelay: -1}, "negative"},
		{"share", Config{IP: "127.0.0.1", HomeDir: "/h", Shares: []Share{{Name: "x"}}}, "HostPath"},
		{"share name", Config{IP: "127.0.0.1", HomeDir: "/h", Shares: []Share{{Name: "../etc", HostPath: "/tmp"}}}, "single path element"},
		{"user", Config{IP: "127.0.0.1", HomeDir: "/h", User: "../root"}, "plain user name"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cfg.withDefaults()
			must.ErrorIs(t, err, ErrBadConfig)
			must.StrContains(t, err.Error(), tc.want)
		})
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	_, err := Serve(t.Context(), Config{IP: "not-an-ip", HomeDir: t.TempDir()})
	must.ErrorIs(t, err, ErrBadConfig)
	_, err = Spawn(Config{IP: "127.0.0.1"})
	must.ErrorIs(t, err, ErrBadConfig)
}

func TestGuestSharePath(t *testing.T) {
	must.Eq(t, "/Volumes/My Shared Files/src", GuestSharePath("darwin", "src"))
	must.Eq(t, "/mnt/shared/src", GuestSharePath("linux", "src"))
	must.Eq(t, "/Users/admin", GuestHomePath("darwin", "admin"))
	must.Eq(t, "/home/admin", GuestHomePath("linux", "admin"))
}

func TestSSHCommandSpec(t *testing.T) {
	// sshd runs every session with the user's login shell: zsh for the
	// macOS images' admin, bash for the Linux images.
	cfg := Config{User: "admin", HomeDir: "/home/admin", OS: "darwin"}
	cmd := "echo hi"
	spec := sshCommandSpec(cfg, &cmd, &ptySpec{Term: "xterm"}, []string{"SSH_CLIENT=1 2 3"})
	must.Eq(t, "/bin/zsh", spec.Path)
	must.Eq(t, []string{"zsh", "-c", "echo hi"}, spec.Args)
	must.Eq(t, "/home/admin", spec.Dir)
	must.Eq(t, []string{
		"HOME=/home/admin", "USER=admin", "LOGNAME=admin", "SHELL=/bin/zsh", "PATH=" + guestPath,
		"TERM=xterm", "SSH_CLIENT=1 2 3",
	}, spec.Env)

	login := sshCommandSpec(cfg, nil, nil, nil)
	must.Eq(t, []string{"-zsh"}, login.Args) // a login shell, as sshd starts it

	cfg.OS = "linux"
	login = sshCommandSpec(cfg, nil, nil, nil)
	must.Eq(t, "/bin/bash", login.Path)
	must.Eq(t, []string{"-bash"}, login.Args)
}

func TestAgentCommandSpec(t *testing.T) {
	home := t.TempDir()
	cfg := Config{User: "admin", HomeDir: home}
	spec, err := agentCommandSpec(cfg, []string{"sh", "-c", "x"}, nil)
	must.NoError(t, err)
	must.StrHasSuffix(t, "/sh", spec.Path)
	must.Eq(t, []string{"sh", "-c", "x"}, spec.Args)

	_, err = agentCommandSpec(cfg, nil, nil)
	must.ErrorIs(t, err, errEmptyArgv)
	_, err = agentCommandSpec(cfg, []string{"definitely-not-a-program"}, nil)
	var nf *notFoundError
	must.True(t, errors.As(err, &nf))

	script := filepath.Join(home, "run.sh")
	must.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755))
	spec, err = agentCommandSpec(cfg, []string{"./run.sh"}, nil)
	must.NoError(t, err)
	must.Eq(t, script, spec.Path) // relative to the home directory, the command's cwd
}

func TestSignalNames(t *testing.T) {
	must.Eq(t, "TERM", signalName(syscall.SIGTERM))
	must.Eq(t, "KILL", signalName(syscall.SIGKILL))
	for _, in := range []string{"USR1", "SIGUSR1", "usr1"} {
		s, err := parseSignal(in)
		must.NoError(t, err)
		must.Eq(t, syscall.SIGUSR1, s)
	}
	_, err := parseSignal("NOPE")
	must.Error(t, err)
}

func TestExitOf(t *testing.T) {
	code, sig, _ := exitOf(syscall.WaitStatus(7 << 8))
	must.Eq(t, 7, code)
	must.Eq(t, "", sig)
	code, sig, _ = exitOf(syscall.WaitStatus(syscall.SIGTERM))
	must.Eq(t, -1, code)
	must.Eq(t, "TERM", sig)
}

func TestFramesRoundTripAndLimits(t *testing.T) {
	var buf bytes.Buffer
	fw := &frameWriter{w: &buf}
	must.NoError(t, fw.send(frame{Type: frameExec, Argv: []string{"ls", "-l"}, TTY: true, Cols: 80, Rows: 24}))
	must.NoError(t, fw.send(frame{Type: frameStdin, Data: []byte{0, 1, 2, 255}}))
	f, err := readFrame(&buf)
	must.NoError(t, err)
	must.Eq(t, []string{"ls", "-l"}, f.Argv)
	must.Eq(t, uint16(80), f.Cols)
	f, err = readFrame(&buf)
	must.NoError(t, err)
	must.Eq(t, []byte{0, 1, 2, 255}, f.Data)
	_, err = readFrame(&buf)
	must.ErrorIs(t, err, io.EOF)

	var huge [4]byte
	binary.BigEndian.PutUint32(huge[:], maxFrame+1)
	_, err = readFrame(bytes.NewReader(huge[:]))
	must.ErrorContains(t, err, "exceeds")

	bad := append([]byte{0, 0, 0, 3}, "{x}"...)
	_, err = readFrame(bytes.NewReader(bad))
	must.ErrorContains(t, err, "bad agent frame")
}

func TestStreamWriterChunks(t *testing.T) {
	var buf bytes.Buffer
	sw := &streamWriter{fw: &frameWriter{w: &buf}, kind: frameStdout}
	data := bytes.Repeat([]byte("x"), chunkSize*2+10)
	n, err := sw.Write(data)
	must.NoError(t, err)
	must.Eq(t, len(data), n)
	var got []byte
	frames := 0
	for {
		f, err := readFrame(&buf)
		if err != nil {
			break
		}
		frames++
		got = append(got, f.Data...)
	}
	must.Eq(t, 3, frames)
	must.True(t, bytes.Equal(data, got))
}

func TestBufPipeNeverBlocksWriter(t *testing.T) {
	p := newBufPipe()
	for range 100 {
		_, err := p.Write([]byte("abc"))
		must.NoError(t, err)
	}
	must.NoError(t, p.Close())
	b, err := io.ReadAll(p)
	must.NoError(t, err)
	must.Eq(t, strings.Repeat("abc", 100), string(b))
	_, err = p.Write([]byte("x"))
	must.ErrorIs(t, err, io.ErrClosedPipe)
}
