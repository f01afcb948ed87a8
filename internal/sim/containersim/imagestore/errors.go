// Package imagestore is container-sim's content store: the simulated
// apiserver's images. It pulls from registries (go-containerregistry),
// loads OCI-layout and docker-save archives, keeps blobs content-addressed
// under its root, names them with normalized references, and unpacks a
// platform's layers into a container rootfs (with a per-manifest cache).
//
// Several CLI processes may use one root at once: reference updates take an
// exclusive flock on <root>/lock, every file is written to a temporary name
// and renamed into place, and garbage collection only runs when no pull or
// load holds the shared <root>/gc.lock.
package imagestore

import "errors"

var (
	// ErrNotFound: no image with that reference in the local store.
	ErrNotFound = errors.New("image not found")
	// ErrUnauthorized: the registry refused the credentials (or demanded
	// some). The wrapping error keeps the registry's own message.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrManifestUnknown: the registry has no such repository or tag.
	ErrManifestUnknown = errors.New("manifest unknown")
	// ErrPlatformNotFound: the image has no variant for the requested platform.
	ErrPlatformNotFound = errors.New("platform not found")
	// ErrInvalidReference: the reference cannot be parsed.
	ErrInvalidReference = errors.New("invalid reference")
	// ErrInvalidArchive: Load got something that is neither an OCI image
	// layout tar nor a docker-save tar.
	ErrInvalidArchive = errors.New("invalid image archive")
	// ErrUnsafePath: a layer entry would land outside the rootfs.
	ErrUnsafePath = errors.New("unsafe path in layer")
)
