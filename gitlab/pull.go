package gitlab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tartanhq/tartan/tart"
)

// pull fetches image according to pull_policy, with progress in the log.
func (st *Stage) pull(ctx context.Context, image string) error {
	s, log := st.Settings, st.Log
	if !IsRemoteImage(image) {
		// A local VM used as a template: nothing to pull.
		if _, err := st.Tart.Get(ctx, image); err != nil {
			if errors.Is(err, tart.ErrVMNotFound) {
				return &BuildError{Err: fmt.Errorf("image %q is neither a registry image (host/name:tag) nor a local VM on this host", image)}
			}
			return err
		}
		log.Printf("Using local VM %s as the image", image)
		return nil
	}
	present := false
	if s.PullPolicy != "always" {
		var err error
		if present, err = st.imageCached(ctx, image); err != nil {
			return err
		}
	}
	switch {
	case s.PullPolicy == "never" && !present:
		return &BuildError{Err: fmt.Errorf("image %s is not on this host and pull_policy is never: ask the runner admin to pull it, or allow another pull policy", image)}
	case present:
		log.Printf("Using image %s (already on this host, pull_policy %s)", image, s.PullPolicy)
		return nil
	}
	log.Printf("Pulling image %s (pull_policy %s)...", image, s.PullPolicy)
	t := time.Now()
	creds := RegistryCredentials(image, st.Job.Var)
	maskCreds(log, creds)
	if creds != nil {
		log.Printf("Registry credentials for %s: user %s", hostOr(creds.Hostname, registryHost(image)), creds.Username)
	}
	err := st.Tart.Pull(ctx, image, tart.PullOptions{
		Concurrency: s.PullConcurrency, Insecure: insecureRegistry(s, image), Credentials: creds,
		Progress: progressLogger(log),
	})
	if err != nil {
		return pullError(image, err)
	}
	log.Printf("Pulled %s in %s", image, since(t))
	return nil
}

func hostOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func maskCreds(log *Log, c *tart.Credentials) {
	if c != nil {
		log.Mask(c.Password)
	}
}

// pullError turns a failed pull/clone into a build error when the job can
// fix it (credentials, a missing image), else a system failure.
func pullError(image string, err error) error {
	switch {
	case errors.Is(err, tart.ErrAuth):
		return &BuildError{Err: fmt.Errorf("pulling %s: the registry refused the credentials (%v); set TART_REGISTRY_USERNAME and TART_REGISTRY_PASSWORD (masked variables) or use an image from CI_REGISTRY", image, err)}
	case errors.Is(err, tart.ErrDiskFull):
		return fmt.Errorf("pulling %s: the host is out of disk space (%w); free space in TART_HOME or prune tart's cache", image, err)
	}
	var te *tart.Error
	if errors.As(err, &te) && strings.Contains(te.Stderr, "404") {
		return &BuildError{Err: fmt.Errorf("pulling %s: the registry has no such image (%v)", image, err)}
	}
	return fmt.Errorf("pulling %s: %w", image, err)
}

// imageCached reports whether tart's OCI cache has image.
func (st *Stage) imageCached(ctx context.Context, image string) (bool, error) {
	entries, err := st.Tart.List(ctx, tart.ListOptions{Source: "oci"})
	if err != nil {
		return false, fmt.Errorf("listing cached images: %w", err)
	}
	want := image
	if !strings.Contains(image[strings.LastIndexByte(image, '/')+1:], ":") && !strings.Contains(image, "@") {
		want += ":latest"
	}
	for _, e := range entries {
		if e.Name == want || e.Name == image {
			return true, nil
		}
	}
	return false, nil
}

// progressLogger shows tart's pull progress: every status line, and
// percentages in steps of 25 so the job log stays short.
func progressLogger(log *Log) func(string) {
	last := -1
	return func(line string) {
		line = strings.TrimSpace(line)
		if line == "" {
			return
		}
		if pct, ok := strings.CutSuffix(line, "%"); ok {
			var n int
			if _, err := fmt.Sscan(pct, &n); err == nil {
				if last >= 0 && n < last+25 && n != 100 {
					return
				}
				last = n
			}
		}
		log.Printf("  %s", line)
	}
}

// setOptions: random MAC always (stale DHCP leases of a reused MAC give two
// VMs one IP), plus the resources.
func (st *Stage) setOptions() tart.SetOptions {
	s := st.Settings
	o := tart.SetOptions{RandomMAC: true, DiskSizeGB: s.DiskSize, Display: s.Display}
	o.CPU = resource(s.CPU, hostCPUs(), s.Concurrency)
	o.MemoryMB = resource(s.Memory, hostMemoryMB(), s.Concurrency)
	return o
}
