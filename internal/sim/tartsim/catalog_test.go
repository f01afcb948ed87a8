package tartsim

import (
	"strings"
	"testing"
)

func TestDecodeCatalog(t *testing.T) {
	imgs, err := decodeCatalog([]byte(`{"images":[{"name":"r.io/a/b:1","os":"linux","agent":false}]}`))
	if err != nil || len(imgs) != 1 || *imgs[0].Agent {
		t.Fatalf("wrapped form: %v %+v", err, imgs)
	}
	imgs[0].applyDefaults()
	if imgs[0].DiskGB != 20 || imgs[0].MemoryMB != 4096 || imgs[0].User != "admin" {
		t.Fatalf("defaults: %+v", imgs[0])
	}
	for doc, want := range map[string]string{
		`[{"name":"r.io/a/b","disk":60}]`:  `unknown field "disk"`,
		`[{"name":"just-a-name"}]`:         "is not a remote name",
		`[{"name":"r.io/a/b","os":"win"}]`: `os must be "darwin" or "linux"`,
		`[{"name":"r.io/a/b"`:              "unexpected EOF",
	} {
		if _, err := decodeCatalog([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", doc, err, want)
		}
	}
}

func TestFindImageByTagAndDigest(t *testing.T) {
	imgs := append([]image(nil), builtinImages...)
	for i := range imgs {
		imgs[i].applyDefaults()
	}
	rn, _ := parseRemoteName("ghcr.io/cirruslabs/ubuntu")
	img := findImage(imgs, rn)
	if img == nil || img.OS != "linux" {
		t.Fatalf("by tag: %+v", img)
	}
	byDigest, _ := parseRemoteName("ghcr.io/cirruslabs/ubuntu@" + img.digest())
	if findImage(imgs, byDigest) != img {
		t.Fatal("by digest")
	}
	other, _ := parseRemoteName("ghcr.io/cirruslabs/ubuntu:22.04")
	if findImage(imgs, other) != nil {
		t.Fatal("unknown tag found")
	}
}
