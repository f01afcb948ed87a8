package ociimages

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// tarWriter builds an uncompressed layer tar in memory with fixed
// timestamps and owners so the bytes (and digests) are reproducible.
type tarWriter struct {
	buf bytes.Buffer
	tw  *tar.Writer
	err error
}

func newTarWriter() *tarWriter {
	w := &tarWriter{}
	w.tw = tar.NewWriter(&w.buf)
	return w
}

func (w *tarWriter) header(h *tar.Header, body []byte) {
	if w.err != nil {
		return
	}
	h.ModTime = Epoch
	h.Format = tar.FormatPAX
	if w.err = w.tw.WriteHeader(h); w.err != nil {
		return
	}
	if len(body) > 0 {
		_, w.err = w.tw.Write(body)
	}
}

func (w *tarWriter) dir(name string, mode int64, uid, gid int) {
	w.header(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: gid}, nil)
}

func (w *tarWriter) file(name string, body []byte, mode int64) {
	w.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body))}, body)
}

func (w *tarWriter) symlink(name, target string) {
	w.header(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}, nil)
}

func (w *tarWriter) hardlink(name, target string) {
	w.header(&tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644}, nil)
}

// parents writes directory entries for the missing parents of rel.
func (w *tarWriter) parents(rel string, seen map[string]bool) {
	parts := strings.Split(rel, "/")
	for i := 1; i < len(parts); i++ {
		d := strings.Join(parts[:i], "/")
		if !seen[d] {
			seen[d] = true
			w.dir(d, 0o755, 0, 0)
		}
	}
}

func (w *tarWriter) bytes() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	if err := w.tw.Close(); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

func (w *tarWriter) layer() (v1.Layer, error) {
	b, err := w.bytes()
	if err != nil {
		return nil, err
	}
	return layerFromBytes(b)
}

func layerFromBytes(b []byte) (v1.Layer, error) {
	// Compressed caching: the gzip of a 2 MB busybox takes ~80 ms, do it once.
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

// LayerFromTar wraps an uncompressed tar (e.g. built by a test with
// archive/tar) as a gzip OCI layer.
func LayerFromTar(b []byte) (v1.Layer, error) { return layerFromBytes(b) }

var layerCache sync.Map // key -> *cachedEntry

type cachedEntry struct {
	once  sync.Once
	layer v1.Layer
	err   error
}

// cachedLayer builds a layer once per key (the busybox base layer is the
// same for every variant) and keeps its compressed form in memory.
func cachedLayer(key string, build func(*tarWriter) error) (v1.Layer, error) {
	e, _ := layerCache.LoadOrStore(key, &cachedEntry{})
	ce := e.(*cachedEntry)
	ce.once.Do(func() {
		w := newTarWriter()
		if err := build(w); err != nil {
			ce.err = err
			return
		}
		l, err := w.layer()
		if err != nil {
			ce.err = err
			return
		}
		// Force the digest now so later callers share the cached gzip.
		if _, err := l.Digest(); err != nil {
			ce.err = err
			return
		}
		ce.layer = l
	})
	if ce.err != nil {
		layerCache.Delete(key)
	}
	return ce.layer, ce.err
}
