package applecontainer

import (
	"context"

	"os"
	"path/filepath"
)

// PullWithCredentials pulls ref without the macOS keychain: it fetches the
// image for o.Platform ("" = linux/<host arch>) itself with creds (see
// FetchArchive), writes an OCI image-layout tar to a private temp file,
// runs `container image load --input <file>` and removes the file on every
// path. Registries on loopback/RFC1918/localhost use plain HTTP; o.Scheme
// "http" forces it. After the load the reference must be in the local
// store (ErrFailed otherwise: the CLI did not take the reference from the
// archive's annotations).
func (c *Client) PullWithCredentials(ctx context.Context, ref string, creds *Credentials, o PullOptions) error {
	dir, err := os.MkdirTemp("", "applecontainer-pull-")
	if err != nil {
		return &Error{Kind: ErrFailed, Args: []string{"fetch", ref}, ExitCode: -1, Cause: err}
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o700); err != nil {
		return &Error{Kind: ErrFailed, Args: []string{"fetch", ref}, ExitCode: -1, Cause: err}
	}
	archive := filepath.Join(dir, "image.tar")
	if err := FetchArchive(ctx, ref, creds, o.Platform, archive, o.Scheme == "http"); err != nil {
		return err
	}
	if err := c.ImageLoad(ctx, archive); err != nil {
		return err
	}
	ok, err := c.HasImage(ctx, NormalizeReference(ref))
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Kind: ErrFailed, Args: []string{"image", "load", "--input", archive}, ExitCode: 0,
			Stderr: "image load succeeded but " + NormalizeReference(ref) + " is not in the local store"}
	}
	return nil
}
