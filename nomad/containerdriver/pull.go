package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/tartanhq/tartan/applecontainer"
)

// pullImage fetches the image when it is missing or force_pull is set,
// bounded by image_pull_timeout. Credentials (task auth, else the plugin's)
// are used for this pull only: they never reach the keychain.
func (d *Driver) pullImage(ctx context.Context, client *applecontainer.Client, cfg *drivers.TaskConfig, s *taskSettings) error {
	ref := s.Run.Image
	if !s.ForcePull {
		hctx, cancel := context.WithTimeout(ctx, time.Minute)
		has, err := client.HasImage(hctx, ref)
		cancel()
		if err == nil && has {
			return nil
		}
		if err != nil {
			d.logger.Debug("checking for a local image; pulling", "image", ref, "error", err)
		}
	}
	d.emit(cfg, "Pulling image "+ref, map[string]string{"image": ref})
	pctx, cancel := context.WithTimeout(ctx, s.PullTimeout)
	defer cancel()
	begin := time.Now()
	var err error
	if s.Credentials != nil {
		err = client.PullWithCredentials(pctx, ref, s.Credentials, applecontainer.PullOptions{Platform: s.Run.Platform})
	} else {
		err = client.Pull(pctx, ref, applecontainer.PullOptions{Platform: s.Run.Platform})
	}
	if err != nil {
		if errors.Is(pctx.Err(), context.DeadlineExceeded) {
			return structs.NewRecoverableError(fmt.Errorf("pulling %s took longer than image_pull_timeout (%s); raise it or pull the image on the node first with `container image pull`: %w", ref, s.PullTimeout, err), true)
		}
		return explainPull(ref, s, err)
	}
	d.emit(cfg, fmt.Sprintf("Pulled image %s in %s", ref, time.Since(begin).Round(time.Millisecond)), nil)
	return nil
}

// explainPull says what to do about a failed pull; a missing image and
// refused credentials are final, anything else may be transient.
func explainPull(ref string, s *taskSettings, err error) error {
	switch {
	case errors.Is(err, applecontainer.ErrAuth):
		who := "no credentials were given; set auth { username password } in the task or plugin config"
		if s.Credentials != nil {
			who = fmt.Sprintf("check auth { username password } (user %q) in the task or plugin config", s.Credentials.Username)
		}
		return fmt.Errorf("pulling %s: the registry refused access: %s: %w", ref, who, err)
	case errors.Is(err, applecontainer.ErrImageNotFound):
		return fmt.Errorf("pulling %s: no such image (check the name and tag; references without a registry mean docker.io): %w", ref, err)
	case errors.Is(err, applecontainer.ErrInvalidInput):
		return fmt.Errorf("%w: image %q: %w", ErrBadConfig, ref, err)
	}
	if errors.Is(err, applecontainer.ErrAPIServerDown) {
		return explainCLI("pulling "+ref, err)
	}
	return structs.NewRecoverableError(fmt.Errorf("pulling %s: %w", ref, err), true)
}
