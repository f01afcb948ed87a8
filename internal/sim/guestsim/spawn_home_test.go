package guestsim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
	"golang.org/x/crypto/ssh"
)

// A namespaced guest has its own /tmp and sees its home at the guest path
// (/Users/<user> or /home/<user>), a bind mount of HomeDir: files in the
// home reach the host, files in /tmp do not, and nothing is created on the
// host under /Users or /home. The VM dir, the agent socket, a share and the
// home all live under the host's /tmp (t.TempDir) and must keep working.
func TestSpawnGuestHomeAndPrivateTmp(t *testing.T) {
	requireRoot(t)
	for _, guestOS := range []string{"darwin", "linux"} {
		t.Run(guestOS, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.OS = guestOS
			shared := t.TempDir()
			must.NoError(t, os.WriteFile(filepath.Join(shared, "f"), []byte("shared"), 0o644))
			cfg.Shares = []Share{{Name: "src", HostPath: shared}}
			signer, pub := newKey(t)
			must.NoError(t, os.MkdirAll(filepath.Join(cfg.HomeDir, ".ssh"), 0o700))
			must.NoError(t, os.WriteFile(filepath.Join(cfg.HomeDir, ".ssh", "authorized_keys"), ssh.MarshalAuthorizedKey(pub), 0o600))
			home := GuestHomePath(guestOS, cfg.User)
			_, err := os.Stat(home)
			homeOnHost := err == nil
			marker := fmt.Sprintf("/tmp/guestsim-private-tmp-%d-%s", os.Getpid(), guestOS)
			t.Cleanup(func() { _ = os.Remove(marker) })

			spawn(t, cfg)
			// Public keys are read from the guest home.
			c, err := ssh.Dial("tcp", sshAddr(cfg), &ssh.ClientConfig{
				User: cfg.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
				HostKeyCallback: ssh.InsecureIgnoreHostKey(),
			})
			must.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })

			r := run(t, c, `printf '%s|%s|' "$HOME" "$(pwd)"; ls -A /tmp | wc -l; echo home > ~/from-guest; echo tmp > `+marker+`; cat `+marker+`; cat '`+GuestSharePath(guestOS, "src")+`/f'`, "")
			must.NoError(t, r.err, must.Sprint(r.stderr))
			must.Eq(t, home+"|"+home+"|0\ntmp\nshared", r.stdout)

			var out, errb bytes.Buffer
			code, err := Exec(execCtx(t), cfg.AgentSocket, []string{"sh", "-c", `printf '%s|%s' "$HOME" "$(pwd)"`}, false, false, nil, &out, &errb)
			must.NoError(t, err)
			must.Eq(t, 0, code, must.Sprint(errb.String()))
			must.Eq(t, home+"|"+home, out.String())

			b, err := os.ReadFile(filepath.Join(cfg.HomeDir, "from-guest"))
			must.NoError(t, err)
			must.Eq(t, "home\n", string(b))
			_, err = os.Stat(marker)
			must.True(t, errors.Is(err, os.ErrNotExist), must.Sprint("guest /tmp file visible on the host"))
			if !homeOnHost {
				_, err = os.Stat(home)
				must.True(t, errors.Is(err, os.ErrNotExist), must.Sprintf("%s created on the host", home))
			}
			_, err = os.Stat(filepath.Join(cfg.VMDir, hostKeyFile))
			must.NoError(t, err, must.Sprint("host key not kept in the host VM dir"))
		})
	}
}

// The guest home path is a single element named after the user.
func TestSpawnRejectsUserThatIsAPath(t *testing.T) {
	cfg := testConfig(t)
	cfg.User = "../../etc"
	_, err := Spawn(cfg)
	must.ErrorIs(t, err, ErrBadConfig)
	must.True(t, strings.Contains(err.Error(), "plain user name"))
}
