package containersim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/term"

	"github.com/tartanhq/tartan/internal/sim/containersim/imagestore"
)

func (e *env) imageStore() (*imagestore.Store, error) {
	return imagestore.Open(filepath.Join(e.root, "images"))
}

// registryHost is the registry part of a normalized reference.
func registryHost(normalized string) string {
	h, _, _ := strings.Cut(normalized, "/")
	return h
}

// pullAuth returns the keychain's credentials for ref's registry.
func (e *env) pullAuth(normalized string) authn.Authenticator {
	k, err := e.readKeychain()
	if err != nil {
		return nil
	}
	if c, ok := k.Registries[keychainHost(registryHost(normalized))]; ok {
		return authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: c.Password})
	}
	return nil
}

// progressSink returns where pull progress goes for a --progress value:
// auto = plain lines on stderr when stderr is not a terminal (an ANSI bar
// on a terminal is drawn as plain lines too), none = nothing.
func (e *env) progressSink(mode string) func(string) {
	switch mode {
	case "none":
		return nil
	case "auto", "plain", "ansi", "color", "":
		if mode == "ansi" && !e.stderrIsTerminal() {
			return nil
		}
		return func(line string) { fmt.Fprintln(e.stderr, line) }
	}
	return nil
}

func (e *env) stderrIsTerminal() bool {
	if f, ok := e.stderr.(*os.File); ok {
		return term.IsTerminal(int(f.Fd()))
	}
	return false
}

// pull fetches ref into the store (CONTAINER_SIM_PULL_FAIL breaks it midway).
func (e *env) pull(ctx context.Context, ref, platform string, scheme string, progress func(string)) (imagestore.Image, error) {
	norm, err := imagestore.NormalizeReference(ref)
	if err != nil {
		return imagestore.Image{}, failf("%v", err)
	}
	if e.knobSet("CONTAINER_SIM_PULL_FAIL") {
		if progress != nil {
			progress("[1/2] Fetching image 0% (0 of 3 blobs, 0.0/2.3 MB) [0s]")
			progress("[1/2] Fetching image 41% (1 of 3 blobs, 0.9/2.3 MB, 0.9 MB/s) [1s]")
		}
		return imagestore.Image{}, failf("%s", czDescRaw(codeInternal, "failed to fetch image "+norm)+
			` (cause: "`+czDescRaw("unknown", "connection reset by peer while reading blob (CONTAINER_SIM_PULL_FAIL)")+`")`)
	}
	s, err := e.imageStore()
	if err != nil {
		return imagestore.Image{}, err
	}
	o := imagestore.PullOptions{Platform: platform, Auth: e.pullAuth(norm), Insecure: scheme == "http", Progress: progress}
	img, err := s.Pull(ctx, ref, o)
	if err != nil {
		return imagestore.Image{}, pullError(norm, err)
	}
	return img, nil
}

func pullError(norm string, err error) error {
	switch {
	case errors.Is(err, imagestore.ErrUnauthorized):
		return failf("%s", czDescRaw(codeInternal, "failed to pull image "+norm)+` (cause: "`+err.Error()+`")`)
	case errors.Is(err, imagestore.ErrManifestUnknown):
		return failf("%s", czDescRaw(codeNotFound, "image "+norm+" not found")+` (cause: "`+err.Error()+`")`)
	}
	return failf("%v", err)
}

// ensureImage returns the local image, pulling it for platform only when it
// is missing (run/create never re-pull, not even :latest).
func (e *env) ensureImage(ref, platform, scheme string, progress func(string)) (imagestore.Image, error) {
	s, err := e.imageStore()
	if err != nil {
		return imagestore.Image{}, err
	}
	img, err := s.Get(ref)
	if err == nil {
		if _, verr := img.Variant(platform); verr == nil {
			return img, nil
		}
	} else if !errors.Is(err, imagestore.ErrNotFound) {
		return imagestore.Image{}, failf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	return e.pull(ctx, ref, platform, scheme, progress)
}
