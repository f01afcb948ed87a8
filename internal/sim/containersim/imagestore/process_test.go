package imagestore

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/tartanhq/tartan/internal/sim/ociimages"
)

// TestHelperProcessPull is the child side of TestPullsFromSeveralProcesses:
// it pulls and unpacks one reference into a shared store, then exits.
func TestHelperProcessPull(t *testing.T) {
	root, ref, dir := os.Getenv("IMAGESTORE_HELPER_ROOT"), os.Getenv("IMAGESTORE_HELPER_REF"), os.Getenv("IMAGESTORE_HELPER_DIR")
	if root == "" {
		t.Skip("helper process for TestPullsFromSeveralProcesses")
	}
	s, err := Open(root)
	must.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err = s.Pull(ctx, ref, PullOptions{})
	must.NoError(t, err)
	_, err = s.Unpack(ref, "", dir)
	must.NoError(t, err)
}

// Real processes (separate flocks, separate renames) pulling into one store.
func TestPullsFromSeveralProcesses(t *testing.T) {
	reg := startRegistry(t, ociimages.RegistryOptions{Delay: 10 * time.Millisecond})
	must.NoError(t, reg.Push("p/a:1", mustBusybox(t, ociimages.BusyboxOptions{Cmd: []string{"a"}})))
	must.NoError(t, reg.Push("p/b:1", mustBusybox(t, ociimages.BusyboxOptions{Cmd: []string{"b"}})))
	root := t.TempDir()
	refs := []string{reg.Ref("p/a:1"), reg.Ref("p/b:1"), reg.Ref("p/a:1")}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for i, ref := range refs {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcessPull$", "-test.count=1")
		cmd.Env = append(os.Environ(),
			"IMAGESTORE_HELPER_ROOT="+root,
			"IMAGESTORE_HELPER_REF="+ref,
			"IMAGESTORE_HELPER_DIR="+filepath.Join(t.TempDir(), "rootfs"+string(rune('0'+i))))
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		must.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
		outs = append(outs, out)
	}
	for i, c := range cmds {
		must.NoError(t, c.Wait(), must.Sprint(outs[i].String()))
	}
	s, err := Open(root)
	must.NoError(t, err)
	list, err := s.List()
	must.NoError(t, err)
	must.Len(t, 2, list)
	must.Len(t, 2, storeFiles(t, s, "rootfs"))
	must.SliceEmpty(t, storeFiles(t, s, "tmp"))
}
