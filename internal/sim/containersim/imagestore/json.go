package imagestore

import (
	"encoding/json"
	"strings"
)

// Descriptor is an OCI content descriptor as container prints it.
type Descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// Descriptor of the index or manifest the reference names.
func (img Image) Descriptor() Descriptor {
	return Descriptor{MediaType: string(img.MediaType), Digest: img.Digest, Size: img.Size}
}

// ID is the hex part of the digest (1.x `id`).
func (img Image) ID() string {
	_, hex, ok := strings.Cut(img.Digest, ":")
	if !ok {
		return img.Digest
	}
	return hex
}

// ISO8601 is how 1.x JSON prints dates: UTC, whole seconds.
const ISO8601 = "2006-01-02T15:04:05Z"

// JSON is the 1.x element of `image list --format json` / `image inspect`:
//
//	{"configuration":{"creationDate":"…Z","descriptor":{…},"name":"docker.io/library/alpine:latest"},
//	 "id":"<hex digest>","variants":[{"config":{<OCI image config>},"digest":"sha256:…","platform":{…},"size":N}]}
//
// Maps all the way down, so encoding/json writes the keys sorted as the
// 1.x CLI does; render compact for list, indented for inspect.
func (img Image) JSON() map[string]any {
	variants := make([]any, 0, len(img.Variants))
	for _, v := range img.Variants {
		variants = append(variants, map[string]any{
			"platform": toMap(v.Platform),
			"digest":   v.Digest,
			"size":     v.Size,
			"config":   toMap(v.Config),
		})
	}
	return map[string]any{
		"id": img.ID(),
		"configuration": map[string]any{
			"name":         img.Reference,
			"creationDate": img.Created.UTC().Format(ISO8601),
			"descriptor":   toMap(img.Descriptor()),
		},
		"variants": variants,
	}
}

// LegacyImage is the pre-1.0 (0.9-0.12) element of `image list --format
// json`, in declaration order like the old encoder.
type LegacyImage struct {
	Reference  string     `json:"reference"`
	FullSize   string     `json:"fullSize"`
	Descriptor Descriptor `json:"descriptor"`
}

// LegacyJSON returns the pre-1.0 shape. fullSize was a human string there
// (ByteCountFormatter, e.g. "3.9 MB").
func (img Image) LegacyJSON() LegacyImage {
	return LegacyImage{Reference: img.Reference, FullSize: formatSize(img.FullSize), Descriptor: img.Descriptor()}
}

func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return map[string]any{}
	}
	return m
}
