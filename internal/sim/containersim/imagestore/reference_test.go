package imagestore

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/tartanhq/tartan/internal/sim/ociimages"
)

func TestNormalizeReference(t *testing.T) {
	const dgst = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	cases := map[string]string{
		"alpine":                        "docker.io/library/alpine:latest",
		"alpine:3.20":                   "docker.io/library/alpine:3.20",
		"user/app":                      "docker.io/user/app:latest",
		"user/app:v1":                   "docker.io/user/app:v1",
		"docker.io/alpine":              "docker.io/library/alpine:latest",
		"docker.io/library/alpine:edge": "docker.io/library/alpine:edge",
		"registry-1.docker.io/alpine":   "registry-1.docker.io/library/alpine:latest",
		"ghcr.io/o/i":                   "ghcr.io/o/i:latest",
		"ghcr.io/o/i:1.2":               "ghcr.io/o/i:1.2",
		"localhost:5000/x":              "localhost:5000/x:latest",
		"localhost/x":                   "localhost/x:latest",
		"127.0.0.1:5000/a/b/c:t":        "127.0.0.1:5000/a/b/c:t",
		"alpine@" + dgst:                "docker.io/library/alpine@" + dgst,
		"alpine:3@" + dgst:              "docker.io/library/alpine:3@" + dgst,
		"ghcr.io/o/i@" + dgst:           "ghcr.io/o/i@" + dgst,
	}
	for in, want := range cases {
		got, err := NormalizeReference(in)
		must.NoError(t, err, must.Sprint(in))
		must.EqOp(t, want, got, must.Sprint(in))
		// Normalizing twice changes nothing.
		again, err := NormalizeReference(got)
		must.NoError(t, err)
		must.EqOp(t, got, again)
	}
	for _, bad := range []string{"", " alpine", "Alpine", "alpine:", "a b", "alpine@sha256:short", "ghcr.io//x"} {
		_, err := NormalizeReference(bad)
		must.True(t, errors.Is(err, ErrInvalidReference), must.Sprint(bad))
	}
}

func TestDisplayName(t *testing.T) {
	cases := map[string][2]string{
		"docker.io/library/alpine:3.20": {"alpine", "3.20"},
		"docker.io/user/app:latest":     {"user/app", "latest"},
		"localhost:5000/x:latest":       {"localhost:5000/x", "latest"},
		"ghcr.io/o/i@sha256:abc":        {"ghcr.io/o/i", "sha256:abc"},
	}
	for in, want := range cases {
		name, tag := DisplayName(in)
		must.EqOp(t, want[0], name)
		must.EqOp(t, want[1], tag)
	}
}

func TestAutoInsecure(t *testing.T) {
	for ref, want := range map[string]bool{
		"localhost:5000/x:1":      true,
		"localhost/x:1":           true,
		"127.0.0.1:5000/x:1":      true,
		"10.1.2.3/x:1":            true,
		"192.168.64.1:5000/x:1":   true,
		"172.16.0.1/x:1":          true,
		"docker.io/library/a:1":   false,
		"ghcr.io/o/i:1":           false,
		"8.8.8.8/x:1":             false,
		"[::1]:5000/x:1":          true,
		"registry.example.com/x:": false,
	} {
		must.EqOp(t, want, autoInsecure(ref), must.Sprint(ref))
	}
}

func TestImageJSONShapes(t *testing.T) {
	s := openStore(t)
	img, err := ociimages.Busybox(ociimages.BusyboxOptions{Labels: map[string]string{"k": "v"}})
	must.NoError(t, err)
	stored, err := s.Add(img, "json/img:1")
	must.NoError(t, err)

	b, err := json.Marshal([]any{stored.JSON()})
	must.NoError(t, err)
	var parsed []struct {
		ID            string `json:"id"`
		Configuration struct {
			Name         string     `json:"name"`
			CreationDate string     `json:"creationDate"`
			Descriptor   Descriptor `json:"descriptor"`
		} `json:"configuration"`
		Variants []struct {
			Platform Platform `json:"platform"`
			Digest   string   `json:"digest"`
			Size     int64    `json:"size"`
			Config   struct {
				Architecture string `json:"architecture"`
				OS           string `json:"os"`
				Config       struct {
					Cmd    []string          `json:"Cmd"`
					Labels map[string]string `json:"Labels"`
				} `json:"config"`
			} `json:"config"`
		} `json:"variants"`
	}
	must.NoError(t, json.Unmarshal(b, &parsed))
	must.Len(t, 1, parsed)
	p := parsed[0]
	must.EqOp(t, strings.TrimPrefix(stored.Digest, "sha256:"), p.ID)
	must.EqOp(t, "docker.io/json/img:1", p.Configuration.Name)
	must.EqOp(t, "2026-01-01T00:00:00Z", p.Configuration.CreationDate) // the config's created
	must.EqOp(t, "application/vnd.oci.image.manifest.v1+json", p.Configuration.Descriptor.MediaType)
	must.EqOp(t, stored.Digest, p.Configuration.Descriptor.Digest)
	must.Positive(t, p.Configuration.Descriptor.Size)
	must.Len(t, 1, p.Variants)
	must.EqOp(t, HostPlatform(), p.Variants[0].Platform)
	must.Greater(t, int64(1_000_000), p.Variants[0].Size) // busybox is ~1 MB gzipped or more
	must.Eq(t, []string{"sh"}, p.Variants[0].Config.Config.Cmd)
	must.Eq(t, map[string]string{"k": "v"}, p.Variants[0].Config.Config.Labels)
	// 1.x prints sorted keys: encoding/json sorts map keys.
	must.StrHasPrefix(t, `[{"configuration":{"creationDate":`, string(b))

	legacy, err := json.Marshal(stored.LegacyJSON())
	must.NoError(t, err)
	must.StrHasPrefix(t, `{"reference":"docker.io/json/img:1","fullSize":"`, string(legacy))
	must.StrContains(t, string(legacy), `"descriptor":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"`+stored.Digest)
}

func TestProgressLineFormat(t *testing.T) {
	var lines []string
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	p := newProgress(func(l string) { lines = append(lines, l) }, "[1/2] Fetching image")
	p.start, p.now = start, func() time.Time { return now }
	p.plan([]blobJob{{size: 12_300_000}, {size: 14_700_000}, {size: 1}, {size: 1}, {size: 1}, {size: 1}, {size: 1}})
	now = start.Add(2 * time.Second)
	p.add(12_300_000)
	p.blobDone()
	p.done(1)
	p.done(1)
	now = start.Add(3 * time.Second)
	p.finish()
	must.SliceNotEmpty(t, lines)
	must.EqOp(t, "[1/2] Fetching image 45% (0 of 7 blobs, 12.3/27.0 MB, 6.2 MB/s) [2s]", lines[0])
	must.EqOp(t, "[1/2] Fetching image 45% (3 of 7 blobs, 12.3/27.0 MB, 4.1 MB/s) [3s]", lines[len(lines)-1])
	var nilProgress *progress
	nilProgress.add(1) // a nil progress is silent, not a crash
	nilProgress.finish()
}
