package ociimages

import (
	"archive/tar"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/shoenig/test/must"
)

func TestBusyboxIsDeterministic(t *testing.T) {
	o := BusyboxOptions{Files: map[string]string{"/etc/x": "1"}, Remove: []string{"/etc/motd"}}
	a, err := Busybox(o)
	must.NoError(t, err)
	b, err := Busybox(o)
	must.NoError(t, err)
	da, _ := a.Digest()
	db, _ := b.Digest()
	must.EqOp(t, da, db)
	c, err := Busybox(BusyboxOptions{Cmd: []string{"true"}})
	must.NoError(t, err)
	dc, _ := c.Digest()
	must.NotEqOp(t, da, dc)
}

func TestBusyboxLayoutAndConfig(t *testing.T) {
	img, err := Busybox(BusyboxOptions{User: "app", Remove: []string{"/etc/motd"}, Opaque: []string{"/etc/skel"}})
	must.NoError(t, err)
	cf, err := img.ConfigFile()
	must.NoError(t, err)
	must.EqOp(t, "linux", cf.OS)
	must.EqOp(t, runtime.GOARCH, cf.Architecture)
	must.Eq(t, []string{"sh"}, cf.Config.Cmd)
	must.EqOp(t, "app", cf.Config.User)
	must.True(t, cf.Created.Time.Equal(Epoch))
	layers, err := img.Layers()
	must.NoError(t, err)
	must.Len(t, 2, layers)
	names := func(i int) map[string]byte {
		rc, err := layers[i].Uncompressed()
		must.NoError(t, err)
		defer rc.Close()
		out := map[string]byte{}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			must.NoError(t, err)
			out[h.Name] = h.Typeflag
		}
		return out
	}
	base := names(0)
	must.EqOp(t, byte(tar.TypeReg), base["bin/busybox"])
	for _, a := range []string{"sh", "echo", "sleep", "nc", "wget", "httpd", "ip", "seq", "dd"} {
		must.EqOp(t, byte(tar.TypeSymlink), base["bin/"+a], must.Sprint(a))
	}
	must.EqOp(t, byte(tar.TypeReg), base["etc/passwd"])
	top := names(1)
	must.MapContainsKey(t, top, "etc/.wh.motd")
	must.MapContainsKey(t, top, "etc/skel/.wh..wh..opq")
}

func TestBusyboxOptionErrors(t *testing.T) {
	_, err := Busybox(BusyboxOptions{Files: map[string]string{"relative": "x"}})
	must.ErrorContains(t, err, "BusyboxOptions.Files")
	_, err = Busybox(BusyboxOptions{Remove: []string{"/a/../../b"}})
	must.ErrorContains(t, err, "BusyboxOptions.Remove")
	_, err = Busybox(BusyboxOptions{BusyboxPath: "/nonexistent/busybox"})
	must.ErrorContains(t, err, "busybox-static")
}
